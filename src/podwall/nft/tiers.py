"""The cluster-wide tiers (ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy) in the ruleset.

Per direction (egress in ``egress_fw``, ingress in ``ingress_fw``), a pod that some tier policy
selects is dispatched to a *tier chain* instead of its NetworkPolicy signature chain:

```
chain teg_<hash> {                         # one per (admin set, NetworkPolicy signature, baseline set)
    jump aeg_<hash>   "[Admin] ..."        # the Admin rules of every selecting policy, in order
    jump seg_<hash>   "[NetworkPolicy]"    # only when NetworkPolicies isolate the pod: ends in drop
    jump beg_<hash>   "[Baseline] ..."     # the Baseline rules (never reached after a NetworkPolicy)
}
```

* The Admin chain holds the rules of the selecting Admin policies inline, policies by ascending
  ``priority`` then name, rules in written order. First match decides: ``Accept`` is
  ``counter accept`` (final for this direction; an egress ``accept`` ends only ``egress_fw``, so
  the destination's ingress still runs in ``ingress_fw``), ``Deny`` is ``counter drop`` (silent:
  a probe sees a timeout, never a refusal), ``Pass`` is ``counter return``: back in the tier
  chain, which goes on with the NetworkPolicy stage. No match also returns there. The rules are
  inline (not one chain per policy) because ``Pass`` must skip the *rest of the tier*, and a
  ``return`` from the tier's one chain does exactly that.
* The NetworkPolicy stage is the signature chain the compiler builds anyway: it ends in a
  counted drop, so when NetworkPolicies isolate the pod they decide and a baseline never runs.
* The Baseline chain: ``Accept`` and ``Pass`` accept, ``Deny`` drops, no match falls through to
  the base chain's ``policy accept`` (default allow).
* A pod without any selecting tier policy keeps the plain NetworkPolicy dispatch, so a cluster
  without tiers compiles exactly as before.

Peers become sets shared by every rule that uses them: ``namespaces`` and ``pods`` the
addresses of the matching pods (hostNetwork pods never), ``networks`` an interval set of the
CIDRs plus the addresses of every pod the engine says they match, ``nodes`` the addresses of the
matching Node objects, ``domainNames`` the addresses ``Options.domain_addresses`` gives (without
them the peer matches nothing, as the engine reads it; upstream supports domainNames in Accept
rules only, where matching nothing is the API's "fail closed"). Numeric ports are
``proto . port`` intervals; a named port is resolved on every destination pod
(``daddr . proto . port``), so it only ever matches with its protocol.
A pod talking to itself never reaches the node: it is exempt, as the API says.

Every rule is counted and commented, e.g.
``[Admin] ClusterNetworkPolicy/name egress rule #3 Deny (rule-name)``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from podwall.core.model import (
    Direction,
    Endpoint,
    IPNetwork,
    PortSpec,
    Protocol,
    Tier,
    TierAction,
    TierPeer,
    TierPolicy,
    TierPort,
    TierRule,
)
from podwall.core.tiers import TierEngine
from podwall.nft.compile import (
    PROTO_NAMES,
    Chain,
    Counter,
    NftRule,
    NftSet,
    SetMatch,
    Stmt,
    Verdict,
    _collapse,
    _Compiler,
    _render_net,
    clip,
    short_hash,
)

STAGE_NP = "[NetworkPolicy]"


# -- the tier stage -------------------------------------------------------------------------


def _fam(version: int) -> str:
    return "ip" if version == 4 else "ip6"


def _addr_type(version: int) -> str:
    return "ipv4_addr" if version == 4 else "ipv6_addr"


def _verdict_for(tier: Tier, action: TierAction) -> str:
    if action is TierAction.DENY:
        return "drop"
    if action is TierAction.PASS and tier is Tier.ADMIN:
        return "return"
    return "accept"


def _action_word(tier: Tier, action: TierAction) -> str:
    if action is TierAction.PASS:
        return "Pass -> NetworkPolicy" if tier is Tier.ADMIN else "Pass -> default allow"
    return action.value


def rule_comment(pol: TierPolicy, direction: Direction, rule: TierRule) -> str:
    # the action before the rule's name: a comment clipped at COMMENT_MAX loses the name, never the action
    name = f" ({rule.name})" if rule.name else ""
    word = direction.value.lower()
    return f"[{pol.tier.value}] {pol.key} {word} rule #{rule.index + 1} {_action_word(pol.tier, rule.action)}{name}"


class TierStage:
    """Builds the tier chains and sets into a compiler's tables (see the module docstring).

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
        verdict = (Counter(), Verdict(_verdict_for(pol.tier, rule.action)))
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
