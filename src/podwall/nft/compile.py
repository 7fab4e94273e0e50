"""Compile the normalised cluster model into an nftables ruleset (pure data, no I/O).

The ruleset is the shape ``research/lab.md`` measured and verified, for one routed "node" that
forwards every pod-to-pod packet (pods are /32 and /128 routes behind one veth each):

* one ``inet`` table owned by podwall;
* ``guard`` (prerouting, priority -150): anti-spoofing. A packet from a pod's veth must carry
  one of that pod's addresses (``iifname . ip saddr`` in a set; IPv6 link-local excepted, for
  neighbour discovery). IPv6: every packet, since ``rp_filter`` does not cover IPv6. IPv4:
  the first packet of each connection (``ct state new``), the one policies decide on; every
  IPv4 packet is also checked by the node's strict ``rp_filter`` (the lab sets it), so
  established flows are not checked twice. Each rule tries the address set first, which ends
  the rule at once for a legitimate packet (docs/lab.md, "Data-path cost");
* ``egress_fw`` (forward, priority 0) decides the *source* pod's egress and ``ingress_fw``
  (forward, priority 10) the *destination* pod's ingress. An ``accept`` ends only its own base
  chain, so a new connection needs both; a ``drop`` is final. Both start with
  ``ct state established,related accept`` (replies and related ICMP always pass) and
  ``ct state invalid drop``;
* dispatch by verdict maps keyed on the pod's veth (``iifname`` for egress, ``oifname`` for
  ingress). A pod that no policy isolates for a direction has no entry: the lookup misses and
  the base chain's policy accepts, i.e. default-allow;
* pods isolated by the same policies share one *signature* chain that jumps to each policy's
  chain and ends in ``counter drop`` (commented with the isolating policies);
* one chain per policy and direction with counted, commented rules ("ns/name ingress rule #1");
* shared sets per distinct peer (IPv4 and IPv6 apart), per distinct port list
  (``inet_proto . inet_service``: a hash set of single ports, or intervals when the list has
  ``endPort`` ranges or whole protocols) and
  per rule for named ports, resolved per destination pod (``daddr . l4proto . dport``).

Set memberships come from the semantic core (``peer_matches``, ``named_port_numbers``,
``Engine.selecting``), evaluated pod by pod, so the kernel decides exactly what the engine
decides, including the engine's pod-level reading of ``ipBlock`` (a pod matches a block when
one of its addresses is in it) and ``Options.ipblock_matches_pods``. The rest of an ``ipBlock``
(``cidr`` minus ``except``) becomes intervals, for addresses outside the cluster.

Names are ``[a-z]+_`` plus a hash: nft rejects keywords and names starting with a digit, and
stable names let updates change set elements in place instead of recreating sets.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from podwall.core.evaluate import Engine
from podwall.core.model import (
    Cluster,
    Direction,
    Endpoint,
    IPNetwork,
    Options,
    Peer,
    Policy,
    PortSpec,
    Protocol,
    Rule,
    Tier,
    TierPeer,
    TierPolicy,
    TierPort,
    TierRule,
)
from podwall.core.peers import peer_matches
from podwall.core.ports import named_port_numbers
from podwall.core.selectors import matches
from podwall.core.tiers import TierEngine
from podwall.nft.tiers import STAGE_NP, rule_comment, verdict_for

TABLE = "podwall"
COMMENT_MAX = 120
PROTO_NAMES = {Protocol.TCP: "tcp", Protocol.UDP: "udp", Protocol.SCTP: "sctp"}


# -- the ruleset as data ------------------------------------------------------------------


@dataclass(frozen=True)
class SetMatch:
    """``KEY [. KEY ...] [!=] @set``; keys are ``ip saddr``, ``iifname``, ``meta l4proto``, ``th dport``..."""

    keys: tuple[str, ...]
    set_name: str
    negate: bool = False


@dataclass(frozen=True)
class CtState:
    """``ct state a,b``."""

    states: tuple[str, ...]


@dataclass(frozen=True)
class Vmap:
    """``KEY vmap @map`` (``iifname`` or ``oifname``)."""

    key: str
    map_name: str


@dataclass(frozen=True)
class Compare:
    """``KEY [!=] VALUE`` with a literal value (``ip6 saddr != fe80::/10``)."""

    key: str
    value: str
    negate: bool = False


@dataclass(frozen=True)
class Counter:
    """An anonymous ``counter``."""


@dataclass(frozen=True)
class Verdict:
    """``accept``, ``drop`` or ``jump CHAIN``."""

    kind: str
    target: str = ""


Stmt = SetMatch | CtState | Vmap | Compare | Counter | Verdict


@dataclass(frozen=True)
class NftRule:
    stmts: tuple[Stmt, ...]
    comment: str = ""


@dataclass(frozen=True)
class Hook:
    type: str
    hook: str
    priority: int
    policy: str = "accept"


@dataclass(frozen=True)
class Chain:
    name: str
    rules: tuple[NftRule, ...] = ()
    hook: Hook | None = None


@dataclass(frozen=True)
class NftSet:
    """A named set. ``key`` is the nft type (``ipv4_addr`` or a concatenation)."""

    name: str
    key: tuple[str, ...]
    interval: bool
    elements: tuple[str, ...] = ()
    """Rendered elements (``10.0.0.0/8``, ``tcp . 80-81``, ``10.244.1.10 . tcp . 80``), sorted."""
    comment: str = ""


@dataclass(frozen=True)
class VerdictMap:
    """``ifname : verdict``; elements are (ifname, chain to jump to)."""

    name: str
    elements: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Ruleset:
    """One table: everything podwall loads into a node's network namespace."""

    table: str
    sets: tuple[NftSet, ...]
    maps: tuple[VerdictMap, ...]
    chains: tuple[Chain, ...]
    stats: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)

    def set_named(self, name: str) -> NftSet:
        for s in self.sets:
            if s.name == name:
                return s
        raise KeyError(name)


# -- helpers --------------------------------------------------------------------------------


def short_hash(*parts: str, n: int = 10) -> str:
    h = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return h[:n]


def clip(text: str) -> str:
    """An nft comment: printable, no quotes, at most COMMENT_MAX characters."""
    text = "".join(c if c.isprintable() and c not in '"\\' else "?" for c in text)
    if len(text) > COMMENT_MAX:
        text = text[: COMMENT_MAX - 14] + " ~" + short_hash(text, n=10) + ".."
    return text


def _render_net(net: IPNetwork) -> str:
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def _subtract(nets: Iterable[IPNetwork], holes: Iterable[IPNetwork]) -> list[IPNetwork]:
    out = list(nets)
    for hole in holes:
        nxt: list[IPNetwork] = []
        for n in out:
            if n.version != hole.version or not n.overlaps(hole):
                nxt.append(n)
            elif hole.supernet_of(n):  # type: ignore[arg-type]
                continue
            else:
                nxt.extend(n.address_exclude(hole))  # type: ignore[arg-type]
        out = nxt
    return out


def _collapse(nets: Iterable[IPNetwork], version: int) -> tuple[str, ...]:
    mine = [n for n in nets if n.version == version]
    collapsed = ipaddress.collapse_addresses(mine)  # type: ignore[type-var]
    return tuple(_render_net(n) for n in sorted(collapsed))


def _host_net(ip: str) -> IPNetwork:
    return ipaddress.ip_network(ip)


def _port_ranges(specs: Iterable[PortSpec]) -> tuple[str, ...]:
    """Numeric port specs → merged ``proto . lo-hi`` interval elements."""
    by_proto: dict[Protocol, list[tuple[int, int]]] = defaultdict(list)
    for s in specs:
        if s.port is None:
            by_proto[s.protocol].append((0, 65535))
        elif isinstance(s.port, int):
            by_proto[s.protocol].append((s.port, s.end_port if s.end_port is not None else s.port))
    out: list[str] = []
    for proto in sorted(by_proto, key=lambda p: PROTO_NAMES[p]):
        merged: list[list[int]] = []
        for lo, hi in sorted(by_proto[proto]):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        for lo, hi in merged:
            rng = str(lo) if lo == hi else f"{lo}-{hi}"
            out.append(f"{PROTO_NAMES[proto]} . {rng}")
    return tuple(out)


def _named_elements(dsts: Iterable[Endpoint], specs: Iterable[PortSpec], version: int) -> tuple[str, ...]:
    out: set[tuple[str, str, int]] = set()
    named = [s for s in specs if isinstance(s.port, str)]
    for ep in dsts:
        for s in named:
            assert isinstance(s.port, str)
            nums = named_port_numbers(s.port, s.protocol, ep)
            for ip in ep.ips:
                addr = ipaddress.ip_address(ip)
                if addr.version != version:
                    continue
                for n in nums:
                    out.add((str(addr), PROTO_NAMES[s.protocol], n))
    return tuple(
        f"{ip} . {proto} . {port}"
        for ip, proto, port in sorted(out, key=lambda t: (ipaddress.ip_address(t[0]), t[1], t[2]))
    )


def _fam(version: int) -> str:
    return "ip" if version == 4 else "ip6"


def _addr_type(version: int) -> str:
    return "ipv4_addr" if version == 4 else "ipv6_addr"


# -- the compiler ---------------------------------------------------------------------------


class _Compiler:
    def __init__(self, cluster: Cluster, options: Options, attachments: Mapping[str, str], table: str) -> None:
        self.cluster = cluster
        self.options = options
        self.engine = Engine(cluster, options)
        self.attachments = attachments
        self.table = table
        self.sets: dict[str, NftSet] = {}
        self.chains: dict[str, Chain] = {}
        self.pods_by_ns: dict[str, list[Endpoint]] = defaultdict(list)
        for ep in cluster.endpoints:
            self.pods_by_ns[ep.namespace].append(ep)
        self.with_ips = [ep for ep in cluster.endpoints if ep.ips]
        self._peer_cache: dict[tuple[str, str], tuple[Endpoint, ...]] = {}

    # peers ---------------------------------------------------------------------------------
    def peer_key(self, peer: Peer, policy_ns: str) -> str:
        if peer.ip_block is not None:
            b = peer.ip_block
            return "ipblock|" + str(b.network) + "|" + ",".join(sorted(str(e) for e in b.except_networks))
        ns = "*" if peer.namespace_selector is not None else policy_ns
        return f"sel|{ns}|{peer.namespace_selector}|{peer.pod_selector}"

    def peer_pods(self, peer: Peer, policy_ns: str) -> tuple[Endpoint, ...]:
        """Endpoints the peer matches, via the core's ``peer_matches`` over plausible candidates."""
        key = (self.peer_key(peer, policy_ns), policy_ns)
        hit = self._peer_cache.get(key)
        if hit is not None:
            return hit
        if peer.ip_block is not None:
            cands: Iterable[Endpoint] = self.with_ips
        elif peer.namespace_selector is None:
            cands = self.pods_by_ns.get(policy_ns, ())
        else:
            sel = peer.namespace_selector
            cands = [
                ep
                for ns, eps in sorted(self.pods_by_ns.items())
                if matches(sel, self.cluster.namespace_labels(ns))
                for ep in eps
            ]
        out = tuple(
            ep
            for ep in cands
            if peer_matches(peer, policy_ns, ep, self.cluster.namespace_labels(ep.namespace), self.options)
        )
        self._peer_cache[key] = out
        return out

    def peer_sets(self, peer: Peer, policy_ns: str) -> tuple[str, str]:
        """The (IPv4, IPv6) set names of one distinct peer, creating them on first use."""
        pkey = self.peer_key(peer, policy_ns)
        h = short_hash(pkey)
        names = (f"peer4_{h}", f"peer6_{h}")
        if names[0] in self.sets:
            return names
        pods = self.peer_pods(peer, policy_ns)
        nets: list[IPNetwork] = [_host_net(ip) for ep in pods for ip in ep.ips]
        interval = peer.ip_block is not None
        if peer.ip_block is not None:
            b = peer.ip_block
            block = _subtract([b.network], b.except_networks)
            matched = {id(ep) for ep in pods}
            # pods inside the block that the engine says do not match (option off) stay out
            holes = [
                _host_net(ip)
                for ep in self.with_ips
                if id(ep) not in matched
                for ip in ep.ips
                if b.contains(ipaddress.ip_address(ip))
            ]
            nets.extend(_subtract(block, holes))
        for version, name in ((4, names[0]), (6, names[1])):
            elems = _collapse(nets, version) if interval else tuple(
                sorted({_render_net(n) for n in nets if n.version == version}, key=ipaddress.ip_address)
            )
            self.sets[name] = NftSet(
                name=name, key=(_addr_type(version),), interval=interval, elements=elems, comment=clip(f"peer {peer}")
            )
        return names

    def ports_set(self, specs: tuple[PortSpec, ...]) -> str | None:
        numeric = [s for s in specs if not isinstance(s.port, str)]
        if not numeric:
            return None
        elems = _port_ranges(numeric)
        name = "ports_" + short_hash(*elems)
        if name not in self.sets:
            self.sets[name] = NftSet(
                name=name,
                key=("inet_proto", "inet_service"),
                # single ports only: a hash set (a concatenated interval set is a slower
                # pipapo lookup); the name hashes the elements, so the type never changes
                interval=any("-" in e for e in elems),
                elements=elems,
                comment=clip("ports " + ", ".join(elems)),
            )
        return name

    # rules ---------------------------------------------------------------------------------
    def policy_chain(self, pol: Policy, direction: Direction) -> str:
        tag = "pin" if direction is Direction.INGRESS else "peg"
        name = f"{tag}_{short_hash(pol.key, direction.value)}"
        if name in self.chains:
            return name
        rules: list[NftRule] = []
        selected = [
            ep
            for ep in self.pods_by_ns.get(pol.namespace, ())
            if any(p is pol for p in self.engine.selecting(ep, direction))
        ]
        for i, rule in enumerate(pol.rules(direction)):
            comment = clip(f"{pol.key} {direction.value.lower()} rule #{i + 1}")
            rules.extend(self.rule(pol, direction, i, rule, selected, comment))
        self.chains[name] = Chain(name=name, rules=tuple(rules))
        return name

    def rule(
        self, pol: Policy, direction: Direction, index: int, rule: Rule, selected: list[Endpoint], comment: str
    ) -> list[NftRule]:
        other = "saddr" if direction is Direction.INGRESS else "daddr"
        accept = (Counter(), Verdict("accept"))
        peer_sets = [self.peer_sets(p, pol.namespace) for p in rule.peers]
        ports = self.ports_set(rule.ports) if rule.ports else None
        out: list[NftRule] = []
        port_match: tuple[Stmt, ...] = (SetMatch(("meta l4proto", "th dport"), ports),) if ports else ()
        if not rule.ports or ports:
            if not peer_sets:
                out.append(NftRule(port_match + accept, comment))
            for s4, s6 in peer_sets:
                for version, s in ((4, s4), (6, s6)):
                    if not self.sets[s].elements:
                        continue  # matches nothing in this family: no rule, no set
                    m = SetMatch((f"{_fam(version)} {other}",), s)
                    out.append(NftRule((m, *port_match, *accept), comment))
        if any(isinstance(s.port, str) for s in rule.ports):
            tag = "named"
            h = short_hash(pol.key, direction.value, str(index))
            if direction is Direction.INGRESS:
                dsts: Iterable[Endpoint] = selected
            elif rule.peers:
                seen: dict[int, Endpoint] = {}
                for p in rule.peers:
                    for ep in self.peer_pods(p, pol.namespace):
                        seen[id(ep)] = ep
                dsts = list(seen.values())
            else:
                dsts = self.with_ips
            for version in (4, 6):
                name = f"{tag}{version}_{h}"
                self.sets[name] = NftSet(
                    name=name,
                    key=(_addr_type(version), "inet_proto", "inet_service"),
                    interval=False,
                    elements=_named_elements(dsts, rule.ports, version),
                    comment=clip(f"named ports of {comment}"),
                )
                if not self.sets[name].elements:
                    continue
                nm = SetMatch((f"{_fam(version)} daddr", "meta l4proto", "th dport"), name)
                if direction is Direction.INGRESS and peer_sets:
                    for s4, s6 in peer_sets:
                        s = s4 if version == 4 else s6
                        if self.sets[s].elements:
                            out.append(NftRule((SetMatch((f"{_fam(version)} saddr",), s), nm, *accept), comment))
                else:
                    # egress: the named set already holds only destinations inside the peers
                    out.append(NftRule((nm, *accept), comment))
        return out

    def signature_chain(self, pols: tuple[Policy, ...], direction: Direction) -> str:
        keys = sorted(p.key for p in pols)
        tag = "sin" if direction is Direction.INGRESS else "seg"
        name = f"{tag}_{short_hash(direction.value, *keys)}"
        if name not in self.chains:
            jumps = [
                NftRule((Verdict("jump", self.policy_chain(p, direction)),), clip(p.key))
                for p in sorted(pols, key=lambda p: p.key)
            ]
            word = direction.value.lower()
            drop = NftRule(
                (Counter(), Verdict("drop")), clip(f"{word} isolated by {', '.join(keys)}: no rule allows it")
            )
            self.chains[name] = Chain(name=name, rules=(*tuple(jumps), drop))
        return name

    def build(self) -> Ruleset:
        disp: dict[Direction, dict[str, str]] = {Direction.EGRESS: {}, Direction.INGRESS: {}}
        tiers = TierStage(self)
        for ep in self.cluster.endpoints:
            ifname = self.attachments.get(ep.key)
            if ifname is None:
                continue
            for direction in (Direction.EGRESS, Direction.INGRESS):
                pols = self.engine.selecting(ep, direction)
                np_chain = self.signature_chain(pols, direction) if pols else None
                chain = tiers.dispatch(ep, direction, np_chain)
                if chain is not None:
                    disp[direction][ifname] = chain
        links: list[str] = []
        src: dict[int, list[str]] = {4: [], 6: []}
        for ep in self.cluster.endpoints:
            ifname = self.attachments.get(ep.key)
            if ifname is None:
                continue
            links.append(f'"{ifname}"')
            for ip in ep.ips:
                addr = ipaddress.ip_address(ip)
                src[addr.version].append(f'"{ifname}" . {addr}')
        self.sets["pod_links"] = NftSet(
            name="pod_links",
            key=("ifname",),
            interval=False,
            elements=tuple(sorted(links)),
            comment="veths of the pods",
        )
        for version in (4, 6):
            name = f"pod_src{version}"
            self.sets[name] = NftSet(
                name=name,
                key=("ifname", _addr_type(version)),
                interval=False,
                elements=tuple(sorted(src[version])),
                comment=f"the IPv{version} addresses each pod may send from",
            )
        base_head = (
            NftRule((CtState(("established", "related")), Verdict("accept"))),
            NftRule((CtState(("invalid",)), Counter(), Verdict("drop")), "invalid conntrack state"),
        )
        base = [
            Chain(
                name="guard",
                hook=Hook("filter", "prerouting", -150),
                rules=(
                    # the address lookup comes first: for a legitimate packet it fails at once
                    NftRule(
                        (
                            CtState(("new",)),
                            SetMatch(("iifname", "ip saddr"), "pod_src4", negate=True),
                            SetMatch(("iifname",), "pod_links"),
                            Counter(),
                            Verdict("drop"),
                        ),
                        "anti-spoofing: new IPv4 connection from an address that is not the sending pod's",
                    ),
                    NftRule(
                        (
                            Compare("meta nfproto", "ipv6"),
                            SetMatch(("iifname", "ip6 saddr"), "pod_src6", negate=True),
                            Compare("ip6 saddr", "fe80::/10", negate=True),
                            SetMatch(("iifname",), "pod_links"),
                            Counter(),
                            Verdict("drop"),
                        ),
                        "anti-spoofing: IPv6 source is not the address of the sending pod",
                    ),
                ),
            ),
            Chain(
                name="egress_fw",
                hook=Hook("filter", "forward", 0),
                rules=(*base_head, NftRule((Vmap("iifname", "egress_dispatch"),), "egress of the source pod")),
            ),
            Chain(
                name="ingress_fw",
                hook=Hook("filter", "forward", 10),
                rules=(*base_head, NftRule((Vmap("oifname", "ingress_dispatch"),), "ingress of the destination pod")),
            ),
        ]
        maps = (
            VerdictMap("egress_dispatch", tuple(sorted(disp[Direction.EGRESS].items()))),
            VerdictMap("ingress_dispatch", tuple(sorted(disp[Direction.INGRESS].items()))),
        )
        chains = tuple(base) + tuple(self.chains[n] for n in sorted(self.chains))
        used = {st.set_name for c in chains for r in c.rules for st in r.stmts if isinstance(st, SetMatch)}
        sets = tuple(self.sets[n] for n in sorted(self.sets) if n in used)
        stats = {
            "chains": len(chains),
            "rules": sum(len(c.rules) for c in chains),
            "sets": len(sets),
            "elements": sum(len(s.elements) for s in sets) + sum(len(m.elements) for m in maps),
        }
        return Ruleset(table=self.table, sets=sets, maps=maps, chains=chains, stats=stats)


def compile_ruleset(
    cluster: Cluster,
    attachments: Mapping[str, str],
    options: Options | None = None,
    *,
    table: str = TABLE,
) -> Ruleset:
    """Compile ``cluster`` for a node whose pods hang off the given veths.

    Args:
        cluster: the normalised cluster; endpoints need their IPs (the lab assigns missing ones).
        attachments: endpoint key (``ns/pod``, ``ns/kind/name``) → node-side interface name.
            Endpoints without one are peers only (no dispatch), e.g. hostNetwork pods.
        options: implementation-defined semantics, as given to the engine.
        table: the name of podwall's ``inet`` table.
    """
    return _Compiler(cluster, options or Options(), attachments, table).build()


# -- cluster-wide tiers (ClusterNetworkPolicy, ANP/BANP): the design is in nft/tiers.py -----


class TierStage:
    """Builds the tier chains and sets into a compiler's tables (the design: ``nft/tiers.py``).

    Who is selected and what a peer matches come from the engine's :class:`TierEngine`,
    endpoint by endpoint, never from a second reading of the policies: the kernel decides what
    the engine decides.
    """

    def __init__(self, comp: _Compiler) -> None:
        self.c = comp
        self.cluster = comp.cluster
        self.engine: TierEngine = comp.engine.tiers
        self.policies = tuple(sorted(comp.cluster.tier_policies, key=TierPolicy.sort_key))
        self._peers: dict[str, tuple[str, str] | None] = {}

    @property
    def active(self) -> bool:
        return bool(self.policies)

    def selecting(self, ep: Endpoint, tier: Tier, direction: Direction) -> tuple[TierPolicy, ...]:
        """Policies of ``tier`` that select ``ep`` and have rules for ``direction``, in order."""
        return tuple(p for p in self.engine.subject_of(ep, tier) if p.rules(direction))

    # sets ----------------------------------------------------------------------------------
    def peer_sets(self, peer: TierPeer) -> tuple[str, str] | None:
        """(IPv4, IPv6) set names for a peer; ``None`` when the peer can never match.

        Members: the addresses of every endpoint the engine says the peer matches (the engine
        decides per endpoint, so a dual-stack pod matches with both addresses), plus what the
        peer matches outside the cluster: the CIDRs of ``networks`` (as intervals), the Node
        addresses of ``nodes``, the mapped addresses of ``domainNames``.
        """
        desc = str(peer)
        if desc in self._peers:
            return self._peers[desc]
        self._peers[desc] = names = self._peer_sets(peer, desc)
        return names

    def _peer_sets(self, peer: TierPeer, desc: str) -> tuple[str, str] | None:
        nets: list[IPNetwork] = [
            ipaddress.ip_network(ip)
            for ep in self.c.with_ips
            if self.engine.peer_matches(peer, ep)
            for ip in ep.ips
        ]
        interval = False
        if peer.kind == "networks":
            interval = True
            nets.extend(b.network for b in peer.networks)
        elif peer.kind == "nodes":
            nets.extend(ipaddress.ip_network(a) for a in self.engine.node_addresses(peer))
        elif peer.kind == "domainNames":
            nets.extend(ipaddress.ip_network(a) for a in self.engine.domain_addresses(peer)[0])
        if not nets:
            return None
        h = short_hash("tier-peer", desc)  # stable across updates: elements change in place
        names = (f"tpeer4_{h}", f"tpeer6_{h}")
        for version, name in ((4, names[0]), (6, names[1])):
            if interval:
                elems = _collapse(nets, version)
            else:
                mine = {_render_net(n) for n in nets if n.version == version}
                elems = tuple(sorted(mine, key=ipaddress.ip_address))
            self.c.sets.setdefault(
                name,
                NftSet(name=name, key=(_addr_type(version),), interval=interval, elements=elems, comment=clip(desc)),
            )
        return names

    def named_set(self, names: Sequence[tuple[str, Protocol | None]], version: int) -> str:
        """``daddr . proto . port`` for every destination pod that declares one of ``names``
        (with that protocol when the entry has one), as the engine's ``port_matches`` reads them."""
        out: set[tuple[str, str, int]] = set()
        for ep in self.c.with_ips:
            for cp in ep.ports:
                if any(cp.name == n and (proto is None or proto is cp.protocol) for n, proto in names):
                    for ip in ep.ips:
                        addr = ipaddress.ip_address(ip)
                        if addr.version == version:
                            out.add((str(addr), PROTO_NAMES[cp.protocol], cp.port))
        elems = tuple(
            f"{ip} . {proto} . {port}"
            for ip, proto, port in sorted(out, key=lambda t: (ipaddress.ip_address(t[0]), t[1], t[2]))
        )
        words = sorted(n if proto is None else f"{proto}/{n}" for n, proto in names)
        name = f"tnamed{version}_{short_hash('tier-named', *words)}"
        self.c.sets.setdefault(
            name,
            NftSet(
                name=name,
                key=(_addr_type(version), "inet_proto", "inet_service"),
                interval=False,
                elements=elems,
                comment=clip("named ports " + ", ".join(words)),
            ),
        )
        return name

    def port_alternatives(self, ports: tuple[TierPort, ...] | None) -> list[tuple[int | None, tuple[Stmt, ...]]]:
        """The ways a rule's ``protocols`` can match: (family or None, statements); ``[]``: never."""

        if ports is None:
            return [(None, ())]
        alts: list[tuple[int | None, tuple[Stmt, ...]]] = []
        numeric = [
            PortSpec(protocol=p.protocol, port=p.port, end_port=p.end_port)
            for p in ports
            if p.named is None and p.protocol is not None and p.port is not None
        ]
        if numeric:
            name = self.c.ports_set(tuple(numeric))
            if name is not None:
                alts.append((None, (SetMatch(("meta l4proto", "th dport"), name),)))
        named = sorted({(p.named, p.protocol) for p in ports if p.named is not None}, key=str)
        if named:
            for version in (4, 6):
                s = self.named_set(named, version)
                if self.c.sets[s].elements:
                    alts.append((version, (SetMatch((f"{_fam(version)} daddr", "meta l4proto", "th dport"), s),)))
        return alts

    # rules and chains ----------------------------------------------------------------------
    def rule(self, pol: TierPolicy, direction: Direction, rule: TierRule) -> list[NftRule]:

        comment = clip(rule_comment(pol, direction, rule))
        verdict = (Counter(), Verdict(verdict_for(pol.tier, rule.action)))
        other = "saddr" if direction is Direction.INGRESS else "daddr"
        peers: list[tuple[int, Stmt]] = []
        for peer in rule.peers:
            names = self.peer_sets(peer)
            if names is None:
                continue
            for version, s in ((4, names[0]), (6, names[1])):
                if self.c.sets[s].elements:
                    peers.append((version, SetMatch((f"{_fam(version)} {other}",), s)))
        out: list[NftRule] = []
        for version, pm in peers:
            for fam, stmts in self.port_alternatives(rule.ports):
                if fam is None or fam == version:
                    out.append(NftRule((pm, *stmts, *verdict), comment))
        return out

    def tier_chain(self, direction: Direction, tier: Tier, pols: tuple[TierPolicy, ...]) -> Chain:

        word = "eg" if direction is Direction.EGRESS else "in"
        tag = ("a" if tier is Tier.ADMIN else "b") + word
        name = f"{tag}_{short_hash('tier', tier.value, direction.value, *(p.key for p in pols))}"
        if name not in self.c.chains:
            rules: list[NftRule] = []
            for pol in pols:
                for r in pol.rules(direction):
                    rules.extend(self.rule(pol, direction, r))
            self.c.chains[name] = Chain(name=name, rules=tuple(rules))
        return self.c.chains[name]

    def dispatch(self, ep: Endpoint, direction: Direction, np_chain: str | None) -> str | None:
        """The chain a pod's veth dispatches to for ``direction`` (``None``: default allow)."""

        if not self.active:
            return np_chain
        admin = self.selecting(ep, Tier.ADMIN, direction)
        base = self.selecting(ep, Tier.BASELINE, direction)
        if not admin and not base:
            return np_chain
        jumps: list[NftRule] = []
        if admin:
            ch = self.tier_chain(direction, Tier.ADMIN, admin)
            jumps.append(NftRule((Verdict("jump", ch.name),), clip("[Admin] " + ", ".join(p.key for p in admin))))
        if np_chain is not None:
            jumps.append(NftRule((Verdict("jump", np_chain),), STAGE_NP))
        elif base:
            ch = self.tier_chain(direction, Tier.BASELINE, base)
            jumps.append(
                NftRule((Verdict("jump", ch.name),), clip("[Baseline] " + ", ".join(p.key for p in base)))
            )
        word = "eg" if direction is Direction.EGRESS else "in"
        name = f"t{word}_{short_hash('tiers', direction.value, *(str(j.stmts[0]) for j in jumps))}"
        if name not in self.c.chains:
            self.c.chains[name] = Chain(name=name, rules=tuple(jumps))
        return name
