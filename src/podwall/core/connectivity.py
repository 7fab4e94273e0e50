"""The exact set of allowed connections between two endpoints, over the whole port space.

For an ordered pair (source, destination) the answer is a :class:`~podwall.core.portsets.PortSet`:
egress allowed at the source intersected with ingress allowed at the destination, where each
direction is "everything" when the endpoint is not isolated for it (or is not governed by
NetworkPolicy: an address outside the cluster, node traffic), and otherwise the union, over the
rules of the policies that select it whose peers match the other end, of the rule's ports:

* no ``ports``: every port of every protocol;
* a ``port`` without ``endPort``: that port; with ``endPort``: the range ``port..endPort``;
* no ``port``: every port of the entry's protocol;
* a named ``port``: the numbers the *destination* declares under that name and protocol (none
  for an address outside the cluster).

With cluster-wide policies (:mod:`podwall.core.tiers`), each direction is decided by tier over
the port space: the Admin rules of the policies selecting the endpoint, first match first, each
taking the part of the port space that no earlier rule took (``Accept`` allows it, ``Deny``
denies it, ``Pass`` hands it down); what Admin left undecided goes to NetworkPolicy when the
endpoint is isolated for the direction, else to the Baseline rules the same way (``Pass`` and
no match allow). A host-network pod is never a tier subject.

A pod always reaches itself (every port). This module is the per-pair form, built on
:class:`~podwall.core.evaluate.Engine` (its policy selection and peer matching); the class-based
form that scales is :mod:`podwall.core.matrix_ports`, tested against this one and against
per-port :meth:`Engine.allowed`.

Addresses outside the cluster are covered by :class:`AddressRange`\\ s: the address space split
at every ``ipBlock`` boundary (cidr and except) of the policies, the pieces that every ipBlock
contains alike grouped together, so each range is one row and one column of the answer.
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from podwall.core.evaluate import Engine
from podwall.core.model import (
    Address,
    Cluster,
    Direction,
    Endpoint,
    IPBlock,
    Options,
    PortSpec,
    Target,
    Tier,
    TierAction,
    TierPort,
    TierRule,
)
from podwall.core.peers import is_node_traffic, peer_matches
from podwall.core.portsets import PortSet
from podwall.core.tiers import TierRuleRef, peer_networks, ref_of

_V4_END = 1 << 32
_V6_END = 1 << 128


def spec_ports(spec: PortSpec, dst: Target) -> PortSet:
    """The connections one ``ports`` entry admits towards ``dst`` (named ports resolved on it)."""
    if spec.port is None:
        return PortSet.of(spec.protocol)
    if isinstance(spec.port, str):
        if not isinstance(dst, Endpoint):
            return PortSet.none()
        nums = [cp.port for cp in dst.ports if cp.name == spec.port and cp.protocol is spec.protocol]
        return PortSet({spec.protocol: [(n, n) for n in nums]})
    return PortSet.of(spec.protocol, spec.port, spec.end_port if spec.end_port is not None else spec.port)


def rule_ports(specs: Sequence[PortSpec], dst: Target) -> PortSet:
    """The connections a rule's ``ports`` list admits towards ``dst`` (empty list: all)."""
    if not specs:
        return PortSet.all()
    out = PortSet.none()
    for s in specs:
        out = out | spec_ports(s, dst)
    return out


def np_direction_ports(engine: Engine, direction: Direction, subject: Target, other: Target, dst: Target) -> PortSet:
    """What NetworkPolicy alone allows in ``direction`` at ``subject`` for traffic with ``other``
    (``dst`` owns the ports): everything when it does not isolate ``subject``."""
    if isinstance(subject, Address) or is_node_traffic(subject, engine.options):
        return PortSet.all()
    pols = engine.selecting(subject, direction)
    if not pols:
        return PortSet.all()
    ns_labels = engine.cluster.namespace_labels(other.namespace) if isinstance(other, Endpoint) else {}
    out = PortSet.none()
    for pol in pols:
        for rule in pol.rules(direction):
            if not rule.peers or any(
                peer_matches(p, pol.namespace, other, ns_labels, engine.options) for p in rule.peers
            ):
                out = out | rule_ports(rule.ports, dst)
    return out


# -- cluster-wide tiers ---------------------------------------------------------------------------
def tier_port_ports(tp: TierPort, dst: Target) -> PortSet:
    """The connections one cluster-wide ``ports``/``protocols`` entry admits towards ``dst``
    (as :func:`podwall.core.tiers.port_matches` decides them one by one)."""
    if tp.named is not None:
        if not isinstance(dst, Endpoint):
            return PortSet.none()
        out = PortSet.none()
        for cp in dst.ports:
            if cp.name == tp.named and (tp.protocol is None or tp.protocol is cp.protocol):
                out = out | PortSet.of(cp.protocol, cp.port, cp.port)
        return out
    if tp.protocol is None or tp.port is None:
        return PortSet.none()
    return PortSet.of(tp.protocol, tp.port, tp.end_port if tp.end_port is not None else tp.port)


def tier_rule_ports(ports: tuple[TierPort, ...] | None, dst: Target) -> PortSet:
    """A cluster-wide rule's ports towards ``dst``: ``None`` is everything."""
    if ports is None:
        return PortSet.all()
    out = PortSet.none()
    for tp in ports:
        out = out | tier_port_ports(tp, dst)
    return out


@dataclass(frozen=True, kw_only=True)
class TierPart:
    """The part of the port space one cluster-wide rule decided (it matched there first)."""

    ref: TierRuleRef
    ports: PortSet


@dataclass(frozen=True, kw_only=True)
class DirectionPorts:
    """How one direction decides over the whole port space."""

    allowed: PortSet
    parts: tuple[TierPart, ...] = ()
    """Every cluster-wide rule that decided part of the port space (Admin rules, Pass included,
    and the Baseline rules that were reached), with that part."""


def _first_matches(
    engine: Engine, tier: Tier, direction: Direction, subject: Endpoint, other: Target, dst: Target, space: PortSet
) -> list[tuple[TierRule, TierRuleRef, PortSet]]:
    """Within ``space``: the part each rule of ``tier`` takes, first match first."""
    out: list[tuple[TierRule, TierRuleRef, PortSet]] = []
    left = space
    for pol in engine.tiers.subject_of(subject, tier):
        for rule in pol.rules(direction):
            if left.is_empty:
                return out
            if not any(engine.tiers.peer_matches(p, other) for p in rule.peers):
                continue
            part = tier_rule_ports(rule.ports, dst) & left
            if not part.is_empty:
                out.append((rule, ref_of(pol, rule, direction), part))
                left = left - part
    return out


def direction_decision(
    engine: Engine, direction: Direction, subject: Target, other: Target, dst: Target
) -> DirectionPorts:
    """``direction`` at ``subject`` for traffic with ``other``, every tier applied (see module doc)."""
    np_ports = np_direction_ports(engine, direction, subject, other, dst)
    if not engine.tiers.active or not isinstance(subject, Endpoint) or subject.host_network:
        return DirectionPorts(allowed=np_ports)
    parts: list[TierPart] = []
    allowed = PortSet.none()
    lower = PortSet.all()
    for rule, ref, part in _first_matches(engine, Tier.ADMIN, direction, subject, other, dst, PortSet.all()):
        parts.append(TierPart(ref=ref, ports=part))
        if rule.action is TierAction.ACCEPT:
            allowed = allowed | part
        if rule.action is not TierAction.PASS:
            lower = lower - part
    if engine.selecting(subject, direction):
        return DirectionPorts(allowed=allowed | (lower & np_ports), parts=tuple(parts))
    denied = PortSet.none()
    for rule, ref, part in _first_matches(engine, Tier.BASELINE, direction, subject, other, dst, lower):
        parts.append(TierPart(ref=ref, ports=part))
        if rule.action is TierAction.DENY:
            denied = denied | part
    return DirectionPorts(allowed=allowed | (lower - denied), parts=tuple(parts))


def direction_ports(engine: Engine, direction: Direction, subject: Target, other: Target, dst: Target) -> PortSet:
    """What ``direction`` at ``subject`` allows for traffic with ``other`` (``dst`` owns the ports)."""
    return direction_decision(engine, direction, subject, other, dst).allowed


def connections(engine: Engine, src: Target, dst: Target) -> PortSet:
    """Every connection ``src`` may open to ``dst`` (a pod always reaches itself)."""
    if isinstance(src, Endpoint) and src is dst and src.is_pod:
        return PortSet.all()
    egress = direction_ports(engine, Direction.EGRESS, src, dst, dst)
    if egress.is_empty:
        return egress
    return egress & direction_ports(engine, Direction.INGRESS, dst, src, dst)


# -- addresses outside the cluster ---------------------------------------------------------------
def _net_range(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def _addr(version: int, value: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)


@dataclass(frozen=True, kw_only=True)
class AddressRange:
    """Addresses outside the cluster that every ipBlock of the input treats alike.

    ``ranges`` are inclusive ``(first, last)`` address values of one IP family; the name joins
    them, e.g. ``0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255``.
    """

    version: int
    ranges: tuple[tuple[int, int], ...]

    @property
    def key(self) -> str:
        parts = []
        for lo, hi in self.ranges:
            a, b = _addr(self.version, lo), _addr(self.version, hi)
            parts.append(str(a) if lo == hi else f"{a}-{b}")
        return ",".join(parts)

    @property
    def representative(self) -> Address:
        """An address of the range (its first), for evaluating it like any address."""
        return Address(ip=_addr(self.version, self.ranges[0][0]))

    def __str__(self) -> str:
        return self.key


def _blocks(clusters: Iterable[Cluster], options: Options | None) -> list[IPBlock]:
    """Every ipBlock, and every network an address-matching cluster-wide peer stands for
    (``networks``, the addresses of ``nodes``, the known addresses of ``domainNames``)."""
    seen: dict[IPBlock, None] = {}
    for c in clusters:
        for pol in c.policies:
            for rule in (*pol.ingress, *pol.egress):
                for peer in rule.peers:
                    if peer.ip_block is not None:
                        seen[peer.ip_block] = None
        for tpol in c.tier_policies:
            for trule in (*tpol.ingress, *tpol.egress):
                for tpeer in trule.peers:
                    if tpeer.kind in ("namespaces", "pods"):
                        continue
                    for net in peer_networks(c, options or Options(), tpeer) or ():
                        seen[IPBlock(cidr=str(net), network=net)] = None
    return list(seen)


def _uses_ipv6(clusters: Sequence[Cluster], blocks: Sequence[IPBlock]) -> bool:
    if any(b.network.version == 6 for b in blocks):
        return True
    return any(":" in ip for c in clusters for e in c.endpoints for ip in e.ips)


def address_ranges(clusters: Sequence[Cluster], options: Options | None = None) -> tuple[AddressRange, ...]:
    """The address space split as the ipBlocks of ``clusters`` (and the networks their
    cluster-wide policies match, ``options`` giving the addresses of domain names) distinguish it.

    IPv4 always; IPv6 only when the input uses it (an IPv6 network or pod address). Several
    clusters (the two sides of a diff) share one split, so their ranges compare one to one.
    """
    blocks = _blocks(clusters, options)
    versions = (4, 6) if _uses_ipv6(clusters, blocks) else (4,)
    out: list[AddressRange] = []
    for version in versions:
        end = _V4_END if version == 4 else _V6_END
        mine = [b for b in blocks if b.network.version == version]
        bounds = {0, end}
        for b in mine:
            for net in (b.network, *b.except_networks):
                if net.version != version:
                    continue
                lo, hi = _net_range(net)
                bounds.update((lo, hi + 1))
        starts = sorted(bounds)
        # each piece's signature: the blocks that contain it, as a bit set (interval arithmetic on
        # piece indices, not an address test per piece and block)
        sigs = [0] * (len(starts) - 1)
        for k, b in enumerate(mine):
            lo, hi = _net_range(b.network)
            inside = range(bisect.bisect_left(starts, lo), bisect.bisect_left(starts, hi + 1))
            holes: set[int] = set()
            for e in b.except_networks:
                if e.version == version:
                    elo, ehi = _net_range(e)
                    holes.update(range(bisect.bisect_left(starts, elo), bisect.bisect_left(starts, ehi + 1)))
            bit = 1 << k
            for a in inside:
                if a not in holes:
                    sigs[a] |= bit
        groups: dict[int, list[tuple[int, int]]] = {}
        for a, (lo, nxt) in enumerate(itertools.pairwise(starts)):
            spans = groups.setdefault(sigs[a], [])
            if spans and spans[-1][1] + 1 == lo:
                spans[-1] = (spans[-1][0], nxt - 1)
            else:
                spans.append((lo, nxt - 1))
        out.extend(AddressRange(version=version, ranges=tuple(spans)) for spans in groups.values())
    out.sort(key=lambda r: (r.version, r.ranges[0][0]))
    return tuple(out)


def range_of(ranges: Sequence[AddressRange], address: Address) -> AddressRange | None:
    """The range an address falls in."""
    v = int(address.ip)
    for r in ranges:
        if r.version != address.ip.version:
            continue
        starts = [lo for lo, _ in r.ranges]
        k = bisect.bisect_right(starts, v) - 1
        if k >= 0 and r.ranges[k][0] <= v <= r.ranges[k][1]:
            return r
    return None


__all__ = [
    "AddressRange",
    "DirectionPorts",
    "TierPart",
    "address_ranges",
    "connections",
    "direction_decision",
    "direction_ports",
    "np_direction_ports",
    "range_of",
    "rule_ports",
    "spec_ports",
    "tier_rule_ports",
]
