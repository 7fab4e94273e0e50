"""Stable JSON shapes for podwall's results (``-o json`` of every command).

Keys are part of the public interface: add new ones, never rename or remove.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from podwall.core import model
from podwall.core.evaluate import DirectionVerdict, Verdict
from podwall.core.services import ServiceVerdict
from podwall.errors import Diagnostic

SCHEMA = "podwall/v1"
"""The version of every JSON document podwall prints; bumped only on an incompatible change."""


def document(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A top-level JSON document: ``{"schema": "podwall/v1", "kind": kind, **body}``."""
    return {"schema": SCHEMA, "kind": kind, **body}


def diagnostic(d: Diagnostic) -> dict[str, Any]:
    out: dict[str, Any] = {
        "severity": d.severity.value,
        "code": d.code,
        "file": d.file,
        "line": d.line,
        "field": d.field,
        "message": d.message,
    }
    if d.hint:
        out["hint"] = d.hint
    return out


def direction(d: DirectionVerdict) -> dict[str, Any]:
    return {
        "direction": d.direction.value,
        "endpoint": d.endpoint,
        "governed": d.governed,
        "isolated": d.isolated,
        "allowed": d.allowed,
        "policies": list(d.policies),
        "allowed_by": [{"policy": r.policy, "rule": r.rule} for r in d.allowed_by],
        "denials": [
            {"policy": m.policy, "rule": m.rule, "kind": m.kind, "reason": m.reason} for m in d.misses
        ],
        "summary": d.summary(),
    }


def verdict(v: Verdict | ServiceVerdict) -> dict[str, Any]:
    if isinstance(v, ServiceVerdict):
        return {
            "from": v.src,
            "to": v.dst,
            "port": v.service_port,
            "protocol": v.protocol.value,
            "allowed": v.allowed,
            "reason": v.reason(),
            "service": True,
            "backends": [
                {
                    "endpoint": b.endpoint,
                    "target_port": b.port,
                    "allowed": bool(b.verdict and b.verdict.allowed),
                    "verdict": verdict(b.verdict) if b.verdict else None,
                }
                for b in v.backends
            ],
        }
    return {
        "from": v.src,
        "to": v.dst,
        "port": v.port,
        "protocol": v.protocol.value,
        "allowed": v.allowed,
        "reason": v.reason(),
        "self": v.self_traffic,
        "egress": direction(v.egress),
        "ingress": direction(v.ingress),
    }


# -- the lab (``podwall lab ...``) -------------------------------------------------------------
# The lab sits above report, so its result types are described here by the fields these shapes
# read (structural types), not imported.


class _Stats(Protocol):
    @property
    def chains(self) -> int: ...
    @property
    def rules(self) -> int: ...
    @property
    def sets(self) -> int: ...
    @property
    def elements(self) -> int: ...


class _Change(Protocol):
    @property
    def pods_added(self) -> int: ...
    @property
    def pods_removed(self) -> int: ...
    @property
    def pods_total(self) -> int: ...
    @property
    def nft(self) -> str: ...
    @property
    def cut(self) -> int: ...
    @property
    def seconds(self) -> float: ...

    @property
    def stats(self) -> _Stats: ...
    @property
    def skipped(self) -> Sequence[tuple[str, str]]: ...


class _Probe(Protocol):
    @property
    def src(self) -> str: ...
    @property
    def dst(self) -> str: ...
    @property
    def port(self) -> int | str: ...
    @property
    def protocol(self) -> model.Protocol: ...
    @property
    def expect(self) -> bool | None: ...


class _Attempt(Protocol):
    @property
    def endpoint(self) -> str: ...
    @property
    def ip(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def detail(self) -> str: ...

    @property
    def outcome(self) -> str | None: ...


class _ProbeResult(Protocol):
    @property
    def engine(self) -> bool | None: ...
    @property
    def kernel(self) -> bool | None: ...
    @property
    def detail(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def advisory(self) -> bool: ...

    @property
    def probe(self) -> _Probe: ...
    @property
    def outcome(self) -> str: ...
    @property
    def outcomes(self) -> Sequence[str]: ...
    @property
    def attempts(self) -> Sequence[_Attempt]: ...
    @property
    def agrees(self) -> bool | None: ...
    @property
    def failed(self) -> bool: ...


class _Summary(Protocol):
    @property
    def probes(self) -> int: ...
    @property
    def compared(self) -> int: ...
    @property
    def agree(self) -> int: ...
    @property
    def disagree(self) -> int: ...
    @property
    def unexpected(self) -> int: ...
    @property
    def advisory(self) -> int: ...
    @property
    def not_run(self) -> int: ...


class _Drop(Protocol):
    @property
    def chain(self) -> str: ...
    @property
    def comment(self) -> str: ...
    @property
    def packets(self) -> int: ...
    @property
    def bytes(self) -> int: ...


class _LabStatus(Protocol):
    @property
    def lab(self) -> str: ...
    @property
    def node(self) -> str: ...
    @property
    def up(self) -> bool: ...
    @property
    def phase(self) -> str: ...
    @property
    def pods(self) -> int: ...
    @property
    def listener_pid(self) -> int | None: ...
    @property
    def listener_alive(self) -> bool: ...

    @property
    def problems(self) -> Sequence[str]: ...
    @property
    def namespaces_missing(self) -> Sequence[str]: ...
    @property
    def skipped(self) -> Sequence[tuple[str, str]]: ...
    @property
    def ruleset(self) -> _Stats | None: ...
    @property
    def drops(self) -> Sequence[_Drop]: ...
    @property
    def healthy(self) -> bool: ...


def _word(v: bool | None) -> str | None:
    return None if v is None else ("allow" if v else "deny")


def lab_ruleset_stats(s: _Stats | None) -> dict[str, int]:
    if s is None:
        return {}
    return {"chains": s.chains, "rules": s.rules, "sets": s.sets, "elements": s.elements}


def lab_change(lab: str, ch: _Change) -> dict[str, Any]:
    """``lab up`` / ``lab apply`` (kind ``LabChange``)."""
    return {
        "lab": lab,
        "pods": ch.pods_total,
        "added": ch.pods_added,
        "removed": ch.pods_removed,
        "nft": ch.nft,
        "ruleset": lab_ruleset_stats(ch.stats),
        "cut": ch.cut,
        "seconds": round(ch.seconds, 3),
        "skipped": [{"endpoint": k, "reason": r} for k, r in ch.skipped],
    }


def lab_probe_result(r: _ProbeResult) -> dict[str, Any]:
    """One probe of ``lab probe`` / ``lab test``: kernel, engine and expectation side by side."""
    p = r.probe
    return {
        "from": p.src,
        "to": p.dst,
        "port": p.port,
        "protocol": p.protocol.value,
        "expect": _word(p.expect),
        "engine": _word(r.engine),
        "kernel": _word(r.kernel),
        "outcome": str(r.outcome),
        "outcomes": [str(o) for o in r.outcomes],
        "detail": r.detail,
        "advisory": r.advisory,
        "agrees": r.agrees,
        "failed": r.failed,
        "reason": r.reason,
        "attempts": [
            {
                "endpoint": a.endpoint,
                "ip": a.ip,
                "port": a.port,
                "outcome": None if a.outcome is None else str(a.outcome),
                "detail": a.detail,
            }
            for a in r.attempts
        ],
    }


def lab_summary(s: _Summary) -> dict[str, int]:
    return {
        "probes": s.probes,
        "compared": s.compared,
        "agree": s.agree,
        "disagree": s.disagree,
        "unexpected": s.unexpected,
        "advisory": s.advisory,
        "not_run": s.not_run,
    }


def lab_test(lab: str, s: _Summary, results: Sequence[_ProbeResult]) -> dict[str, Any]:
    """``lab test`` (kind ``LabTest``)."""
    return {"lab": lab, "summary": lab_summary(s), "results": [lab_probe_result(r) for r in results]}


def lab_status(st: _LabStatus) -> dict[str, Any]:
    """``lab status`` (kind ``LabStatus``): ``healthy`` is false whenever ``problems`` is not empty."""
    return {
        "lab": st.lab,
        "node": st.node,
        "up": st.up,
        "healthy": st.healthy,
        "problems": list(st.problems),
        "phase": st.phase,
        "pods": st.pods,
        "namespaces_missing": list(st.namespaces_missing),
        "skipped": [{"endpoint": k, "reason": r} for k, r in st.skipped],
        "listener_pid": st.listener_pid,
        "listener_alive": st.listener_alive,
        "ruleset": lab_ruleset_stats(st.ruleset),
        "drops": [{"chain": d.chain, "comment": d.comment, "packets": d.packets, "bytes": d.bytes} for d in st.drops],
    }


def lab_down(lab: str, removed: Sequence[str]) -> dict[str, Any]:
    """``lab down`` (kind ``LabDown``)."""
    return {"lab": lab, "removed": list(removed)}
