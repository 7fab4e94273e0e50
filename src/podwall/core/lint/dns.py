"""``dns-egress-blocked`` and ``dns-tcp-missing``, decided by the engine's real verdicts.

The DNS servers are the kube-dns / CoreDNS pods of the input (``k8s-app=kube-dns`` or
``coredns``, or ``app.kubernetes.io/name`` the same), plus NodeLocal DNSCache's link-local
address when a ``node-local-dns`` DaemonSet is present. A pod can resolve names when the engine
allows its connection to at least one of them on UDP 53. When the input has no DNS pods, any
egress rule that admits UDP 53 to some destination counts.

Verdicts are memoised per class of pods (namespace, labels, IPs): pods of one workload cost one
evaluation, so the check is linear in the number of pods.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence

from podwall.core.evaluate import Engine
from podwall.core.lint.context import LintContext, describe
from podwall.core.lint.documents import dns_egress
from podwall.core.lint.findings import Change, Effect, Finding, Fix, Location, creation
from podwall.core.lint.rules import RuleId
from podwall.core.model import (
    Address,
    ContainerPort,
    Direction,
    Endpoint,
    IPBlock,
    Policy,
    Protocol,
    Target,
)
from podwall.core.ports import ports_match
from podwall.core.selectors import matches

DNS_APPS = frozenset({"kube-dns", "coredns"})
NODELOCAL_DNS_IP = "169.254.20.10"

_HYPOTHETICAL_DNS = Endpoint(
    kind="Pod",
    namespace="kube-system",
    name="(any DNS server)",
    ports=(
        ContainerPort(port=53, protocol=Protocol.UDP, name="dns"),
        ContainerPort(port=53, protocol=Protocol.TCP, name="dns-tcp"),
    ),
)


def is_dns_server(ep: Endpoint) -> bool:
    return ep.labels.get("k8s-app") in DNS_APPS or ep.labels.get("app.kubernetes.io/name") in DNS_APPS


def dns_targets(ctx: LintContext) -> list[Target]:
    targets: list[Target] = [e for e in ctx.cluster.endpoints if is_dns_server(e)]
    if any(e.labels.get("k8s-app") == "node-local-dns" for e in ctx.cluster.endpoints):
        targets.append(Address(ip=ipaddress.ip_address(NODELOCAL_DNS_IP)))
    return targets


def _dns_peer_labels(servers: Sequence[Target]) -> tuple[str, tuple[tuple[str, str], ...]]:
    for s in servers:
        if isinstance(s, Endpoint):
            for key in ("k8s-app", "app.kubernetes.io/name"):
                if key in s.labels:
                    return s.namespace, ((key, s.labels[key]),)
    return "kube-system", (("k8s-app", "kube-dns"),)


def _any_rule_admits(engine: Engine, ep: Endpoint, protocol: Protocol) -> bool:
    return any(
        ports_match(rule.ports, 53, protocol, _HYPOTHETICAL_DNS)
        for pol in engine.selecting(ep, Direction.EGRESS)
        for rule in pol.egress
    )


def _resolves(engine: Engine, ep: Endpoint, servers: Sequence[Target]) -> bool:
    """Whether ``ep`` reaches DNS on UDP and TCP 53 (some server, or some rule without servers)."""
    if not servers:
        return all(_any_rule_admits(engine, ep, p) for p in (Protocol.UDP, Protocol.TCP))
    return all(any(engine.allowed(ep, s, 53, p) for s in servers) for p in (Protocol.UDP, Protocol.TCP))


def check_dns(ctx: LintContext) -> Iterator[Finding]:
    servers = dns_targets(ctx)
    dns_ns, dns_labels = _dns_peer_labels(servers)
    memo: dict[tuple[object, ...], tuple[bool, bool, str, bool]] = {}
    selecting: dict[tuple[object, ...], tuple[Policy, ...]] = {}
    blocks = _server_blocks(ctx, servers)
    fixes: dict[int, Fix] = {}
    helped: dict[int, list[Endpoint]] = {}
    for ep in ctx.all_pods():
        if is_dns_server(ep):
            continue
        # pods with the same namespace and labels are selected by the same policies; a pod's
        # address matters only to the ipBlocks of the DNS pods' ingress rules
        labels = (ep.namespace, tuple(sorted(ep.labels.items())))
        isolating = selecting.get(labels)
        if isolating is None:
            isolating = selecting[labels] = ctx.engine.selecting(ep, Direction.EGRESS)
        if not isolating:
            continue
        inside = tuple(b for b in blocks if any(b.contains(a) for a in ep.addresses)) if blocks else ()
        key = (labels, inside)
        result = memo.get(key)
        if result is None:
            result = _evaluate(ctx, ep, servers)
            memo[key] = result
        udp_ok, tcp_ok, reason, egress_blocks = result
        if udp_ok and tcp_ok:
            continue
        first = isolating[0]
        fix = None
        if egress_blocks:
            fix = fixes.get(id(first))
            if fix is None:
                pods = helped[id(first)] = []
                fix = fixes[id(first)] = _fix(first, dns_ns, dns_labels, pods, servers)
            helped[id(first)].append(ep)
        where = "to " + ", ".join(_name(s) for s in servers[:2]) if servers else "to any destination"
        if not udp_ok:
            rule = RuleId.DNS_EGRESS_BLOCKED
            message = f"{describe(ep)} cannot resolve names: DNS on UDP 53 {where} is blocked: {reason}"
        else:
            rule = RuleId.DNS_TCP_MISSING
            message = (
                f"{describe(ep)} may reach DNS on UDP 53 but not on TCP 53 {where}: "
                f"answers too large for UDP will fail: {reason}"
            )
        ingress_too = "denied at the DNS pods' ingress" in reason
        hint = (
            f"allow egress to the DNS pods ({dns_ns}, {', '.join(f'{k}={v}' for k, v in dns_labels)}) on UDP and "
            f"TCP 53, in a policy that selects the pods of {first.key}"
            + ("; the DNS pods are isolated for ingress too: their policies must admit this pod" if ingress_too else "")
            if egress_blocks
            else "the DNS pods are isolated for ingress: their policies must admit this pod on UDP and TCP 53"
        )
        yield Finding(
            rule=rule,
            message=message,
            hint=hint,
            locations=(_policy_loc(ctx, first), ctx.endpoint_loc(ep)),
            namespace=ep.namespace,
            policy=first.key,
            endpoint=ep.key,
            fix=fix,
        )


def _server_blocks(ctx: LintContext, servers: Sequence[Target]) -> list[IPBlock]:
    """The ipBlocks that can decide whether a DNS server's ingress admits a pod."""
    seen: dict[IPBlock, None] = {}
    for s in servers:
        if isinstance(s, Endpoint):
            for pol in ctx.engine.selecting(s, Direction.INGRESS):
                for rule in pol.ingress:
                    for peer in rule.peers:
                        if peer.ip_block is not None:
                            seen[peer.ip_block] = None
    return list(seen)


def _name(t: Target) -> str:
    return f"{t.namespace}/{t.name}" if isinstance(t, Endpoint) else t.key


def _policy_loc(ctx: LintContext, pol: Policy) -> Location:
    if pol.egress:
        return ctx.policy_loc(pol, "spec", "egress")
    if pol.policy_types_explicit:
        return ctx.policy_loc(pol, "spec", "policyTypes")
    return ctx.policy_loc(pol, "spec")


def _evaluate(ctx: LintContext, ep: Endpoint, servers: list[Target]) -> tuple[bool, bool, str, bool]:
    """``(udp allowed, tcp allowed, reason for the first blocked protocol, egress side blocks)``."""
    if not servers:
        udp = _any_rule_admits(ctx.engine, ep, Protocol.UDP)
        tcp = _any_rule_admits(ctx.engine, ep, Protocol.TCP)
        missing = "UDP" if not udp else "TCP"
        return udp, tcp, f"no egress rule allows {missing} 53 (the input has no kube-dns/CoreDNS pods)", True
    eng = ctx.engine
    udp = any(eng.allowed(ep, s, 53, Protocol.UDP) for s in servers)
    tcp = any(eng.allowed(ep, s, 53, Protocol.TCP) for s in servers)
    if udp and tcp:
        return True, True, "", False
    proto = Protocol.UDP if not udp else Protocol.TCP
    verdicts = [eng.verdict(ep, s, 53, proto) for s in servers]
    egress_blocks = not any(v.egress.allowed for v in verdicts)
    reason = verdicts[0].reason()
    if egress_blocks and not any(v.ingress.allowed for v in verdicts):
        reason += "; and denied at the DNS pods' ingress"
    return udp, tcp, reason, egress_blocks


def _fix(
    pol: Policy,
    dns_ns: str,
    dns_labels: tuple[tuple[str, str], ...],
    pods: list[Endpoint],
    servers: Sequence[Target],
) -> Fix:
    """A DNS egress policy for the pods ``pol`` isolates. It may only allow, only from those pods,
    only on 53; and every pod it is offered for (``pods``, filled in as they are found) must then
    resolve names: when the DNS pods' own ingress denies them, it would not help, and it is not
    offered."""
    name = f"{pol.name}-allow-dns"
    new = dns_egress(pol.namespace, name, pol.pod_selector, dns_ns, dns_labels)

    def selected(e: Endpoint) -> bool:
        return e.namespace == pol.namespace and matches(pol.pod_selector, e.labels)

    def goal(engine: Engine) -> bool:
        return all(_resolves(engine, ep, servers) for ep in pods)

    change = Change(
        effect=Effect.OPEN,
        src=selected,
        ports=frozenset({(Protocol.UDP, 53), (Protocol.TCP, 53)}),
        goal=goal,
    )
    return creation(new, change)
