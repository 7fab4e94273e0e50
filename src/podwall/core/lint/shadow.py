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

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Iterator
from ipaddress import IPv4Network, IPv6Network

from podwall.core.lint.context import LintContext, direction_key
from podwall.core.lint.findings import Finding, Fix, deletion, replacement
from podwall.core.lint.peers import active_rules, with_rules
from podwall.core.lint.rules import RuleId
from podwall.core.model import (
    Direction,
    IPBlock,
    LabelSelector,
    Peer,
    Policy,
    PortSpec,
    Requirement,
    Rule,
)
from podwall.core.selectors import matches


@functools.lru_cache(maxsize=1 << 16)
def _requirements(sel: LabelSelector) -> frozenset[Requirement]:
    return frozenset(sel.requirements())


def selector_covers(outer: LabelSelector, inner: LabelSelector) -> bool:
    """Every label set ``inner`` matches, ``outer`` matches too (structurally)."""
    return _requirements(outer) <= _requirements(inner)


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
        if outer.ip_block is None or inner.ip_block is None:
            return False
        return _block_covers(outer.ip_block, inner.ip_block)
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
    if outer.ports:
        if not inner.ports:
            return False
        if not all(any(port_covers(o, s) for o in outer.ports) for s in inner.ports):
            return False
    if outer.peers:
        if not inner.peers:
            return False
        if not all(any(peer_covers(o, p, own_ns_labels) for o in outer.peers) for p in inner.peers):
            return False
    return True


def _remove_rule(pol: Policy, direction: Direction, rule: Rule) -> Policy:
    """``pol`` without ``rule``. A direction left without rules is dropped from policyTypes (an
    empty ``ingress`` would deny all ingress on its own; the shadowing policy isolates the pods
    anyway); a policy left with no direction is empty, and the fix deletes it."""
    rules = list(pol.rules(direction))
    for k in range(len(rules) - 1, -1, -1):
        if rules[k] == rule:
            del rules[k]
            break
    out = with_rules(pol, direction, tuple(rules))
    if not rules and direction in out.policy_types:
        out = dataclasses.replace(out, policy_types=out.policy_types - {direction})
    return out


def removal_fix(pol: Policy, direction: Direction, i: int, rule: Rule) -> Fix:
    """Remove a rule that does nothing; delete the policy when nothing is left of it."""
    order = (9, 0 if direction is Direction.INGRESS else 1, -i)

    def apply(p: Policy) -> Policy:
        return _remove_rule(p, direction, rule)

    new = apply(pol)
    if not new.policy_types:
        return deletion(pol, order=order, apply=apply)
    return replacement(pol, new, order=order, apply=apply)


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
        rule=RuleId.SHADOWED_RULE,
        message=f"NetworkPolicy {pol.key} {direction_key(direction)} rule #{i + 1} is shadowed by {other}, which "
        f"allows every connection it allows for the same pods: removing it changes nothing{extra}",
        hint="delete the rule, or narrow the broader one if it allows more than intended",
        locations=(ctx.rule_loc(pol, direction, i), ctx.rule_loc(opol, direction, oi)),
        namespace=pol.namespace,
        policy=pol.key,
        fix=removal_fix(pol, direction, i, rule),
    )
