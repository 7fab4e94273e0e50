"""Indexes that the checks share, built once per lint run.

Everything is grouped by namespace, so that a check costs about (policies x pods of their
namespace), never pods x pods; within a namespace, a selector is matched once per distinct label
set (replicas share theirs), and the ports a rule's destinations declare are collected once per
distinct ``ports`` list; pod addresses are sorted once, so that an ipBlock finds its pods by
bisection instead of a scan of every pod.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator, Mapping

from podwall.core.classes import Classes
from podwall.core.evaluate import Engine
from podwall.core.lint.findings import Location
from podwall.core.matrix_peers import Hits, PeerIndex
from podwall.core.model import (
    Cluster,
    ContainerPort,
    Direction,
    Endpoint,
    IPBlock,
    LabelSelector,
    Peer,
    Policy,
    Rule,
)
from podwall.core.peers import is_node_traffic
from podwall.core.selectors import matches
from podwall.errors import FieldPath

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
"""Namespaces that ``no-default-deny`` and ``unprotected-pod`` leave alone by default."""


def describe(ep: Endpoint) -> str:
    """``Pod ci/runner``, ``Deployment production/web``."""
    return f"{ep.kind} {ep.namespace}/{ep.name}"


def direction_key(direction: Direction) -> str:
    return "ingress" if direction is Direction.INGRESS else "egress"


def peer_key(direction: Direction) -> str:
    return "from" if direction is Direction.INGRESS else "to"


class PodIPs:
    """Pod addresses sorted per IP version, so that an ipBlock's pods are found by bisection:
    linear in the pods once, then logarithmic per ipBlock (plus the pods it contains)."""

    def __init__(self, pods: list[Endpoint]) -> None:
        pairs: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        self.pods = pods
        for k, e in enumerate(pods):
            for a in e.addresses:
                pairs[a.version].append((int(a), k))
        self._sorted = {v: sorted(p) for v, p in pairs.items()}
        self._keys = {v: [x for x, _ in p] for v, p in self._sorted.items()}
        self._memo: dict[IPBlock, list[Endpoint]] = {}

    def inside(self, block: IPBlock) -> list[Endpoint]:
        """The pods with an address in ``block`` (its cidr minus its excepts), in input order."""
        hit = self._memo.get(block)
        if hit is not None:
            return hit
        v = block.network.version
        keys, items = self._keys[v], self._sorted[v]
        lo = bisect.bisect_left(keys, int(block.network.network_address))
        hi = bisect.bisect_right(keys, int(block.network.broadcast_address))
        holes = [
            (int(x.network_address), int(x.broadcast_address)) for x in block.except_networks if x.version == v
        ]
        found = sorted({k for addr, k in items[lo:hi] if not any(a <= addr <= b for a, b in holes)})
        out = self._memo[block] = [self.pods[k] for k in found]
        return out


class LintContext:
    """The cluster, the engine, and per-namespace indexes."""

    def __init__(self, cluster: Cluster, engine: Engine, *, system_namespaces: frozenset[str]) -> None:
        self.cluster = cluster
        self.engine = engine
        self.options = engine.options
        self.system_namespaces = system_namespaces
        by_ns: dict[str, list[Endpoint]] = defaultdict(list)
        for ep in cluster.endpoints:
            by_ns[ep.namespace].append(ep)
        self.endpoints_by_ns: dict[str, list[Endpoint]] = dict(by_ns)
        pols: dict[str, list[Policy]] = defaultdict(list)
        for p in cluster.policies:
            pols[p.namespace].append(p)
        self.policies_by_ns: dict[str, list[Policy]] = dict(pols)
        self.inventory = bool(cluster.endpoints)
        """Whether the input lists pods or workloads at all. Without them, checks that need to
        know which pods exist (selects-nothing, peer-matches-nothing, ports) stay quiet."""
        self._peer_cache: dict[tuple[str, Peer], Hits] = {}
        self._ns_cache: dict[LabelSelector, list[str]] = {}
        self._peer_index: PeerIndex | None = None
        self._every_pod: Hits | None = None
        self._selected: dict[int, list[Endpoint]] = {}
        """By ``id`` of a policy of ``cluster`` (which outlives this context)."""
        self.addresses = PodIPs([e for e in cluster.endpoints if e.ips])
        """Every endpoint with an address, indexed by address."""
        self._pods: dict[str, list[Endpoint]] = {}
        self._label_sets: dict[str, list[tuple[Mapping[str, str], list[int]]]] = {}
        self._matching: dict[tuple[str, LabelSelector], list[Endpoint]] = {}
        port_lists: dict[tuple[ContainerPort, ...], int] = {}
        self._port_list: dict[Endpoint, int] = {
            e: port_lists.setdefault(e.ports, len(port_lists)) for e in cluster.endpoints
        }
        """Each endpoint's ``ports``, as the number of that distinct list (replicas share one)."""
        self._port_lists = list(port_lists)
        self._peer_ports: dict[tuple[str, Peer], frozenset[int]] = {}
        self._rule_ports: dict[tuple[object, ...], tuple[int, tuple[ContainerPort, ...]]] = {}

    # -- locations -----------------------------------------------------------------------
    def policy_loc(self, policy: Policy, *path: str | int) -> Location:
        return Location(span=policy.span, path=tuple(path), what=f"NetworkPolicy {policy.key}")

    def rule_loc(self, policy: Policy, direction: Direction, index: int, *path: str | int) -> Location:
        sub: FieldPath = ("spec", direction_key(direction), index, *path)
        return Location(span=policy.span, path=sub, what=f"NetworkPolicy {policy.key}")

    def endpoint_loc(self, ep: Endpoint) -> Location:
        return Location(span=ep.span, what=describe(ep))

    def namespace_loc(self, ns: str) -> tuple[Location, ...]:
        """The Namespace object if declared, else the first pod of it (so a line exists)."""
        decl = self.cluster.namespaces.get(ns)
        if decl is not None and decl.span is not None:
            return (Location(span=decl.span, what=f"Namespace {ns}"),)
        eps = self.endpoints_by_ns.get(ns, [])
        if eps:
            return (self.endpoint_loc(eps[0]),)
        pols = self.policies_by_ns.get(ns, [])
        return (self.policy_loc(pols[0]),) if pols else ()

    # -- pods ----------------------------------------------------------------------------
    def pods(self, ns: str) -> list[Endpoint]:
        """Endpoints of a namespace that policies can govern (hostNetwork ones are node traffic).
        (The list is shared: do not change it.)"""
        hit = self._pods.get(ns)
        if hit is None:
            hit = self._pods[ns] = [e for e in self.endpoints_by_ns.get(ns, ()) if not is_node_traffic(e, self.options)]
        return hit

    def matching(self, ns: str, sel: LabelSelector) -> list[Endpoint]:
        """The endpoints of namespace ``ns`` (hostNetwork ones too) whose labels ``sel`` matches,
        in input order; ``sel`` is matched once per distinct label set of the namespace.
        (The list is shared: do not change it.)"""
        key = (ns, sel)
        hit = self._matching.get(key)
        if hit is None:
            everything = self.endpoints_by_ns.get(ns, [])
            sets = self._label_sets.get(ns)
            if sets is None:
                by_labels: dict[frozenset[tuple[str, str]], tuple[Mapping[str, str], list[int]]] = {}
                for k, e in enumerate(everything):
                    by_labels.setdefault(frozenset(e.labels.items()), (e.labels, []))[1].append(k)
                sets = self._label_sets[ns] = list(by_labels.values())
            chosen = sorted(k for labels, ks in sets if matches(sel, labels) for k in ks)
            hit = self._matching[key] = [everything[k] for k in chosen]
        return hit

    def all_pods(self) -> Iterator[Endpoint]:
        for ns in self.endpoints_by_ns:
            yield from self.pods(ns)

    def selected(self, policy: Policy) -> list[Endpoint]:
        """The pods a policy's podSelector selects (hostNetwork pods excluded in node mode)."""
        hit = self._selected.get(id(policy))
        if hit is None:
            hit = self._selected[id(policy)] = [
                e for e in self.matching(policy.namespace, policy.pod_selector) if not is_node_traffic(e, self.options)
            ]
        return hit

    @property
    def peer_index(self) -> PeerIndex:
        """The class-based peer index (built on first use)."""
        if self._peer_index is None:
            self._peer_index = PeerIndex(self.cluster, self.options)
        return self._peer_index

    @property
    def built_classes(self) -> Classes | None:
        """The endpoint classes, if the peer index was built (the fix checker reuses them)."""
        return self._peer_index.classes if self._peer_index is not None else None

    def peer_targets(self, policy: Policy, peer: Peer) -> Hits:
        """The endpoints a peer matches (one per class, and how many), as ``peer_matches`` decides."""
        key = (self._peer_key(policy, peer), peer)
        hit = self._peer_cache.get(key)
        if hit is None:
            hit = self._peer_cache[key] = self.peer_index.peer(peer, policy.namespace)
        return hit

    def namespaces_matching(self, sel: LabelSelector) -> list[str]:
        """The namespaces whose labels ``sel`` matches (memoised: selectors repeat)."""
        hit = self._ns_cache.get(sel)
        if hit is None:
            hit = self._ns_cache[sel] = [n for n, ns in self.cluster.namespaces.items() if matches(sel, ns.labels)]
        return hit

    def destinations(self, policy: Policy, direction: Direction, rule: Rule) -> Hits:
        """The pods that receive the connections a rule allows (where its ports are resolved),
        one per class of equal declared ports."""
        if direction is Direction.INGRESS:
            chosen = self.selected(policy)
            return Hits(reps=tuple(chosen), count=len(chosen))
        if not rule.peers:
            return self._all_pods()
        seen: dict[int, Endpoint] = {}
        count = 0
        for peer in rule.peers:
            hits = self.peer_targets(policy, peer)
            for ep in hits.reps:
                if id(ep) not in seen:
                    seen[id(ep)] = ep
            count += hits.count
        return Hits(reps=tuple(seen.values()), count=count)

    def receiving_ports(
        self, policy: Policy, direction: Direction, rule: Rule
    ) -> tuple[int, tuple[ContainerPort, ...]]:
        """For the pods that receive the connections a rule allows (:meth:`destinations`): how
        many they are (as ``destinations`` counts them), and every containerPort they declare,
        each distinct one once (in no particular order)."""
        if direction is Direction.INGRESS:
            key: tuple[object, ...] = (id(policy),)
        elif not rule.peers:
            key = ("",)
        else:
            key = tuple((self._peer_key(policy, peer), peer) for peer in rule.peers)
        hit = self._rule_ports.get(key)
        if hit is not None:
            return hit
        lists: set[int] = set()
        if direction is Direction.INGRESS or not rule.peers:
            dests = self.destinations(policy, direction, rule)
            count = dests.count
            lists.update(self._port_list[e] for e in dests.reps)
        else:
            count = 0
            for peer in rule.peers:
                hits = self.peer_targets(policy, peer)
                count += hits.count
                pk = (self._peer_key(policy, peer), peer)
                mine = self._peer_ports.get(pk)
                if mine is None:
                    mine = self._peer_ports[pk] = frozenset(self._port_list[e] for e in hits.reps)
                lists |= mine
        ports = {cp for i in lists for cp in self._port_lists[i]}
        hit = self._rule_ports[key] = (count, tuple(ports))
        return hit

    @staticmethod
    def _peer_key(policy: Policy, peer: Peer) -> str:
        """The namespace a peer's meaning depends on (none when it names its namespaces)."""
        return policy.namespace if peer.namespace_selector is None and peer.ip_block is None else ""

    def _all_pods(self) -> Hits:
        if self._every_pod is None:
            pods = list(self.all_pods())
            by_ports: dict[object, Endpoint] = {}
            for e in pods:
                by_ports.setdefault(e.ports, e)
            self._every_pod = Hits(reps=tuple(by_ports.values()), count=len(pods))
        return self._every_pod

    def is_system(self, ns: str) -> bool:
        return ns in self.system_namespaces
