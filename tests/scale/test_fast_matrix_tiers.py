"""The class-based matrix equals the per-pair oracle with cluster-wide tiers present.

Random clusters mix NetworkPolicies (the strategies of test_fast_matrix) with Admin and Baseline
policies whose priorities collide, every peer kind (namespaces, pods, networks, nodes,
domainNames with and without addresses), numbered, ranged and named ports, and host-network pods
whose IPs are node addresses. Four fixed scenarios pin what upstream's suite never probes: Accept
is final even when a lower tier would deny; an egress Accept still needs ingress at the
destination; a port number matches only with its protocol; host-network pods are never selected.
"""

from __future__ import annotations

import ipaddress
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.scale.test_fast_matrix import CIDRS, IPS, NUMBERS, PORT_NAMES, PROTOCOLS, assert_same, clusters, selectors

from podwall.core.evaluate import Engine
from podwall.core.model import (
    Cluster,
    ContainerPort,
    Endpoint,
    IPBlock,
    LabelSelector,
    Namespace,
    Node,
    Options,
    Protocol,
    Tier,
    TierAction,
    TierPeer,
    TierPolicy,
    TierPort,
    TierRule,
    TierSubject,
)
from podwall.core.reachability import matrix, reference_matrix

NODE_IPS = ["192.168.1.1", "10.1.2.5", "fd00::1"]
DOMAINS = ["api.example.com", "*.example.com", "db.internal"]


@st.composite
def tier_peers(draw: st.DrawFn, egress: bool) -> TierPeer:
    kind = draw(
        st.sampled_from(
            ["namespaces", "pods", "networks", "nodes", "domainNames"] if egress else ["namespaces", "pods"]
        )
    )
    if kind == "namespaces":
        return TierPeer(kind=kind, namespace_selector=draw(selectors()))
    if kind == "pods":
        return TierPeer(kind=kind, namespace_selector=draw(selectors()), pod_selector=draw(selectors()))
    if kind == "networks":
        cidrs = draw(st.lists(st.sampled_from(CIDRS), min_size=1, max_size=2, unique=True))
        return TierPeer(kind=kind, networks=tuple(IPBlock(cidr=c, network=ipaddress.ip_network(c)) for c in cidrs))
    if kind == "nodes":
        return TierPeer(kind=kind, node_selector=draw(selectors()))
    names = draw(st.lists(st.sampled_from(DOMAINS), min_size=1, max_size=2, unique=True))
    return TierPeer(kind=kind, domain_names=tuple(names))


@st.composite
def tier_ports(draw: st.DrawFn) -> TierPort:
    shape = draw(st.integers(0, 2))
    if shape == 0:
        return TierPort(protocol=None, named=draw(st.sampled_from(PORT_NAMES)))
    proto = draw(st.sampled_from([*PROTOCOLS, Protocol.SCTP]))
    lo = draw(st.sampled_from(NUMBERS))
    if shape == 1:
        return TierPort(protocol=proto, port=lo)
    return TierPort(protocol=proto, port=lo, end_port=lo + draw(st.sampled_from([1, 400, 8000])))


@st.composite
def tier_rules(draw: st.DrawFn, index: int, egress: bool) -> TierRule:
    ports = draw(st.one_of(st.none(), st.lists(tier_ports(), min_size=1, max_size=2).map(tuple)))
    named = ports is not None and any(p.named is not None for p in ports)
    peer_st = tier_peers(egress)
    if named:  # the CRD forbids named ports with networks/nodes/domainNames peers
        peer_st = peer_st.filter(lambda p: p.kind in ("namespaces", "pods"))
    return TierRule(
        index=index,
        name=f"r{index}",
        action=draw(st.sampled_from(list(TierAction))),
        peers=tuple(draw(st.lists(peer_st, min_size=1, max_size=2))),
        ports=ports,
    )


@st.composite
def tier_policies(draw: st.DrawFn, index: int) -> TierPolicy:
    pod = draw(st.one_of(st.none(), selectors()))
    return TierPolicy(
        api_kind="ClusterNetworkPolicy",
        api_version="policy.networking.k8s.io/v1alpha2",
        name=f"t{index}",
        tier=draw(st.sampled_from(list(Tier))),
        priority=draw(st.sampled_from([1, 2, 2, 3])),
        subject=TierSubject(namespace_selector=draw(selectors()), pod_selector=pod),
        ingress=tuple(draw(tier_rules(i, False)) for i in range(draw(st.integers(0, 3)))),
        egress=tuple(draw(tier_rules(i, True)) for i in range(draw(st.integers(0, 3)))),
    )


@st.composite
def tier_clusters(draw: st.DrawFn) -> tuple[Cluster, Options, int | None, Protocol]:
    base, opts, port, proto = draw(clusters())
    tps = tuple(sorted((draw(tier_policies(i)) for i in range(draw(st.integers(1, 4)))), key=TierPolicy.sort_key))
    nodes = tuple(
        Node(
            name=f"n{i}",
            labels=MappingProxyType(
                draw(st.dictionaries(st.sampled_from(["app", "env"]), st.sampled_from(["x", "y"]), max_size=1))
            ),
            addresses=(ip,),
        )
        for i, ip in enumerate(NODE_IPS)
    )
    domains = draw(
        st.dictionaries(
            st.sampled_from(["api.example.com", "www.example.com", "db.internal"]),
            st.lists(st.sampled_from(IPS), min_size=1, max_size=2, unique=True).map(tuple),
            max_size=2,
        )
    )
    cluster = Cluster(
        namespaces=base.namespaces, endpoints=base.endpoints, policies=base.policies, tier_policies=tps, nodes=nodes
    )
    return (
        cluster,
        Options(
            ipblock_matches_pods=opts.ipblock_matches_pods, host_network=opts.host_network, domain_addresses=domains
        ),
        port,
        proto,
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tier_clusters())
def test_fast_matrix_equals_reference_with_tiers(case: tuple[Cluster, Options, int | None, Protocol]) -> None:
    cluster, opts, port, proto = case
    engine = Engine(cluster, opts)
    assert_same(matrix(engine, port=port, protocol=proto), reference_matrix(engine, port=port, protocol=proto))


# -- fixed scenarios: the fast matrix and the oracle agree, and both give the upstream answer -------
ALL = LabelSelector()
A = LabelSelector(match_labels=(("kubernetes.io/metadata.name", "a"),))
B = LabelSelector(match_labels=(("kubernetes.io/metadata.name", "b"),))


def _ep(ns: str, name: str, ip: str, *, host: bool = False) -> Endpoint:
    ports = (ContainerPort(port=53, protocol=Protocol.TCP), ContainerPort(port=53, protocol=Protocol.UDP))
    return Endpoint(kind="Pod", namespace=ns, name=name, ips=(ip,), ports=ports, host_network=host)


def _pol(
    name: str,
    tier: Tier,
    subject: LabelSelector,
    *,
    ingress: tuple[TierRule, ...] = (),
    egress: tuple[TierRule, ...] = (),
) -> TierPolicy:
    return TierPolicy(
        api_kind="ClusterNetworkPolicy",
        api_version="policy.networking.k8s.io/v1alpha2",
        name=name,
        tier=tier,
        priority=1,
        subject=TierSubject(namespace_selector=subject, pod_selector=None),
        ingress=ingress,
        egress=egress,
    )


def _rule(action: TierAction, peer: TierPeer, ports: tuple[TierPort, ...] | None = None) -> TierRule:
    return TierRule(index=0, name="", action=action, peers=(peer,), ports=ports)


def _cluster(*pols: TierPolicy, np_deny_ingress_in_a: bool = False) -> Cluster:
    from podwall.core.model import Direction, Policy

    nss = {n: Namespace(name=n, labels=MappingProxyType({"kubernetes.io/metadata.name": n})) for n in ("a", "b")}
    eps = (_ep("a", "srv", "10.0.0.1"), _ep("b", "cli", "10.0.1.1"), _ep("b", "agent", "192.168.0.1", host=True))
    policies = ()
    if np_deny_ingress_in_a:
        policies = (Policy(namespace="a", name="deny", pod_selector=ALL, policy_types=frozenset({Direction.INGRESS})),)
    return Cluster(
        namespaces=nss, endpoints=eps, policies=policies, tier_policies=tuple(sorted(pols, key=TierPolicy.sort_key))
    )


NS_B = TierPeer(kind="namespaces", namespace_selector=B)
NS_ALL = TierPeer(kind="namespaces", namespace_selector=ALL)
SCENARIOS = {
    # Accept is final: the Admin Accept wins over the NetworkPolicy default deny and a Baseline Deny
    "accept-final": (
        _cluster(
            _pol("ok", Tier.ADMIN, A, ingress=(_rule(TierAction.ACCEPT, NS_B),)),
            _pol("no", Tier.BASELINE, A, ingress=(_rule(TierAction.DENY, NS_B),)),
            np_deny_ingress_in_a=True,
        ),
        ("b/cli", "a/srv", 53, Protocol.TCP, True),
    ),
    # an egress Accept at the source does not open the destination's ingress
    "egress-accept-needs-ingress": (
        _cluster(_pol("out", Tier.ADMIN, B, egress=(_rule(TierAction.ACCEPT, NS_ALL),)), np_deny_ingress_in_a=True),
        ("b/cli", "a/srv", 53, Protocol.TCP, False),
    ),
    # Deny TCP/53 leaves UDP/53 alone
    "port-with-its-protocol": (
        _cluster(
            _pol(
                "tcp",
                Tier.ADMIN,
                A,
                ingress=(_rule(TierAction.DENY, NS_ALL, (TierPort(protocol=Protocol.TCP, port=53),)),),
            )
        ),
        ("b/cli", "a/srv", 53, Protocol.UDP, True),
    ),
    # a deny-everything subject {} never selects the host-network agent, and no namespaces peer matches it
    "host-network-never-selected": (
        _cluster(
            _pol(
                "all",
                Tier.ADMIN,
                ALL,
                ingress=(_rule(TierAction.DENY, NS_ALL),),
                egress=(_rule(TierAction.DENY, NS_ALL),),
            )
        ),
        ("b/agent", "a/srv", 53, Protocol.TCP, True),
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_the_upstream_suite_never_probes(name: str) -> None:
    cluster, (src, dst, port, proto, expect) = SCENARIOS[name]
    engine = Engine(cluster, Options())
    fast = matrix(engine, port=port, protocol=proto)
    ref = reference_matrix(engine, port=port, protocol=proto)
    assert_same(fast, ref)
    keys = [e.key for e in cluster.endpoints]
    i, j = keys.index(src), keys.index(dst)
    assert bool(fast.allowed(i, j)) is expect
    eps = {e.key: e for e in cluster.endpoints}
    assert engine.verdict(eps[src], eps[dst], port, proto).allowed is expect
