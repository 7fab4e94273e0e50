"""Stable JSON shapes for podwall's results (``-o json`` of every command).

Keys are part of the public interface: add new ones, never rename or remove.
"""

from __future__ import annotations

from typing import Any

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
