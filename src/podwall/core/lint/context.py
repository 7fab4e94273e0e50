"""Indexes that the checks share, built once per lint run.

Everything is grouped by namespace, so that a check costs about (policies x pods of their
namespace), never pods x pods; pod addresses are sorted once, so that an ipBlock finds its pods
by bisection instead of a scan of every pod.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator

from podwall.core.classes import Classes
from podwall.core.evaluate import Engine
from podwall.core.lint.findings import Location
from podwall.core.matrix_peers import Hits, PeerIndex
from podwall.core.model import Cluster, Direction, Endpoint, IPBlock, LabelSelector, Peer, Policy, Rule
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
        """Endpoints of a namespace that policies can govern (hostNetwork ones are node traffic)."""
        return [e for e in self.endpoints_by_ns.get(ns, ()) if not is_node_traffic(e, self.options)]

    def all_pods(self) -> Iterator[Endpoint]:
        for ns in self.endpoints_by_ns:
            yield from self.pods(ns)

    def selected(self, policy: Policy) -> list[Endpoint]:
        """The pods a policy's podSelector selects (hostNetwork pods excluded in node mode)."""
        hit = self._selected.get(id(policy))
        if hit is None:
            hit = self._selected[id(policy)] = [
                e for e in self.pods(policy.namespace) if matches(policy.pod_selector, e.labels)
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
        key = (policy.namespace if peer.namespace_selector is None and peer.ip_block is None else "", peer)
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
