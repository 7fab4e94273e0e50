"""``podwall lint``: the NetworkPolicy mistakes people actually make, found with real verdicts.

Pure (no I/O): :func:`lint` takes a cluster and its engine and returns :class:`Finding` s, each
with the spans the caller turns into file:line, a hint, and where possible a ready-to-apply fix.
The rule ids (:class:`RuleId`, :data:`RULES`) are a stable public interface.

A fix is offered only when the engine shows that applying it removes the finding without
changing any verdict the finding is not about (:mod:`podwall.core.lint.verify`); otherwise the
hint says what to do and why podwall does not do it.

Silencing: ``enabled`` picks the rules; the annotation ``podwall.io/lint-ignore: id,id`` (or
``all``) on a NetworkPolicy, a Namespace, or a pod/workload silences those rules for findings
about that object.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping

from podwall.core.evaluate import Engine
from podwall.core.lint.cni import ENFORCING, KNOWN_CNIS, NON_ENFORCING, check_cni
from podwall.core.lint.compose import ComposedFix, checked_together, combined_fixes, compose_fixes
from podwall.core.lint.context import SYSTEM_NAMESPACES, LintContext
from podwall.core.lint.dns import check_dns
from podwall.core.lint.findings import Change, Effect, Finding, Fix, FixAction, Location, PolicyEdit
from podwall.core.lint.isolation import check_default_deny, check_policies
from podwall.core.lint.peers import check_ipblocks, check_peers
from podwall.core.lint.ports import check_ports
from podwall.core.lint.rules import RULES, RuleId, RuleInfo
from podwall.core.lint.shadow import check_shadowed
from podwall.core.lint.tiers import TIER_RULES, check_tiers
from podwall.core.lint.verify import checked
from podwall.core.model import Cluster, Policy
from podwall.errors import render_path

IGNORE_ANNOTATION = "podwall.io/lint-ignore"

__all__ = [
    "ENFORCING",
    "IGNORE_ANNOTATION",
    "KNOWN_CNIS",
    "NON_ENFORCING",
    "RULES",
    "SYSTEM_NAMESPACES",
    "Change",
    "ComposedFix",
    "Effect",
    "Finding",
    "Fix",
    "FixAction",
    "Location",
    "PolicyEdit",
    "RuleId",
    "RuleInfo",
    "checked_together",
    "combined_fixes",
    "compose_fixes",
    "lint",
    "render_path",
]


def _ignored(annotations: Mapping[str, str] | None) -> set[str]:
    if not annotations:
        return set()
    raw = annotations.get(IGNORE_ANNOTATION, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def _silenced(
    f: Finding, cluster: Cluster, by_policy: Mapping[str, Policy], by_endpoint: Mapping[str, Mapping[str, str]]
) -> bool:
    sets: list[set[str]] = []
    if f.namespace is not None and f.namespace in cluster.namespaces:
        sets.append(_ignored(cluster.namespaces[f.namespace].annotations))
    if f.policy is not None and f.policy in by_policy:
        sets.append(_ignored(by_policy[f.policy].annotations))
    if f.endpoint is not None:
        sets.append(_ignored(by_endpoint.get(f.endpoint)))
    return any(f.rule in s or "all" in s for s in sets)


def lint(
    cluster: Cluster,
    engine: Engine,
    *,
    enabled: Collection[str] | None = None,
    cni: str | None = None,
    system_namespaces: frozenset[str] = SYSTEM_NAMESPACES,
) -> list[Finding]:
    """Every finding of the ``enabled`` rules (default: all), minus annotated silences.

    Args:
        cluster: what was loaded.
        engine: the engine built on ``cluster`` (its options decide hostNetwork and ipBlock).
        enabled: rule ids to run; ``None`` for all of :data:`RULES`.
        cni: the network plugin, if known (``flannel``, ``calico``...); overrides detection.
        system_namespaces: namespaces that ``no-default-deny`` and ``unprotected-pod`` skip.

    Raises:
        ValueError: an unknown rule id in ``enabled``.
    """
    wanted = set(RULES) if enabled is None else set(enabled)
    unknown = wanted - set(RULES)
    if unknown:
        raise ValueError(f"unknown lint rule(s): {', '.join(sorted(unknown))}")
    ctx = LintContext(cluster, engine, system_namespaces=system_namespaces)
    r = RuleId
    checks: list[tuple[frozenset[str], Callable[[], Iterator[Finding]]]] = [
        (frozenset({r.CNI_DOES_NOT_ENFORCE}), lambda: check_cni(ctx, cni)),
        (frozenset({r.MISSING_NAMESPACE, r.RULES_IGNORED, r.SELECTS_NOTHING, r.HOSTNETWORK_SELECTED}),
         lambda: check_policies(ctx)),
        (frozenset({r.NO_DEFAULT_DENY, r.UNPROTECTED_POD}), lambda: check_default_deny(ctx)),
        (frozenset({r.DNS_EGRESS_BLOCKED, r.DNS_TCP_MISSING}), lambda: check_dns(ctx)),
        (frozenset({r.PEER_MATCHES_NOTHING, r.AND_OR_CONFUSION, r.ALLOW_ALL}), lambda: check_peers(ctx)),
        (frozenset({r.NAMED_PORT_UNRESOLVED, r.PORT_PROTOCOL_MISMATCH}), lambda: check_ports(ctx)),
        (frozenset({r.NONCANONICAL_CIDR, r.IPBLOCK_COVERS_PODS}), lambda: check_ipblocks(ctx)),
        (frozenset({r.SHADOWED_RULE}), lambda: check_shadowed(ctx)),
        (TIER_RULES, lambda: check_tiers(ctx)),
    ]
    by_policy = {p.key: p for p in cluster.policies}
    by_endpoint = {e.key: e.annotations for e in cluster.endpoints}
    out: list[Finding] = []
    for rules, run in checks:
        if not rules & wanted:
            continue
        for f in run():
            if f.rule in wanted and not _silenced(f, cluster, by_policy, by_endpoint):
                out.append(f)
    return checked(out, cluster, engine.options, ctx.built_classes)
