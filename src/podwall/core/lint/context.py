"""Indexes that the checks share, built once per lint run.

Everything is grouped by namespace, so that a check costs about (policies × pods of their
namespace), never pods × pods.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from podwall.core.evaluate import Engine
from podwall.core.lint.findings import Location
from podwall.core.model import Cluster, Direction, Endpoint, Peer, Policy, Rule
from podwall.core.peers import is_node_traffic, peer_matches
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
        self._peer_cache: dict[tuple[str, Peer], tuple[Endpoint, ...]] = {}

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
        return [e for e in self.pods(policy.namespace) if matches(policy.pod_selector, e.labels)]

    def peer_targets(self, policy: Policy, peer: Peer) -> tuple[Endpoint, ...]:
        """The endpoints a peer matches, by the core's own ``peer_matches``."""
        key = (policy.namespace, peer)
        hit = self._peer_cache.get(key)
        if hit is not None:
            return hit
        out: list[Endpoint] = []
        candidates: Sequence[Endpoint]
        if peer.ip_block is not None:
            candidates = self.cluster.endpoints
        else:
            if peer.namespace_selector is None:
                namespaces = [policy.namespace]
            else:
                sel = peer.namespace_selector
                namespaces = [n for n, ns in self.cluster.namespaces.items() if matches(sel, ns.labels)]
            candidates = [ep for n in namespaces for ep in self.endpoints_by_ns.get(n, ())]
        for ep in candidates:
            if peer_matches(peer, policy.namespace, ep, self.cluster.namespace_labels(ep.namespace), self.options):
                out.append(ep)
        result = tuple(out)
        self._peer_cache[key] = result
        return result

    def destinations(self, policy: Policy, direction: Direction, rule: Rule) -> list[Endpoint]:
        """The pods that receive the connections a rule allows (where its ports are resolved)."""
        if direction is Direction.INGRESS:
            return self.selected(policy)
        if not rule.peers:
            return list(self.all_pods())
        seen: dict[int, Endpoint] = {}
        for peer in rule.peers:
            for ep in self.peer_targets(policy, peer):
                seen.setdefault(id(ep), ep)
        return list(seen.values())

    def is_system(self, ns: str) -> bool:
        return ns in self.system_namespaces
