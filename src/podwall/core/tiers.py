"""Cluster-wide policy tiers: which Admin or Baseline rule decides a direction of a connection.

Semantics (``policy.networking.k8s.io``: ``apis/v1alpha2/clusternetworkpolicy_types.go`` and
``site-src/api-overview.md``; v1alpha1 AdminNetworkPolicy/BaselineAdminNetworkPolicy alike):

* Per direction (egress at the source, ingress at the destination; both must allow), the tiers
  are evaluated in order **Admin -> NetworkPolicy -> Baseline -> allow**.
* Within a tier, the policies whose subject selects the pod, by ascending ``priority``; two of
  one tier with the same priority are ordered by name (upstream leaves it undefined; this is what
  kube-network-policies does, :class:`~podwall.core.model.TierTieBreak`). Within a policy, its
  rules in written order. The **first rule that matches decides**: ``Accept`` allows and
  ``Deny`` denies (both final for that direction; an egress Accept still needs ingress at the
  destination), ``Pass`` skips the rest of the tier.
* Admin Pass, or no Admin match: NetworkPolicy decides if the pod is isolated for the
  direction (a Baseline never overrides it); otherwise the Baseline tier (``Pass`` and no match
  allow).
* Subjects and ``namespaces``/``pods`` peers never select host-network pods (whatever
  ``Options.host_network`` says: the API documents it). ``networks`` match any IP, pods'
  included (so a host-network pod, through its node IP). ``nodes`` match the InternalIP and
  ExternalIP addresses of the selected Node objects. ``domainNames`` match only through
  ``Options.domain_addresses``; a rule whose names are all unknown there cannot be decided
  offline: it is read as not matching, and the direction carries a note saying so.
* Ports: a number or an inclusive range matches only with its protocol; a named port (no protocol
  in v1alpha2) matches when the destination pod declares a container port of that name with the
  connection's number and protocol. No ``ports``/``protocols``: every port of every protocol.
* A pod connecting to itself is exempt (``Verdict.self_traffic``; handled by ``evaluate``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from podwall.core.model import (
    Address,
    Cluster,
    Direction,
    Endpoint,
    IPAddress,
    IPNetwork,
    Node,
    Options,
    Protocol,
    Target,
    Tier,
    TierAction,
    TierPeer,
    TierPolicy,
    TierPort,
    TierRule,
)
from podwall.core.selectors import matches


@dataclass(frozen=True, kw_only=True)
class TierRuleRef:
    """A cluster-wide rule that matched a connection (and what it did)."""

    tier: Tier
    policy: str
    """The policy's key, ``ClusterNetworkPolicy/name``."""
    name: str
    """How explanations name the policy: the name of a ClusterNetworkPolicy, else the key."""
    priority: int
    direction: Direction
    rule: int
    """0-based index in the policy's ingress or egress list."""
    rule_name: str
    action: TierAction

    def __str__(self) -> str:
        rule = f"rule #{self.rule + 1}" + (f" ({self.rule_name})" if self.rule_name else "")
        return f"[{self.tier}] {self.name} priority {self.priority} {rule} {self.action}"


@dataclass(frozen=True, kw_only=True)
class TierMatch:
    """The result of one tier for one direction: the first matching rule, if any."""

    ref: TierRuleRef | None = None
    notes: tuple[str, ...] = ()
    """Rules that could not be decided offline (``domainNames`` without addresses)."""

    @property
    def final(self) -> bool:
        """Accept or Deny: nothing after this tier is evaluated for the direction."""
        return self.ref is not None and self.ref.action is not TierAction.PASS


def display_name(policy: TierPolicy) -> str:
    return policy.name if policy.api_kind == "ClusterNetworkPolicy" else policy.key


def port_matches(tp: TierPort, port: int, protocol: Protocol, dst: Target) -> bool:
    """Whether one ``protocols``/``ports`` entry admits ``protocol/port`` towards ``dst``."""
    if tp.named is not None:
        if not isinstance(dst, Endpoint):
            return False
        return any(
            cp.name == tp.named and cp.port == port and cp.protocol is protocol
            and (tp.protocol is None or tp.protocol is protocol)
            for cp in dst.ports
        )
    if tp.protocol is not protocol or tp.port is None:
        return False
    if tp.end_port is not None:
        return tp.port <= port <= tp.end_port
    return tp.port == port


def ports_match(ports: tuple[TierPort, ...] | None, port: int, protocol: Protocol, dst: Target) -> bool:
    """A rule's ports: ``None`` admits everything; an empty tuple (only unusable entries) nothing."""
    if ports is None:
        return True
    return any(port_matches(p, port, protocol, dst) for p in ports)


def domain_matches(pattern: str, name: str) -> bool:
    """``DomainName`` matching: exact (case-insensitive, trailing dot ignored), or ``*.`` + suffix
    for one or more whole labels (``*.k8s.io`` matches ``a.b.k8s.io``, not ``k8s.io``)."""
    p = pattern.lower().rstrip(".")
    n = name.lower().rstrip(".")
    if p.startswith("*."):
        return n.endswith(p[1:]) and len(n) > len(p) - 1
    return p == n


def _ips(t: Target) -> tuple[IPAddress, ...]:
    return (t.ip,) if isinstance(t, Address) else t.addresses


class TierEngine:
    """The cluster-wide policies of a cluster, indexed for per-direction evaluation."""

    def __init__(self, cluster: Cluster, options: Options) -> None:
        self.cluster = cluster
        self.options = options
        ordered = sorted(cluster.tier_policies, key=TierPolicy.sort_key)
        self.by_tier: Mapping[Tier, tuple[TierPolicy, ...]] = {
            t: tuple(p for p in ordered if p.tier is t) for t in Tier
        }
        self.active = bool(ordered)
        self._nodes: tuple[tuple[Node, frozenset[IPAddress]], ...] = tuple(
            (n, frozenset(n.ip_addresses)) for n in cluster.nodes
        )
        self._domains: tuple[tuple[str, frozenset[IPAddress]], ...] = tuple(
            (name, frozenset(ipaddress.ip_address(a) for a in addrs))
            for name, addrs in options.domain_addresses.items()
        )
        self._subject: dict[tuple[Endpoint, Tier], tuple[TierPolicy, ...]] = {}

    # -- selection -----------------------------------------------------------------------
    def selects(self, policy: TierPolicy, ep: Endpoint) -> bool:
        """Whether ``policy``'s subject selects ``ep`` (never a host-network pod)."""
        if ep.host_network:
            return False
        subj = policy.subject
        if not matches(subj.namespace_selector, self.cluster.namespace_labels(ep.namespace)):
            return False
        return subj.pod_selector is None or matches(subj.pod_selector, ep.labels)

    def subject_of(self, ep: Endpoint, tier: Tier) -> tuple[TierPolicy, ...]:
        """The policies of ``tier`` that select ``ep``, in evaluation order."""
        key = (ep, tier)
        hit = self._subject.get(key)
        if hit is None:
            hit = self._subject[key] = tuple(p for p in self.by_tier[tier] if self.selects(p, ep))
        return hit

    # -- peers -----------------------------------------------------------------------------
    def node_addresses(self, peer: TierPeer) -> frozenset[IPAddress]:
        sel = peer.node_selector
        assert sel is not None
        out: set[IPAddress] = set()
        for node, addrs in self._nodes:
            if matches(sel, node.labels):
                out |= addrs
        return frozenset(out)

    def domain_addresses(self, peer: TierPeer) -> tuple[frozenset[IPAddress], bool]:
        """The addresses the peer's names resolve to in the options' map, and whether any name is
        known there (a key equal to the name as written, or a concrete name the pattern matches)."""
        out: set[IPAddress] = set()
        known = False
        for pattern in peer.domain_names:
            for name, addrs in self._domains:
                if name.lower().rstrip(".") == pattern.lower().rstrip(".") or domain_matches(pattern, name):
                    out |= addrs
                    known = True
        return frozenset(out), known

    def peer_matches(self, peer: TierPeer, other: Target, notes: list[str] | None = None) -> bool:
        """Whether ``peer`` matches the other end ``other``."""
        kind = peer.kind
        if kind in ("namespaces", "pods"):
            if not isinstance(other, Endpoint) or other.host_network:
                return False
            assert peer.namespace_selector is not None
            if not matches(peer.namespace_selector, self.cluster.namespace_labels(other.namespace)):
                return False
            return kind == "namespaces" or (peer.pod_selector is not None and matches(peer.pod_selector, other.labels))
        ips = _ips(other)
        if kind == "networks":
            return any(a.version == n.network.version and a in n.network for a in ips for n in peer.networks)
        if kind == "nodes":
            node_ips = self.node_addresses(peer)
            return any(a in node_ips for a in ips)
        addrs, known = self.domain_addresses(peer)
        if not known:
            if notes is not None:
                notes.append(
                    f"domainNames {', '.join(peer.domain_names)} cannot be decided offline "
                    "(no addresses given for them; read as not matching)"
                )
            return False
        return any(a in addrs for a in ips)

    def rule_matches(
        self,
        rule: TierRule,
        other: Target,
        dst: Target,
        port: int,
        protocol: Protocol,
        notes: list[str] | None = None,
    ) -> bool:
        if not ports_match(rule.ports, port, protocol, dst):
            return False
        return any(self.peer_matches(p, other, notes) for p in rule.peers)

    # -- one tier, one direction ------------------------------------------------------------------
    def first_match(
        self,
        tier: Tier,
        direction: Direction,
        subject: Target,
        other: Target,
        dst: Target,
        port: int,
        protocol: Protocol,
    ) -> TierMatch:
        """The first rule of ``tier`` that matches, for ``direction`` at ``subject``."""
        if not isinstance(subject, Endpoint) or not self.by_tier[tier]:
            return TierMatch()
        notes: list[str] = []
        for pol in self.subject_of(subject, tier):
            for rule in pol.rules(direction):
                before = len(notes)
                if self.rule_matches(rule, other, dst, port, protocol, notes):
                    return TierMatch(ref=ref_of(pol, rule, direction), notes=tuple(notes))
                if len(notes) > before:
                    notes[before:] = [f"{ref_of(pol, rule, direction)}: {n}" for n in notes[before:]]
        return TierMatch(notes=tuple(notes))


def peer_networks(cluster: Cluster, options: Options, peer: TierPeer) -> list[IPNetwork] | None:
    """The networks an address-matching peer stands for; ``None`` for a domainNames peer whose
    names are all unknown (it matches nothing, as :meth:`TierEngine.peer_matches` decides)."""
    if peer.kind == "networks":
        return [n.network for n in peer.networks]
    if peer.kind == "nodes":
        assert peer.node_selector is not None
        return [
            ipaddress.ip_network(a) for n in cluster.nodes if matches(peer.node_selector, n.labels) for a in n.addresses
        ]
    known = False
    nets: list[IPNetwork] = []
    for pattern in peer.domain_names:
        for name, addrs in options.domain_addresses.items():
            if name.lower().rstrip(".") == pattern.lower().rstrip(".") or domain_matches(pattern, name):
                known = True
                nets.extend(ipaddress.ip_network(a) for a in addrs)
    return nets if known else None


def ref_of(pol: TierPolicy, rule: TierRule, direction: Direction) -> TierRuleRef:
    return TierRuleRef(
        tier=pol.tier,
        policy=pol.key,
        name=display_name(pol),
        priority=pol.priority,
        direction=direction,
        rule=rule.index,
        rule_name=rule.name,
        action=rule.action,
    )


def ordered(policies: Sequence[TierPolicy]) -> tuple[TierPolicy, ...]:
    """Policies in evaluation order (tier, priority, then name)."""
    return tuple(sorted(policies, key=TierPolicy.sort_key))


__all__ = [
    "TierEngine",
    "TierMatch",
    "TierRuleRef",
    "domain_matches",
    "ordered",
    "peer_networks",
    "port_matches",
    "ports_match",
    "ref_of",
]
