"""Stable JSON shapes for podwall's results (``-o json`` of every command).

Keys are part of the public interface: add new ones, never rename or remove.
"""

from __future__ import annotations

from typing import Any

from podwall.core.diff import Cause, Diff, PairChange
from podwall.core.evaluate import DirectionVerdict, Verdict
from podwall.core.portsets import PortSet
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


# -- the whole port space (matrix --ports all, diff) -------------------------------------------
def portset(ps: PortSet) -> dict[str, list[list[int]]]:
    """The one port-set encoding: ``{"TCP": [[lo, hi], ...], "UDP": [...], "SCTP": [...]}``,
    sorted merged inclusive intervals, only non-empty protocols (``{}``: nothing allowed)."""
    return ps.to_json()


def connection(src: str, dst: str, allowed: PortSet) -> dict[str, Any]:
    """One entry of a ``ConnectivityList``."""
    return {"from": src, "to": dst, "allowed": portset(allowed)}



def diff_cause(c: Cause) -> dict[str, Any]:
    """``{"policy": "ns/name", "rule": "ingress rule #1", "change": "added|removed|edited", "field": ...}``
    (plus ``tier`` for cluster-wide policies, ``object`` for an endpoint or namespace change)."""
    out: dict[str, Any] = {"policy": c.policy, "rule": c.rule, "change": c.change, "field": c.field}
    if c.tier is not None:
        out["tier"] = c.tier
    if c.object is not None:
        out["object"] = c.object
    return out


def diff_change(ch: PairChange) -> dict[str, Any]:
    """One entry of a ``Diff`` document's ``changes``."""
    return {
        "change": ch.change,
        "from": ch.src,
        "to": ch.dst,
        "before": portset(ch.before),
        "after": portset(ch.after),
        "causes": [diff_cause(c) for c in ch.causes],
    }


def diff_document(d: Diff) -> dict[str, Any]:
    """``{"schema", "kind": "Diff", "by", "changes": [...], "summary": {...}}``."""
    summary = {k.replace(" ", "_"): v for k, v in d.summary.items()}
    return document("Diff", {"by": d.by, "changes": [diff_change(c) for c in d.changes], "summary": summary})
