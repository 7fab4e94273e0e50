"""Stable JSON shapes for podwall's results: every ``-o json`` document of every command.

This module owns ALL of them. Every document is ``{"schema": "podwall/v1", "kind": <Kind>, ...}``
(:func:`document`); the kinds are listed in :data:`KINDS` and each has a JSON Schema in
``docs/schemas/<Kind>.json``, which the tests check real output against.

Keys are part of the public interface: add new ones, never rename or remove.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any

from podwall.core.diff import Cause, Diff, PairChange
from podwall.core.evaluate import DirectionVerdict, Verdict
from podwall.core.lint import RULES, Finding, render_path
from podwall.core.model import Protocol
from podwall.core.portsets import PortSet
from podwall.core.reachability import ALL, NA, NONE, SOME, ClassMatrix, Matrix, PortKey
from podwall.core.services import ServiceVerdict
from podwall.core.tiers import TierRuleRef
from podwall.errors import Diagnostic, SourceSpan
from podwall.report.fixes import fix_yaml

SCHEMA = "podwall/v1"
"""The version of every JSON document podwall prints; bumped only on an incompatible change."""

KINDS: dict[str, str] = {
    "Validation": "podwall validate: the problems of the input and what it contains",
    "Verdict": "podwall can / explain: one connection, whatever the destination",
    "TestReport": "podwall test: expectations checked against the engine",
    "Matrix": "podwall matrix: who can reach whom",
    "LintReport": "podwall lint: findings, with hints and fixes",
    "LintRules": "podwall lint --list-rules: the rule table",
    "NftRuleset": "podwall compile: the nftables ruleset (loadable as is with nft -j -f)",
    "LabChange": "podwall lab up / apply: what changed in the lab",
    "LabTestReport": "podwall lab test: kernel against engine against expectations",
    "LabProbe": "podwall lab probe: one real connection attempt",
    "LabStatus": "podwall lab status: the lab and its health",
    "LabDown": "podwall lab down: what was removed",
    "Doctor": "podwall doctor: the network plugins found, whether they enforce policies, the --active proof",
    "LiveTest": "podwall test --cluster --live: real probes in a cluster beside the engine's verdicts",
    "Error": "any command in JSON mode: the error, with the exit code",
    "ConnectivityList": "podwall matrix --ports all: every pair's allowed connections over the whole port space",
    "Diff": "podwall diff: what a change opens and closes, per pair, with causes",
    "Report": "podwall report / graph -o json: nodes, edges with port sets, policies, explanations, findings, diff",
}
"""Every kind of JSON document, with the command that prints it."""


def document(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A top-level JSON document: ``{"schema": "podwall/v1", "kind": kind, **body}``."""
    return {"schema": SCHEMA, "kind": kind, **body}


def dumps(doc: Mapping[str, Any]) -> str:
    """How every document is printed (indented, keys in the order they are built)."""
    return json.dumps(doc, indent=2, sort_keys=False)


# -- shared pieces ------------------------------------------------------------------------------
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


def tier_rule(r: TierRuleRef) -> dict[str, Any]:
    return {
        "tier": r.tier.value,
        "policy": r.policy,
        "priority": r.priority,
        "rule": r.rule,
        "rule_name": r.rule_name,
        "action": r.action.value,
    }


def summary(*, total: int, passed: int, failed: int, advisory: int, not_run: int) -> dict[str, int]:
    """The summary of ``test`` and ``lab test`` alike: ``total = passed + failed + advisory + not_run``
    (advisory probes are counted only as advisory, whatever their result)."""
    return {"total": total, "passed": passed, "failed": failed, "advisory": advisory, "not_run": not_run}


def _span(span: SourceSpan) -> dict[str, Any]:
    return {"file": span.file, "line": span.line}


# -- errors -------------------------------------------------------------------------------------
def error_doc(*, code: int, type: str, message: str, diagnostics: Sequence[Diagnostic] = ()) -> dict[str, Any]:
    """An error in JSON mode (printed on stdout, with the same exit code as in text mode)."""
    body = {"code": code, "type": type, "message": message, "diagnostics": [diagnostic(d) for d in diagnostics]}
    return document("Error", {"error": body})


# -- validate -----------------------------------------------------------------------------------
def validation_doc(
    *, diagnostics: Sequence[Diagnostic], objects: Mapping[str, int], skipped: Sequence[str], unreadable: bool
) -> dict[str, Any]:
    errors = sum(1 for d in diagnostics if d.severity.value == "error")
    warnings = sum(1 for d in diagnostics if d.severity.value == "warning")
    return document(
        "Validation",
        {
            "valid": not errors and not unreadable,
            "unreadable": unreadable,
            "errors": errors,
            "warnings": warnings,
            "diagnostics": [diagnostic(d) for d in diagnostics],
            "objects": dict(objects),
            "skipped": list(skipped),
        },
    )


# -- can / explain ------------------------------------------------------------------------------
def direction(d: DirectionVerdict) -> dict[str, Any]:
    out = _np_direction(d)
    if d.decided_by:  # only with cluster-wide policies present: other documents keep their shape
        out["decided_by"] = d.decided_by
        out["tier_rule"] = tier_rule(d.tier_rule) if d.tier_rule is not None else None
        out["passed"] = [tier_rule(p) for p in d.passed]
        out["tier_notes"] = list(d.tier_notes)
    return out


def _np_direction(d: DirectionVerdict) -> dict[str, Any]:
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


def endpoint_kind(name: str) -> str:
    """``pod``, ``workload``, ``address`` or ``service`` for an endpoint key."""
    parts = name.split("/")
    if len(parts) == 3:
        return "service" if parts[1] == "service" else "workload"
    if len(parts) == 2:
        return "pod"
    return "address"


def answer(v: Verdict | ServiceVerdict) -> str:
    """``yes`` or ``no``; ``unknown`` for a question the input cannot answer (a Service whose
    backends it does not hold, or an ExternalName Service whose address decides)."""
    if isinstance(v, ServiceVerdict):
        return v.answer
    return "yes" if v.allowed else "no"


def _pod_verdict(v: Verdict) -> dict[str, Any]:
    return {
        "endpoint": v.dst,
        "target_port": v.port,
        "allowed": v.allowed,
        "reason": v.reason(),
        "self": v.self_traffic,
        "egress": direction(v.egress),
        "ingress": direction(v.ingress),
    }


def verdict(v: Verdict | ServiceVerdict) -> dict[str, Any]:
    """One shape whatever the destination (pod, workload, address or Service).

    ``backends`` lists what the connection really reaches: the destination itself, or every
    backing pod of a Service (``allowed`` is true iff there is one and all are reachable).
    ``egress`` and ``ingress`` are the destination's own directions, null for a Service.
    """
    if isinstance(v, ServiceVerdict):
        backends = [
            {
                "endpoint": b.endpoint,
                "target_port": b.port,
                "allowed": bool(b.verdict and b.verdict.allowed),
                "reason": b.verdict.reason() if b.verdict else "has no matching target port",
                "self": bool(b.verdict and b.verdict.self_traffic),
                "egress": direction(b.verdict.egress) if b.verdict else None,
                "ingress": direction(b.verdict.ingress) if b.verdict else None,
            }
            for b in v.backends
        ]
        return {
            "from": v.src,
            "to": v.dst,
            "to_kind": "service",
            "port": v.service_port,
            "protocol": v.protocol.value,
            "allowed": v.allowed,
            "answer": answer(v),
            "reason": v.reason(),
            "self": False,
            "egress": None,
            "ingress": None,
            "backends": backends,
        }
    return {
        "from": v.src,
        "to": v.dst,
        "to_kind": endpoint_kind(v.dst),
        "port": v.port,
        "protocol": v.protocol.value,
        "allowed": v.allowed,
        "answer": answer(v),
        "reason": v.reason(),
        "self": v.self_traffic,
        "egress": direction(v.egress),
        "ingress": direction(v.ingress),
        "backends": [_pod_verdict(v)],
    }


def verdict_doc(v: Verdict | ServiceVerdict) -> dict[str, Any]:
    return document("Verdict", verdict(v))


# -- test ---------------------------------------------------------------------------------------
def test_result(
    *,
    src: str,
    dst: str,
    port: int | str,
    protocol: Protocol,
    expect: bool,
    actual: bool,
    advisory: bool,
    reason: str,
    span: SourceSpan,
) -> dict[str, Any]:
    return {
        "from": src,
        "to": dst,
        "port": port,
        "protocol": protocol.value,
        "expect": "allow" if expect else "deny",
        "actual": "allow" if actual else "deny",
        "ok": expect == actual,
        "advisory": advisory,
        "reason": reason,
        **_span(span),
    }


def test_doc(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``podwall test``: per probe, what the file expects and what the engine says."""
    counted = [r for r in results if not r["advisory"]]
    return document(
        "TestReport",
        {
            "results": list(results),
            "summary": summary(
                total=len(results),
                passed=sum(1 for r in counted if r["ok"]),
                failed=sum(1 for r in counted if not r["ok"]),
                advisory=len(results) - len(counted),
                not_run=0,
            ),
        },
    )


# -- lint ---------------------------------------------------------------------------------------
LineOf = Callable[..., int]


def finding(f: Finding, file: str, line: int, line_of: LineOf) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity.value,
        "message": f.message,
        "hint": f.hint,
        "file": file,
        "line": line,
        "field": render_path(f.locations[0].path) if f.locations else "",
        "locations": [
            {
                "file": loc.span.file if loc.span else "",
                "line": line_of(loc.span, *loc.path),
                "field": render_path(loc.path),
                "object": loc.what,
            }
            for loc in f.locations
        ],
        "namespace": f.namespace,
        "policy": f.policy,
        "endpoint": f.endpoint,
        "fix": {"name": f.fix.name, "action": f.fix.action.value, "yaml": fix_yaml(f.fix)} if f.fix else None,
    }


def lint_doc(items: Iterable[tuple[Finding, str, int]], line_of: LineOf, *, fail_on: str) -> dict[str, Any]:
    """``podwall lint``: the findings (sorted by the caller) and a count per severity."""
    items = list(items)
    counts = {s: sum(1 for f, _, _ in items if f.severity.value == s) for s in ("error", "warning", "info")}
    return document(
        "LintReport",
        {
            "findings": [finding(f, file, line, line_of) for f, file, line in items],
            "summary": counts,
            "fail_on": fail_on,
        },
    )


def lint_rules_doc() -> dict[str, Any]:
    """``podwall lint --list-rules``: every rule, as in docs/lint.md."""
    rules = [
        {"id": r.id, "severity": r.severity.value, "summary": r.summary, "why": r.why, "bad": r.bad, "fixed": r.fixed}
        for r in RULES.values()
    ]
    return document("LintRules", {"rules": rules})


# -- compile ------------------------------------------------------------------------------------
def ruleset_doc(nft_json: Mapping[str, Any]) -> dict[str, Any]:
    """``podwall compile -o json``: nft's own JSON (``{"nftables": [...]}``) inside the envelope;
    nft ignores the extra keys, so the document still loads with ``nft -j -f``."""
    return document("NftRuleset", nft_json)


# -- matrix -------------------------------------------------------------------------------------
Progress = Callable[[str, int, int], None]


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


def _ports_json(ports: tuple[PortKey, ...]) -> str:
    return json.dumps([f"{p}/{n}" for p, n in ports])


def cell_state(allowed: tuple[PortKey, ...], checked: tuple[PortKey, ...]) -> str:
    if not checked:
        return NA
    return ALL if len(allowed) == len(checked) else NONE if not allowed else SOME


def _matrix_head(port: int | None, proto: Protocol, by: str, note: str | None) -> str:
    head: dict[str, Any] = document("Matrix", {"port": port, "protocol": proto.value, "by": by})
    if note:
        head["note"] = note
    return json.dumps(head)[:-1]


def write_matrix(
    out: IO[str],
    m: Matrix,
    *,
    port: int | None,
    protocol: Protocol,
    progress: Progress = _quiet,
    note: str | None = None,
) -> None:
    """Write the pod-level ``Matrix`` document incrementally: a header, then one cell per line
    (cells are formatted once per destination class and allowed ports: rows are cheap)."""
    keys = [json.dumps(e.key) for e in m.endpoints]
    checked = [_ports_json(m.checked(j)) for j in range(len(m))]
    out.write(_matrix_head(port, protocol, "pod", note) + ',\n "endpoints": [' + ", ".join(keys) + '],\n "cells": [\n')

    def tail(allowed: tuple[PortKey, ...], j: int) -> str:
        st = cell_state(allowed, m.checked(j))
        return f', "state": "{st}", "allowed": {_ports_json(allowed)}, "checked": {checked[j]}}}'

    n = len(m)
    cls = m.compiled.classes.cls.tolist() if isinstance(m, ClassMatrix) else []
    for i in range(n):
        progress("writing rows", i, n)
        head_i = f'  {{"from": {keys[i]}, "to": '
        if isinstance(m, ClassMatrix):
            tails: dict[tuple[int, tuple[PortKey, ...]], str] = {}
            parts = []
            for j, allowed in m.row(i):
                tk = (cls[j], allowed)
                t = tails.get(tk)
                if t is None:
                    t = tails[tk] = tail(allowed, j)
                parts.append(head_i + keys[j] + t)
        else:
            parts = [head_i + keys[j] + tail(m.allowed(i, j), j) for j in range(n)]
        out.write(("" if i == 0 else ",\n") + ",\n".join(parts))
    progress("writing rows", n, n)
    out.write("\n ]\n}\n")


def write_group_matrix(
    out: IO[str],
    labels: Sequence[str],
    cell: Callable[[int, int], str],
    *,
    port: int | None,
    protocol: Protocol,
    by: str,
    progress: Progress = _quiet,
    note: str | None = None,
) -> None:
    """Write an aggregated ``Matrix`` document (by workload or namespace): one state per group pair."""
    names = [json.dumps(x) for x in labels]
    out.write(_matrix_head(port, protocol, by, note) + ',\n "groups": [' + ", ".join(names) + '],\n "cells": [\n')
    sep = ""
    for a in range(len(labels)):
        progress("writing rows", a, len(labels))
        for b in range(len(labels)):
            out.write(f'{sep}  {{"from": {names[a]}, "to": {names[b]}, "state": "{cell(a, b)}"}}')
            sep = ",\n"
    out.write("\n ]\n}\n")


# -- lab ----------------------------------------------------------------------------------------
def lab_change_doc(
    *,
    lab: str,
    pods: int,
    added: int,
    removed: int,
    nft: str,
    ruleset: Mapping[str, int],
    cut: int,
    seconds: float,
    skipped: Iterable[tuple[str, str]],
    hosts: Iterable[tuple[str, Sequence[str], Sequence[str]]] = (),
) -> dict[str, Any]:
    """``lab up`` / ``lab apply``: the pods and the ruleset after the change.

    ``hosts``: the lab's host namespaces (key, node addresses, hostNetwork endpoints served).
    """
    return document(
        "LabChange",
        {
            "lab": lab,
            "pods": pods,
            "added": added,
            "removed": removed,
            "nft": nft,
            "ruleset": dict(ruleset),
            "cut": cut,
            "seconds": round(seconds, 3) if math.isfinite(seconds) else None,
            "skipped": [{"endpoint": k, "reason": r} for k, r in skipped],
            "hosts": [{"host": k, "ips": list(ips), "endpoints": list(eps)} for k, ips, eps in hosts],
        },
    )


def probe_result(
    *,
    src: str,
    dst: str,
    port: int | str,
    protocol: Protocol,
    expect: bool | None,
    engine: bool | None,
    kernel: bool | None,
    outcome: str,
    detail: str,
    advisory: bool,
    agrees: bool | None,
    failed: bool,
    attempts: Iterable[Mapping[str, Any]],
    reason: str = "",
) -> dict[str, Any]:
    """One probe in the lab: what the file expects, what the engine says, what the kernel did."""

    def word(v: bool | None) -> str | None:
        return None if v is None else ("allow" if v else "deny")

    return {
        "from": src,
        "to": dst,
        "port": port,
        "protocol": protocol.value,
        "expect": word(expect),
        "engine": word(engine),
        "kernel": word(kernel),
        "outcome": outcome,
        "detail": detail,
        "advisory": advisory,
        "agrees": agrees,
        "failed": failed,
        "attempts": [dict(a) for a in attempts],
        "reason": reason,
    }


def lab_test_doc(results: Sequence[dict[str, Any]], comparison: Mapping[str, int]) -> dict[str, Any]:
    """``lab test``: the same ``summary`` as ``podwall test``, plus kernel-vs-engine counts."""
    counted = [r for r in results if not r["advisory"]]
    ran = [r for r in counted if r["kernel"] is not None]
    return document(
        "LabTestReport",
        {
            "results": list(results),
            "summary": summary(
                total=len(results),
                passed=sum(1 for r in ran if not r["failed"]),
                failed=sum(1 for r in ran if r["failed"]),
                advisory=len(results) - len(counted),
                not_run=len(counted) - len(ran),
            ),
            "comparison": dict(comparison),
        },
    )


def lab_probe_doc(result: dict[str, Any]) -> dict[str, Any]:
    return document("LabProbe", result)


def lab_status_doc(status: Mapping[str, Any], *, healthy: bool) -> dict[str, Any]:
    return document("LabStatus", {**status, "healthy": healthy})


def lab_down_doc(*, lab: str, removed: Sequence[str]) -> dict[str, Any]:
    return document("LabDown", {"lab": lab, "removed": list(removed)})


# -- live clusters (doctor, test --live) ---------------------------------------------------------
def doctor(diag: Any, active: Any | None) -> dict[str, Any]:
    """``podwall doctor -o json``: the plugins found, the conclusion, and the active check if run."""
    out: dict[str, Any] = {
        "network_policy": diag.network_policy.value,
        "plugins": [
            {
                "id": f.plugin.id,
                "name": f.plugin.name,
                "enforces_network_policy": f.enforces.value,
                "tiers": f.plugin.tiers,
                "confidence": f.confidence,
                "evidence": list(f.evidence),
                "note": f.note,
            }
            for f in diag.findings
        ],
        "policy_api_versions": list(diag.policy_groups),
        "warnings": list(diag.warnings),
        "active": None,
    }
    if active is not None:
        out["active"] = {
            "verdict": active.verdict.value,
            "namespace": active.namespace,
            "allowed_client": active.allowed_client.value,
            "denied_client": active.denied_client.value,
            "detail": active.detail,
            "deleted": active.deleted,
            "steps": list(active.steps),
        }
    return out


def live_report(report: Any) -> dict[str, Any]:
    """``podwall test --cluster --live -o json``: per probe, what the network did and what the engine says."""
    results = [
        {
            "from": r.src,
            "to": r.dst,
            "port": r.port,
            "protocol": r.protocol.value,
            "expect": r.expect,
            "outcome": r.outcome.value,
            "observed": r.observed,
            "engine": r.engine,
            "agrees": r.agrees,
            "via": r.via,
            "detail": r.detail,
            "reason": r.engine_reason,
        }
        for r in report.results
    ]
    disagree = sum(1 for r in report.results if r.observed is not None and not r.agrees)
    undecided = sum(1 for r in report.results if r.observed is None)
    return {
        "results": results,
        "summary": {
            "total": len(results),
            "agree": len(results) - disagree - undecided,
            "disagree": disagree,
            "undecided": undecided,
        },
        "deleted_namespaces": list(report.deleted),
        "left_namespaces": list(report.left),
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
    """``{"policy": "ns/name", "rule": "ingress rule #1", "change": "added|removed|edited", "field": ...,
    "opens": PORTSET, "closes": PORTSET}`` (the pair's opened and closed connections this cause
    accounts for), plus ``tier`` for cluster-wide policies; for an endpoint or namespace change
    ``policy`` is null and ``object`` names it."""
    out: dict[str, Any] = {"policy": c.policy, "rule": c.rule, "change": c.change, "field": c.field}
    if c.policy is not None:
        out["opens"] = portset(c.opens)
        out["closes"] = portset(c.closes)
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
