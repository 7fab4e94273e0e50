"""``shadowed-rule``: a rule whose every connection another rule already allows, for the same pods.

The containment test is structural, so it holds for every pod that could ever exist, not only
for the pods in the input: a selector ``A`` covers ``B`` when ``A``'s requirements are a subset of
``B``'s; an ipBlock covers another when its range (minus its excepts) contains the other's; a
port entry covers another of the same protocol when its range contains the other's. It misses
some real shadowing (two different selectors that happen to match the same pods) but never
reports a rule that does something.

Two identical rules shadow each other; only the later one is reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from ipaddress import IPv4Network, IPv6Network

from podwall.core.lint.context import LintContext, direction_key
from podwall.core.lint.findings import Finding, Fix, PolicyEdit
from podwall.core.lint.manifests import policy_yaml
from podwall.core.lint.peers import active_rules, with_rules
from podwall.core.model import (
    Direction,
    IPBlock,
    LabelSelector,
    Peer,
    Policy,
    PortSpec,
    Rule,
)
from podwall.core.selectors import matches


def selector_covers(outer: LabelSelector, inner: LabelSelector) -> bool:
    """Every label set ``inner`` matches, ``outer`` matches too (structurally)."""
    return set(outer.requirements()) <= set(inner.requirements())


def _range(net: IPv4Network | IPv6Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def _within(inner: tuple[int, int], outer: tuple[int, int]) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _block_covers(outer: IPBlock, inner: IPBlock) -> bool:
    """``outer`` (cidr minus excepts) contains all of ``inner`` (cidr minus excepts)."""
    if outer.network.version != inner.network.version:
        return False
    inner_range = _range(inner.network)
    if not _within(inner_range, _range(outer.network)):
        return False
    for e in outer.except_networks:
        hole = _range(e)
        if hole[1] < inner_range[0] or inner_range[1] < hole[0]:
            continue  # disjoint from inner
        if not any(_within(hole, _range(x)) for x in inner.except_networks):
            return False
    return True


def peer_covers(outer: Peer, inner: Peer, own_ns_labels: dict[str, str]) -> bool:
    if outer.ip_block is not None or inner.ip_block is not None:
        return (
            outer.ip_block is not None and inner.ip_block is not None and _block_covers(outer.ip_block, inner.ip_block)
        )
    if outer.namespace_selector is None:
        if inner.namespace_selector is not None:
            return False
    elif inner.namespace_selector is None:
        if not matches(outer.namespace_selector, own_ns_labels):
            return False
    elif not selector_covers(outer.namespace_selector, inner.namespace_selector):
        return False
    if outer.pod_selector is None or outer.pod_selector.is_empty:
        return True
    return inner.pod_selector is not None and selector_covers(outer.pod_selector, inner.pod_selector)


def port_covers(outer: PortSpec, inner: PortSpec) -> bool:
    if outer.protocol is not inner.protocol:
        return False
    if outer.port is None:
        return True
    if isinstance(outer.port, str) or isinstance(inner.port, str) or inner.port is None:
        return outer.port == inner.port
    lo, hi = outer.port, outer.end_port or outer.port
    return lo <= inner.port and (inner.end_port or inner.port) <= hi


def rule_covers(outer: Rule, inner: Rule, own_ns_labels: dict[str, str]) -> bool:
    if outer.ports and not (inner.ports and all(any(port_covers(o, s) for o in outer.ports) for s in inner.ports)):
        return False
    return not outer.peers or bool(
        inner.peers and all(any(peer_covers(o, p, own_ns_labels) for o in outer.peers) for p in inner.peers)
    )


def _remove_rule(pol: Policy, direction: Direction, rule: Rule) -> Policy:
    rules = list(pol.rules(direction))
    for k in range(len(rules) - 1, -1, -1):
        if rules[k] == rule:
            del rules[k]
            break
    return with_rules(pol, direction, tuple(rules))


def check_shadowed(ctx: LintContext) -> Iterator[Finding]:
    groups: dict[tuple[str, Direction], list[tuple[Policy, int, Rule]]] = defaultdict(list)
    for pol, direction, i, rule in active_rules(ctx):
        groups[(pol.namespace, direction)].append((pol, i, rule))
    for (ns, direction), items in groups.items():
        labels = dict(ctx.cluster.namespace_labels(ns))
        for n, (pol, i, rule) in enumerate(items):
            for m, (opol, oi, orule) in enumerate(items):
                if m == n or not selector_covers(opol.pod_selector, pol.pod_selector):
                    continue
                if not rule_covers(orule, rule, labels):
                    continue
                mutual = selector_covers(pol.pod_selector, opol.pod_selector) and rule_covers(rule, orule, labels)
                if mutual and m > n:
                    continue  # equal rules: report the later one only
                yield _finding(ctx, pol, direction, i, rule, opol, oi)
                break


def _finding(
    ctx: LintContext, pol: Policy, direction: Direction, i: int, rule: Rule, opol: Policy, oi: int
) -> Finding:
    other = f"rule #{oi + 1}" if opol is pol else f"{opol.key} {direction_key(direction)} rule #{oi + 1}"
    only = len(pol.rules(direction)) == 1 and opol is not pol and selector_covers(pol.pod_selector, opol.pod_selector)
    extra = f" (it is the policy's only {direction_key(direction)} rule, so {pol.key} adds nothing)" if only else ""
    return Finding(
        rule="shadowed-rule",
        message=f"NetworkPolicy {pol.key} {direction_key(direction)} rule #{i + 1} is shadowed by {other}, which "
        f"allows every connection it allows for the same pods: removing it changes nothing{extra}",
        hint="delete the rule, or narrow the broader one if it allows more than intended",
        locations=(ctx.rule_loc(pol, direction, i), ctx.rule_loc(opol, direction, oi)),
        namespace=pol.namespace,
        policy=pol.key,
        fix=Fix(
            name=f"{pol.namespace}.{pol.name}",
            yaml=policy_yaml(_remove_rule(pol, direction, rule)),
            edit=PolicyEdit(
                policy=pol,
                order=(9, 0 if direction is Direction.INGRESS else 1, -i),
                apply=lambda p: _remove_rule(p, direction, rule),
            ),
        ),
    )
