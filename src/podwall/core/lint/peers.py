"""Checks of rule peers: ``peer-matches-nothing``, ``and-or-confusion``, ``allow-all``,
``ipblock-covers-pods``, ``noncanonical-cidr``.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
from collections.abc import Iterator

from podwall.core.lint.context import LintContext, direction_key, peer_key
from podwall.core.lint.documents import NS_NAME
from podwall.core.lint.findings import Finding, replacement
from podwall.core.lint.rules import RuleId
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
        namespaces = ctx.namespaces_matching(sel)
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
                rule=RuleId.PEER_MATCHES_NOTHING,
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
def _and_or(ctx: LintContext, pol: Policy, direction: Direction, i: int, rule: Rule) -> Iterator[Finding]:
    """A namespaceSelector-only peer next to a podSelector-only peer whose pods live only there.

    Two such peers are an OR, and the Kubernetes documentation writes exactly that on purpose
    (``test-network-policy``: an ipBlock, a namespaceSelector and a podSelector, three sources).
    The finding needs evidence that an AND was meant: the podSelector matches no pod of the
    policy's own namespace (so, as written, it admits nothing) but does match pods in the
    namespaces the namespaceSelector selects. Without pods in the input there is no evidence,
    and no finding. Merging the peers changes what the rule allows, so there is no fix: the hint
    shows the one-peer form.
    """
    if not ctx.inventory:
        return
    ns_only = [
        j for j, p in enumerate(rule.peers) if p.ip_block is None and p.pod_selector is None and p.namespace_selector
    ]
    pod_only = [
        j for j, p in enumerate(rule.peers) if p.ip_block is None and p.namespace_selector is None and p.pod_selector
    ]
    for a in ns_only:
        for b in pod_only:
            ns_sel, pod_sel = rule.peers[a].namespace_selector, rule.peers[b].pod_selector
            assert ns_sel is not None and pod_sel is not None
            if ctx.peer_targets(pol, rule.peers[b]):
                continue  # it selects pods of the policy's namespace: an OR is plausible
            meant = ctx.peer_targets(pol, Peer(namespace_selector=ns_sel, pod_selector=pod_sel))
            if not meant:
                continue
            yield _and_or_finding(ctx, pol, direction, i, ns_sel, pod_sel, meant.count)
            return


def _and_or_finding(
    ctx: LintContext, pol: Policy, direction: Direction, i: int, ns_sel: LabelSelector, pod_sel: LabelSelector,
    n_meant: int,
) -> Finding:
    pk = peer_key(direction)
    return Finding(
        rule=RuleId.AND_OR_CONFUSION,
        message=f"NetworkPolicy {pol.key} {direction_key(direction)} rule #{i + 1} has two peers, "
        f"namespaceSelector {ns_sel} and podSelector {pod_sel}: they are ORed (every pod of those "
        f"namespaces, plus those pods of namespace {pol.namespace}), not ANDed; podSelector {pod_sel} matches "
        f"no pod of namespace {pol.namespace}, but {n_meant} pod(s)/workload(s) in the selected namespaces",
        hint=f"if you meant pods matching {pod_sel} in namespaces matching {ns_sel}, write both selectors in "
        f"one {pk} item (remove the '-' before podSelector); this changes what the rule allows, so "
        "podwall does not apply it for you. If the OR is intended, silence this rule",
        locations=(ctx.rule_loc(pol, direction, i, pk),),
        namespace=pol.namespace,
        policy=pol.key,
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
        rule=RuleId.ALLOW_ALL,
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
    for pol in ctx.cluster.policies:
        for direction in (Direction.INGRESS, Direction.EGRESS):
            active = direction in pol.policy_types
            for i, rule in enumerate(pol.rules(direction)):
                for j, peer in enumerate(rule.peers):
                    block = peer.ip_block
                    if block is None:
                        continue
                    path = (peer_key(direction), j, "ipBlock")
                    written = ((block.cidr, block.network), *zip(block.excepts, block.except_networks, strict=True))
                    bad = [(s, str(n)) for s, n in written if not canonical_cidr(s, n)]
                    if bad:
                        what = ", ".join(f"{s} (read as {n})" for s, n in bad)
                        yield Finding(
                            rule=RuleId.NONCANONICAL_CIDR,
                            message=f"NetworkPolicy {pol.key} {direction_key(direction)} rule #{i + 1}: {what}: host "
                            "bits set or leading zeros; the API server silently masks them",
                            hint="write the network address: " + ", ".join(n for _, n in bad),
                            locations=(ctx.rule_loc(pol, direction, i, *path, "cidr"),),
                            namespace=pol.namespace,
                            policy=pol.key,
                            fix=replacement(pol, _fix_cidrs(pol), order=(2,), apply=_fix_cidrs),
                        )
                    if not active:
                        continue
                    inside = [e for e in ctx.addresses.inside(block) if not is_node_traffic(e, ctx.options)]
                    if inside:
                        yield _covers_pods(ctx, pol, direction, i, path, block, inside)


def _covers_pods(
    ctx: LintContext, pol: Policy, direction: Direction, i: int, path: tuple[str | int, ...], block: IPBlock,
    inside: list[Endpoint],
) -> Finding:
    names = ", ".join(e.key for e in inside[:3]) + (f" and {len(inside) - 3} more" if len(inside) > 3 else "")
    reading = "matches them" if ctx.options.ipblock_matches_pods else "does not match them"
    return Finding(
        rule=RuleId.IPBLOCK_COVERS_PODS,
        message=f"NetworkPolicy {pol.key} {direction_key(direction)} rule #{i + 1}: ipBlock {block} contains the IPs "
        f"of {len(inside)} pods/workloads ({names}); whether it matches them depends on the CNI (podwall's "
        f"current reading: it {reading})",
        hint="match pods with podSelector/namespaceSelector, and add the pod CIDR to the ipBlock's except list "
        "so the rule means the same on every CNI",
        locations=(ctx.rule_loc(pol, direction, i, *path),),
        namespace=pol.namespace,
        policy=pol.key,
    )
