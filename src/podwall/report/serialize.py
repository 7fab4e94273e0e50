"""Stable JSON shapes for podwall's results (``-o json`` of every command).

Keys are part of the public interface: add new ones, never rename or remove.
"""

from __future__ import annotations

from typing import Any

from podwall.core.evaluate import DirectionVerdict, Verdict
from podwall.core.services import ServiceVerdict
from podwall.core.tiers import TierRuleRef
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


def tier_rule(r: TierRuleRef) -> dict[str, Any]:
    return {
        "tier": r.tier.value,
        "policy": r.policy,
        "priority": r.priority,
        "rule": r.rule,
        "rule_name": r.rule_name,
        "action": r.action.value,
    }


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
