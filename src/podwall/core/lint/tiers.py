"""Lint checks for cluster-wide policy tiers (ClusterNetworkPolicy, AdminNetworkPolicy,
BaselineAdminNetworkPolicy).

* ``tier-priority-overlap``: two policies of one tier with the same priority apply to the same
  pods; upstream leaves their order undefined (podwall orders them by name);
* ``tier-rule-shadowed``: a rule that an earlier rule of the same policy, or a rule of a policy
  evaluated before it in the same tier that applies to at least the same pods, matches first,
  always (decided syntactically: same or wider selectors, covering networks and ports);
* ``tier-pass-noop``: a ``Pass`` with no later rule in its tier that could match, so it behaves
  exactly as if it were absent;
* ``tier-masks-networkpolicy``: every in-cluster connection, in one direction, of every pod a
  NetworkPolicy selects is decided by the Admin tier, so that policy's rules for the direction
  never apply (decided with the engine's own first-match, over the pods of the input);
* ``baseline-deny-without-dns``: a Baseline ``Deny`` decides pods' DNS egress (UDP 53 to the
  cluster's DNS pods), so their names stop resolving.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from podwall.core.lint.context import LintContext, describe
from podwall.core.lint.dns import _HYPOTHETICAL_DNS, dns_targets, is_dns_server
from podwall.core.lint.findings import Finding, Location
from podwall.core.lint.rules import RuleId
from podwall.core.model import (
    Direction,
    Endpoint,
    LabelSelector,
    Policy,
    Protocol,
    Target,
    Tier,
    TierAction,
    TierPeer,
    TierPolicy,
    TierPort,
    TierRule,
)
from podwall.core.reachability import checked_ports
from podwall.core.tiers import display_name, ordered

MASK_BUDGET = 250_000
"""``tier-masks-networkpolicy`` evaluates (selected pod x other endpoint x port); above this many
evaluations for one policy it stays quiet rather than slow lint down."""


def _loc(pol: TierPolicy, *path: str | int) -> Location:
    return Location(span=pol.span, path=tuple(path), what=pol.key)


def _rule_loc(pol: TierPolicy, direction: Direction, rule: TierRule) -> Location:
    return _loc(pol, "spec", direction.value.lower(), rule.index)


def _rule_name(pol: TierPolicy, rule: TierRule) -> str:
    return f"[{pol.tier}] {display_name(pol)} priority {pol.priority} {rule.label}"


# -- syntactic coverage -------------------------------------------------------------------------
def _sel_covers(outer: LabelSelector | None, inner: LabelSelector | None) -> bool:
    """An absent selector is read as empty (every object) by the callers that pass ``None``."""
    return outer is None or outer.is_empty or outer == inner


def _port_covers(outer: TierPort, inner: TierPort) -> bool:
    if outer.named is not None or inner.named is not None:
        return outer.named is not None and outer.named == inner.named and outer.protocol == inner.protocol
    if outer.protocol is not inner.protocol or outer.port is None or inner.port is None:
        return False
    o_hi = outer.end_port if outer.end_port is not None else outer.port
    i_hi = inner.end_port if inner.end_port is not None else inner.port
    return outer.port <= inner.port and i_hi <= o_hi


def _peer_covers(outer: TierPeer, inner: TierPeer) -> bool:
    if outer.kind == "namespaces":
        return inner.kind in ("namespaces", "pods") and _sel_covers(outer.namespace_selector, inner.namespace_selector)
    if outer.kind == "pods":
        return (
            inner.kind == "pods"
            and _sel_covers(outer.namespace_selector, inner.namespace_selector)
            and _sel_covers(outer.pod_selector, inner.pod_selector)
        )
    if outer.kind == "networks":
        if inner.kind != "networks":
            return False
        return all(
            any(i.network.version == o.network.version and i.network.subnet_of(o.network) for o in outer.networks)  # type: ignore[arg-type]
            for i in inner.networks
        )
    if outer.kind == "nodes":
        return inner.kind == "nodes" and _sel_covers(outer.node_selector, inner.node_selector)
    return inner.kind == "domainNames" and set(inner.domain_names) <= set(outer.domain_names)


def rule_covers(outer: TierRule, inner: TierRule) -> bool:
    """Whether ``outer`` matches every connection ``inner`` matches (for the same subject pod)."""
    if outer.ports is not None and (
        inner.ports is None or not all(any(_port_covers(o, i) for o in outer.ports) for i in inner.ports)
    ):
        return False
    return all(any(_peer_covers(o, i) for o in outer.peers) for i in inner.peers)


def subject_covers(outer: TierPolicy, inner: TierPolicy) -> bool:
    """Whether ``outer``'s subject selects at least the pods ``inner``'s does."""
    if not _sel_covers(outer.subject.namespace_selector, inner.subject.namespace_selector):
        return False
    if outer.subject.pod_selector is None or outer.subject.pod_selector.is_empty:
        return True
    return outer.subject.pod_selector == inner.subject.pod_selector


# -- checks -----------------------------------------------------------------------------------------
class Subjects:
    """The endpoints each cluster-wide policy's subject selects, computed once per lint run."""

    def __init__(self, ctx: LintContext) -> None:
        self.ctx = ctx
        self._memo: dict[str, list[Endpoint]] = {}
        self._ids: dict[str, frozenset[int]] = {}

    def pods(self, pol: TierPolicy) -> list[Endpoint]:
        hit = self._memo.get(pol.key)
        if hit is None:
            tiers = self.ctx.engine.tiers
            hit = self._memo[pol.key] = [e for e in self.ctx.cluster.endpoints if tiers.selects(pol, e)]
        return hit

    def ids(self, pol: TierPolicy) -> frozenset[int]:
        hit = self._ids.get(pol.key)
        if hit is None:
            hit = self._ids[pol.key] = frozenset(id(e) for e in self.pods(pol))
        return hit

    def overlap(self, a: TierPolicy, b: TierPolicy) -> list[Endpoint]:
        """The endpoints both select, in ``b``'s order (empty fast when they are disjoint)."""
        mine = self.ids(a)
        if mine.isdisjoint(self.ids(b)):
            return []
        return [e for e in self.pods(b) if id(e) in mine]


def check_priority_overlap(ctx: LintContext, subjects: Subjects) -> Iterator[Finding]:
    groups: dict[tuple[Tier, int], list[TierPolicy]] = defaultdict(list)
    for pol in ordered(ctx.cluster.tier_policies):
        groups[(pol.tier, pol.priority)].append(pol)
    for (tier, prio), pols in groups.items():
        for i, first in enumerate(pols):
            for second in pols[i + 1 :]:
                dirs = [d for d in Direction if first.rules(d) and second.rules(d)]
                if not dirs:
                    continue
                if ctx.inventory:
                    common = subjects.overlap(second, first)
                    if not common:
                        continue
                    whom = describe(common[0]) + (f" and {len(common) - 1} more" if len(common) > 1 else "")
                elif subject_covers(first, second) or subject_covers(second, first):
                    whom = "the same pods"
                else:
                    continue
                yield Finding(
                    rule=RuleId.TIER_PRIORITY_OVERLAP,
                    message=(
                        f"{first.key} and {second.key} are both {tier} priority {prio} with "
                        f"{' and '.join(d.value.lower() for d in dirs)} rules for {whom}: upstream leaves "
                        f"their order undefined (podwall, like kube-network-policies, evaluates "
                        f"{first.name} first, by name)"
                    ),
                    hint="give one of them another priority, so that every implementation agrees",
                    locations=(_loc(second, "spec", "priority"), _loc(first, "spec", "priority")),
                )


def _earlier_rules(
    pols: Sequence[TierPolicy], k: int, direction: Direction, index: int
) -> Iterator[tuple[TierPolicy, TierRule]]:
    """Rules evaluated before rule ``index`` of ``pols[k]`` for pods its subject selects: earlier
    rules of the same policy, and the rules of earlier policies of the tier whose subject covers it."""
    pol = pols[k]
    for other in pols[:k]:
        if subject_covers(other, pol):
            for r in other.rules(direction):
                yield other, r
    for r in pol.rules(direction):
        if r.index >= index:
            break
        yield pol, r


def check_shadowed(ctx: LintContext) -> Iterator[Finding]:
    for tier in Tier:
        pols = list(ctx.engine.tiers.by_tier[tier])
        for k, pol in enumerate(pols):
            for direction in Direction:
                for rule in pol.rules(direction):
                    hit = next(
                        ((o, r) for o, r in _earlier_rules(pols, k, direction, rule.index) if rule_covers(r, rule)),
                        None,
                    )
                    if hit is None:
                        continue
                    other, earlier = hit
                    same = other is pol
                    where = "an earlier rule of the same policy" if same else "a policy evaluated before it"
                    yield Finding(
                        rule=RuleId.TIER_RULE_SHADOWED,
                        message=(
                            f"{direction.value.lower()} {_rule_name(pol, rule)} {rule.action} never decides anything: "
                            f"{where}, {_rule_name(other, earlier)} {earlier.action}, matches every connection it "
                            "matches first"
                        ),
                        hint="remove the rule, or move it before the broader one if it was meant to win",
                        locations=(_rule_loc(pol, direction, rule), _rule_loc(other, direction, earlier)),
                    )


def check_pass_noop(ctx: LintContext, subjects: Subjects) -> Iterator[Finding]:
    for tier in Tier:
        pols = list(ctx.engine.tiers.by_tier[tier])
        for k, pol in enumerate(pols):
            for direction in Direction:
                rules = pol.rules(direction)
                for rule in rules:
                    if rule.action is not TierAction.PASS:
                        continue
                    if any(r.index > rule.index for r in rules):
                        continue
                    later = [
                        o
                        for o in pols[k + 1 :]
                        if o.rules(direction) and (not ctx.inventory or subjects.overlap(pol, o))
                    ]
                    if later:
                        continue
                    nxt = "NetworkPolicy and then the Baseline tier" if tier is Tier.ADMIN else "the default allow"
                    yield Finding(
                        rule=RuleId.TIER_PASS_NOOP,
                        message=(
                            f"{direction.value.lower()} {_rule_name(pol, rule)} Pass changes nothing: no later "
                            f"{tier} rule could match what it passes, which goes to {nxt} either way"
                        ),
                        hint="remove it, or add the rules it was meant to skip after it",
                        locations=(_rule_loc(pol, direction, rule),),
                    )


def _np_selected(ctx: LintContext, pol: Policy, direction: Direction) -> list[Endpoint]:
    return [e for e in ctx.selected(pol) if pol in ctx.engine.selecting(e, direction)]


def check_masks_networkpolicy(ctx: LintContext) -> Iterator[Finding]:
    if not ctx.engine.tiers.by_tier[Tier.ADMIN] or not ctx.inventory:
        return
    tiers = ctx.engine.tiers
    others = [e for e in ctx.cluster.endpoints if not e.host_network]
    for pol in ctx.cluster.policies:
        for direction in sorted(pol.policy_types, key=lambda d: d.value):
            selected = [e for e in _np_selected(ctx, pol, direction) if not e.host_network]
            if not selected or len(selected) * len(others) * 4 > MASK_BUDGET:
                continue
            example = None
            masked = True
            for s in selected:
                if not tiers.subject_of(s, Tier.ADMIN):
                    masked = False
                    break
                for o in others:
                    if o is s:
                        continue
                    dst = s if direction is Direction.INGRESS else o
                    for proto, port in checked_ports(dst, None, Protocol.TCP) or ((Protocol.TCP, 1),):
                        m = tiers.first_match(Tier.ADMIN, direction, s, o, dst, port, proto)
                        if not m.final:
                            masked = False
                            break
                        example = example or m.ref
                    if not masked:
                        break
                if not masked:
                    break
            if not masked or example is None:
                continue
            word = direction.value.lower()
            yield Finding(
                rule=RuleId.TIER_MASKS_NETWORKPOLICY,
                message=(
                    f"NetworkPolicy {pol.key} never decides {word}: the Admin tier accepts or denies every "
                    f"in-cluster {word} connection of the {len(selected)} pod(s) it selects (e.g. {example})"
                ),
                hint=f"use Pass in the Admin rules for the traffic {pol.key} should decide, or drop the policy",
                locations=(ctx.policy_loc(pol, "spec", word) if pol.rules(direction) else ctx.policy_loc(pol),),
                namespace=pol.namespace,
                policy=pol.key,
            )


def check_baseline_dns(ctx: LintContext) -> Iterator[Finding]:
    if not ctx.engine.tiers.by_tier[Tier.BASELINE]:
        return
    servers: list[Target] = dns_targets(ctx) or [_HYPOTHETICAL_DNS]
    blocked: dict[tuple[str, int], list[Endpoint]] = defaultdict(list)
    refs = {}
    memo: dict[tuple[object, ...], tuple[str, int] | None] = {}
    for ep in ctx.cluster.endpoints:
        if ep.host_network or is_dns_server(ep):
            continue
        key = (ep.namespace, tuple(sorted(ep.labels.items())), ep.ips)
        if key not in memo:
            verdicts = [ctx.engine.direction(Direction.EGRESS, ep, s, s, 53, Protocol.UDP) for s in servers]
            found = None
            if not any(v.allowed for v in verdicts):
                by_base = [v for v in verdicts if v.decided_by == "Baseline" and v.tier_rule is not None]
                if by_base:
                    ref = by_base[0].tier_rule
                    assert ref is not None
                    found = (ref.policy, ref.rule)
                    refs[found] = ref
            memo[key] = found
        hit = memo[key]
        if hit is not None:
            blocked[hit].append(ep)
    by_key = {p.key: p for p in ctx.cluster.tier_policies}
    for (pkey, index), eps in blocked.items():
        pol = by_key[pkey]
        ref = refs[(pkey, index)]
        rule = next(r for r in pol.egress if r.index == index)
        where = ", ".join(s.key for s in servers[:2])
        yield Finding(
            rule=RuleId.BASELINE_DENY_WITHOUT_DNS,
            message=(
                f"{ref} blocks DNS (UDP 53 to {where}) for {describe(eps[0])}"
                + (f" and {len(eps) - 1} more" if len(eps) > 1 else "")
                + ": names stop resolving for every pod no NetworkPolicy isolates for egress"
            ),
            hint=(
                "add a rule before the Deny (or an Admin policy) that Accepts UDP and TCP 53 to the DNS pods, "
                "e.g. to: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, "
                "podSelector: {matchLabels: {k8s-app: kube-dns}}}}]"
            ),
            locations=(_rule_loc(pol, Direction.EGRESS, rule),),
        )


TIER_RULES = frozenset(
    {
        "tier-priority-overlap",
        "tier-rule-shadowed",
        "tier-pass-noop",
        "tier-masks-networkpolicy",
        "baseline-deny-without-dns",
    }
)


def check_tiers(ctx: LintContext) -> Iterator[Finding]:
    if not ctx.cluster.tier_policies:
        return
    subjects = Subjects(ctx)
    yield from check_priority_overlap(ctx, subjects)
    yield from check_shadowed(ctx)
    yield from check_pass_noop(ctx, subjects)
    yield from check_masks_networkpolicy(ctx)
    yield from check_baseline_dns(ctx)
