"""Checks of rule peers: ``peer-matches-nothing``, ``and-or-confusion``, ``allow-all``,
``ipblock-covers-pods``, ``noncanonical-cidr``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import ipaddress
from collections.abc import Iterator

from podwall.core.lint.context import LintContext, direction_key, peer_key
from podwall.core.lint.findings import Finding, Fix, PolicyEdit
from podwall.core.lint.manifests import policy_yaml
from podwall.core.model import (
    Direction,
    Endpoint,
    IPBlock,
    LabelSelector,
    Peer,
    Policy,
    Protocol,
    Rule,
)
from podwall.core.peers import is_node_traffic
from podwall.core.selectors import matches

NS_NAME = "kubernetes.io/metadata.name"


def active_rules(ctx: LintContext) -> Iterator[tuple[Policy, Direction, int, Rule]]:
    """Rules that take effect: those of directions listed in their policy's policyTypes."""
    for pol in ctx.cluster.policies:
        for direction in (Direction.INGRESS, Direction.EGRESS):
            if direction not in pol.policy_types:
                continue
            for i, rule in enumerate(pol.rules(direction)):
                yield pol, direction, i, rule


def with_rules(pol: Policy, direction: Direction, rules: tuple[Rule, ...]) -> Policy:
    if direction is Direction.INGRESS:
        return dataclasses.replace(pol, ingress=rules)
    return dataclasses.replace(pol, egress=rules)


def replace_rule(pol: Policy, direction: Direction, index: int, rule: Rule) -> Policy:
    rules = list(pol.rules(direction))
    rules[index] = rule
    return with_rules(pol, direction, tuple(rules))


# -- peer-matches-nothing ----------------------------------------------------------------------
def _suggest(value: str, candidates: set[str]) -> str:
    near = difflib.get_close_matches(value, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean {near[0]}?" if near else ""


def _selector_hint(sel: LabelSelector, labelsets: list[dict[str, str]]) -> str:
    """``; did you mean app=backend?`` when a matchLabels value is close to one that exists."""
    for key, value in sel.match_labels:
        values = {ls[key] for ls in labelsets if key in ls}
        if value not in values:
            s = _suggest(value, values)
            if s:
                return s.replace("did you mean ", f"did you mean {key}=")
    return ""


def _judge_namespaces(ctx: LintContext, sel: LabelSelector) -> bool:
    """Whether the input tells which namespaces exist: it declares Namespaces, or it lists pods
    and the selector only uses the name label (which every namespace has)."""
    if any(ns.declared for ns in ctx.cluster.namespaces.values()):
        return True
    keys = {k for k, _ in sel.match_labels} | {r.key for r in sel.match_expressions}
    return ctx.inventory and keys <= {NS_NAME}


def _why_nothing(ctx: LintContext, pol: Policy, peer: Peer) -> str | None:
    """Why a selector peer matches nothing, or ``None`` if it matches something."""
    if peer.namespace_selector is not None:
        sel = peer.namespace_selector
        namespaces = [n for n, ns in ctx.cluster.namespaces.items() if matches(sel, ns.labels)]
        if not namespaces:
            if not _judge_namespaces(ctx, sel):
                return None
            hint = _selector_hint(sel, [dict(ns.labels) for ns in ctx.cluster.namespaces.values()])
            return f"namespaceSelector {sel} matches no namespace{hint}"
        if peer.pod_selector is None:
            return None
    else:
        namespaces = [pol.namespace]
    if not ctx.inventory or ctx.peer_targets(pol, peer):
        return None
    assert peer.pod_selector is not None
    scope = [e for n in namespaces for e in ctx.endpoints_by_ns.get(n, ())]
    where = f"namespace {namespaces[0]}" if len(namespaces) == 1 else f"namespaces {', '.join(namespaces)}"
    host = [e for e in scope if matches(peer.pod_selector, e.labels) and is_node_traffic(e, ctx.options)]
    if host:
        return (
            f"podSelector {peer.pod_selector} matches only hostNetwork pods in {where} ({host[0].key}), "
            "which selectors never match (their traffic is node traffic)"
        )
    hint = _selector_hint(peer.pod_selector, [dict(e.labels) for e in scope])
    return f"podSelector {peer.pod_selector} matches no pod in {where}{hint}"


def check_peers(ctx: LintContext) -> Iterator[Finding]:
    for pol, direction, i, rule in active_rules(ctx):
        pk = peer_key(direction)
        for j, peer in enumerate(rule.peers):
            if peer.ip_block is not None:
                continue
            why = _why_nothing(ctx, pol, peer)
            if why is None:
                continue
            yield Finding(
                rule="peer-matches-nothing",
                message=f"NetworkPolicy {pol.key} {direction_key(direction)} rule #{i + 1}, peer #{j + 1} "
                f"matches nothing: {why}",
                hint="check the labels against the pods and namespaces they are meant to match "
                "(a namespace is matched by its labels, e.g. kubernetes.io/metadata.name)",
                locations=(ctx.rule_loc(pol, direction, i, pk, j),),
                namespace=pol.namespace,
                policy=pol.key,
            )
        yield from _and_or(ctx, pol, direction, i, rule)
        yield from _allow_all(ctx, pol, direction, i, rule)


# -- and-or-confusion ----------------------------------------------------------------------------
def _merge_peers(pol: Policy, direction: Direction, i: int, ns_j: int, pod_j: int) -> Policy:
    rule = pol.rules(direction)[i]
    ns_peer, pod_peer = rule.peers[ns_j], rule.peers[pod_j]
    if ns_peer.pod_selector is not None or pod_peer.namespace_selector is not None:
        return pol  # an earlier edit changed the rule; leave it alone
    merged = Peer(namespace_selector=ns_peer.namespace_selector, pod_selector=pod_peer.pod_selector)
    peers = [p for k, p in enumerate(rule.peers) if k not in (ns_j, pod_j)]
    peers.insert(min(ns_j, pod_j), merged)
    return replace_rule(pol, direction, i, dataclasses.replace(rule, peers=tuple(peers)))


def _and_or(ctx: LintContext, pol: Policy, direction: Direction, i: int, rule: Rule) -> Iterator[Finding]:
    ns_only = [
        j for j, p in enumerate(rule.peers) if p.ip_block is None and p.pod_selector is None and p.namespace_selector
    ]
    pod_only = [
        j for j, p in enumerate(rule.peers) if p.ip_block is None and p.namespace_selector is None and p.pod_selector
    ]
    if not ns_only or not pod_only:
        return
    a, b = ns_only[0], pod_only[0]
    ns_sel, pod_sel = rule.peers[a].namespace_selector, rule.peers[b].pod_selector
    merged = Peer(namespace_selector=ns_sel, pod_selector=pod_sel)
    counts = ""
    if ctx.inventory:
        written = {id(e) for p in (rule.peers[a], rule.peers[b]) for e in ctx.peer_targets(pol, p)}
        meant = ctx.peer_targets(pol, merged)
        counts = (
            f"; as written it admits {len(written)} pod(s)/workload(s), as one peer it would admit {len(meant)}"
        )
    fixed = _merge_peers(pol, direction, i, a, b)
    yield Finding(
        rule="and-or-confusion",
        message=f"NetworkPolicy {pol.key} {direction_key(direction)} rule #{i + 1} has two peers, "
        f"namespaceSelector {ns_sel} and podSelector {pod_sel}: they are ORed (every pod of those "
        f"namespaces, plus those pods of namespace {pol.namespace}), not ANDed{counts}",
        hint=f"if you meant pods matching {pod_sel} in namespaces matching {ns_sel}, write both selectors in "
        f"one list item (remove the '-' before podSelector); if the OR is intended, silence this rule",
        locations=(ctx.rule_loc(pol, direction, i, peer_key(direction)),),
        namespace=pol.namespace,
        policy=pol.key,
        fix=Fix(
            name=f"{pol.namespace}.{pol.name}",
            yaml=policy_yaml(fixed),
            edit=PolicyEdit(
                policy=pol,
                order=(3, 0 if direction is Direction.INGRESS else 1, -i),
                apply=functools.partial(_merge_peers, direction=direction, i=i, ns_j=a, pod_j=b),
            ),
        ),
    )


# -- allow-all -------------------------------------------------------------------------------------
def _all_ports(rule: Rule) -> bool:
    if not rule.ports:
        return True
    whole = {s.protocol for s in rule.ports if s.port is None}
    return whole >= {Protocol.TCP, Protocol.UDP, Protocol.SCTP}


def _all_peers(rule: Rule) -> bool:
    if not rule.peers:
        return True
    all_pods = any(
        p.ip_block is None
        and p.namespace_selector is not None
        and p.namespace_selector.is_empty
        and (p.pod_selector is None or p.pod_selector.is_empty)
        for p in rule.peers
    )
    everywhere = any(
        p.ip_block is not None and p.ip_block.network.prefixlen == 0 and not p.ip_block.excepts for p in rule.peers
    )
    return all_pods and everywhere


def _allow_all(ctx: LintContext, pol: Policy, direction: Direction, i: int, rule: Rule) -> Iterator[Finding]:
    if not (_all_ports(rule) and _all_peers(rule)):
        return
    side = "source" if direction is Direction.INGRESS else "destination"
    yield Finding(
        rule="allow-all",
        message=f"NetworkPolicy {pol.key} {direction_key(direction)} rule #{i + 1} admits every {side} on every "
        f"port: the pods it selects are as open for {direction_key(direction)} as without any policy",
        hint=f"list the {side}s and ports that are needed; if allowing everything is the intent, silence this "
        "rule with the annotation podwall.io/lint-ignore: allow-all",
        locations=(ctx.rule_loc(pol, direction, i),),
        namespace=pol.namespace,
        policy=pol.key,
    )


# -- ipBlock ---------------------------------------------------------------------------------------------
def canonical_cidr(cidr: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """False for host bits set (10.0.0.5/24) or leading zeros (010.0.0.0/8, 10.0.0.0/08)."""
    addr, _, prefix = cidr.partition("/")
    if len(prefix) > 1 and prefix.startswith("0"):
        return False
    if ":" not in addr and any(len(o) > 1 and o.startswith("0") for o in addr.split(".")):
        return False
    try:
        return ipaddress.ip_address(addr) == network.network_address
    except ValueError:
        return False


def _canonical_block(block: IPBlock) -> IPBlock:
    return dataclasses.replace(
        block,
        cidr=str(block.network),
        excepts=tuple(str(n) for n in block.except_networks),
    )


def _fix_cidrs(pol: Policy) -> Policy:
    for direction in (Direction.INGRESS, Direction.EGRESS):
        for i, rule in enumerate(pol.rules(direction)):
            peers = tuple(
                dataclasses.replace(p, ip_block=_canonical_block(p.ip_block)) if p.ip_block is not None else p
                for p in rule.peers
            )
            if peers != rule.peers:
                pol = replace_rule(pol, direction, i, dataclasses.replace(rule, peers=peers))
    return pol


def check_ipblocks(ctx: LintContext) -> Iterator[Finding]:
    pods = [e for e in ctx.cluster.endpoints if e.ips and not is_node_traffic(e, ctx.options)]
    for pol in ctx.cluster.policies:
        for direction in (Direction.INGRESS, Direction.EGRESS):
            active = direction in pol.policy_types
            for i, rule in enumerate(pol.rules(direction)):
                for j, peer in enumerate(rule.peers):
                    block = peer.ip_block
                    if block is None:
                        continue
                    path = (peer_key(direction), j, "ipBlock")
                    bad = [
                        (s, str(n))
                        for s, n in (
                            (block.cidr, block.network),
                            *zip(block.excepts, block.except_networks, strict=False),
                        )
                        if not canonical_cidr(s, n)
                    ]
                    if bad:
                        what = ", ".join(f"{s} (read as {n})" for s, n in bad)
                        yield Finding(
                            rule="noncanonical-cidr",
                            message=f"NetworkPolicy {pol.key} {direction_key(direction)} rule #{i + 1}: {what}: host "
                            "bits set or leading zeros; the API server silently masks them",
                            hint="write the network address: " + ", ".join(n for _, n in bad),
                            locations=(ctx.rule_loc(pol, direction, i, *path, "cidr"),),
                            namespace=pol.namespace,
                            policy=pol.key,
                            fix=Fix(
                                name=f"{pol.namespace}.{pol.name}",
                                yaml=policy_yaml(_fix_cidrs(pol)),
                                edit=PolicyEdit(policy=pol, order=(2,), apply=_fix_cidrs),
                            ),
                        )
                    if not active:
                        continue
                    inside = [e for e in pods if any(block.contains(a) for a in e.addresses)]
                    if inside:
                        yield _covers_pods(ctx, pol, direction, i, path, block, inside)


def _covers_pods(
    ctx: LintContext, pol: Policy, direction: Direction, i: int, path: tuple[str | int, ...], block: IPBlock,
    inside: list[Endpoint],
) -> Finding:
    names = ", ".join(e.key for e in inside[:3]) + (f" and {len(inside) - 3} more" if len(inside) > 3 else "")
    reading = "matches them" if ctx.options.ipblock_matches_pods else "does not match them"
    return Finding(
        rule="ipblock-covers-pods",
        message=f"NetworkPolicy {pol.key} {direction_key(direction)} rule #{i + 1}: ipBlock {block} contains the IPs "
        f"of {len(inside)} pods/workloads ({names}); whether it matches them depends on the CNI (podwall's "
        f"current reading: it {reading})",
        hint="match pods with podSelector/namespaceSelector, and add the pod CIDR to the ipBlock's except list "
        "so the rule means the same on every CNI",
        locations=(ctx.rule_loc(pol, direction, i, *path),),
        namespace=pol.namespace,
        policy=pol.key,
    )
