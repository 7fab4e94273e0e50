"""The class-based matrix must equal the per-pair oracle, cell for cell, on random clusters.

Random clusters are built directly as model objects from a small vocabulary (few labels, few
ports, a handful of IP ranges), so that selectors, named ports and ipBlocks collide often.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import podwall
from podwall.cli.matrix_cmd import aggregate
from podwall.core.evaluate import Engine
from podwall.core.model import (
    Cluster,
    ContainerPort,
    Direction,
    Endpoint,
    HostNetworkMode,
    IPBlock,
    LabelSelector,
    Namespace,
    Operator,
    Options,
    Peer,
    Policy,
    PortSpec,
    Protocol,
    Requirement,
    Rule,
)
from podwall.core.reachability import Matrix, matrix, reference_matrix

NAMESPACES = ["a", "b", "c"]
KEYS = ["app", "tier", "env"]
VALUES = ["x", "y", "z"]
PORT_NAMES = ["http", "dns", "metrics"]
NUMBERS = [53, 80, 443, 8080]
PROTOCOLS = [Protocol.TCP, Protocol.UDP]
CIDRS = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.0/24",
    "10.1.2.4/30",
    "192.168.0.0/16",
    "0.0.0.0/0",
    "fd00::/8",
    "fd00::/64",
]
IPS = ["10.1.2.3", "10.1.2.5", "10.1.3.1", "10.2.0.1", "192.168.1.1", "172.16.0.1", "fd00::1", "fd01::1"]

labels_st = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3)


@st.composite
def selectors(draw: st.DrawFn) -> LabelSelector:
    ml = draw(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=2))
    exprs = []
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(list(Operator)))
        vals: tuple[str, ...] = ()
        if op in (Operator.IN, Operator.NOT_IN):
            vals = tuple(sorted(draw(st.sets(st.sampled_from(VALUES), min_size=1, max_size=2))))
        exprs.append(Requirement(key=draw(st.sampled_from(KEYS)), operator=op, values=vals))
    return LabelSelector(match_labels=tuple(sorted(ml.items())), match_expressions=tuple(exprs))


@st.composite
def ip_blocks(draw: st.DrawFn) -> IPBlock:
    cidr = draw(st.sampled_from(CIDRS))
    net = ipaddress.ip_network(cidr)
    inside = [
        c
        for c in CIDRS
        if ipaddress.ip_network(c).version == net.version and ipaddress.ip_network(c).subnet_of(net) and c != cidr
    ]  # type: ignore[arg-type]
    excepts = tuple(sorted(draw(st.sets(st.sampled_from(inside), max_size=2)))) if inside else ()
    return IPBlock(
        cidr=cidr, network=net, excepts=excepts, except_networks=tuple(ipaddress.ip_network(e) for e in excepts)
    )


@st.composite
def peers(draw: st.DrawFn) -> Peer:
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return Peer(ip_block=draw(ip_blocks()))
    pod = draw(selectors()) if shape in (1, 3) else None
    ns = draw(selectors()) if shape in (2, 3) else None
    return Peer(pod_selector=pod, namespace_selector=ns)


@st.composite
def port_specs(draw: st.DrawFn) -> PortSpec:
    proto = draw(st.sampled_from(PROTOCOLS))
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return PortSpec(protocol=proto)
    if shape == 1:
        return PortSpec(protocol=proto, port=draw(st.sampled_from(PORT_NAMES)))
    lo = draw(st.sampled_from(NUMBERS))
    if shape == 2:
        return PortSpec(protocol=proto, port=lo)
    return PortSpec(protocol=proto, port=lo, end_port=lo + draw(st.sampled_from([0, 10, 400, 8000])))


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    return Rule(peers=tuple(draw(st.lists(peers(), max_size=3))), ports=tuple(draw(st.lists(port_specs(), max_size=3))))


@st.composite
def policies(draw: st.DrawFn, index: int) -> Policy:
    types = draw(st.sets(st.sampled_from(list(Direction)), min_size=1))
    return Policy(
        namespace=draw(st.sampled_from(NAMESPACES)),
        name=f"p{index}",
        pod_selector=draw(selectors()),
        policy_types=frozenset(types),
        ingress=tuple(draw(st.lists(rules(), max_size=3))) if Direction.INGRESS in types else (),
        egress=tuple(draw(st.lists(rules(), max_size=3))) if Direction.EGRESS in types else (),
    )


@st.composite
def endpoints(draw: st.DrawFn, index: int) -> Endpoint:
    kind = draw(st.sampled_from(["Pod", "Pod", "Pod", "Deployment"]))
    ports = draw(
        st.lists(
            st.builds(
                ContainerPort,
                port=st.sampled_from(NUMBERS),
                protocol=st.sampled_from(PROTOCOLS),
                name=st.one_of(st.none(), st.sampled_from(PORT_NAMES)),
            ),
            max_size=3,
        )
    )
    return Endpoint(
        kind=kind,
        namespace=draw(st.sampled_from(NAMESPACES)),
        name=f"e{index}",
        labels=MappingProxyType(draw(labels_st)),
        ports=tuple(ports),
        ips=tuple(draw(st.lists(st.sampled_from(IPS), max_size=2, unique=True))),
        host_network=draw(st.booleans()) and draw(st.booleans()),
        owner=draw(st.sampled_from([None, "a/deployment/w1", "b/deployment/w2"])),
    )


@st.composite
def clusters(draw: st.DrawFn) -> tuple[Cluster, Options, int | None, Protocol]:
    nss = {}
    for name in NAMESPACES:
        if draw(st.booleans()):  # some namespaces are only referenced: default labels
            nss[name] = Namespace(
                name=name, labels=MappingProxyType({"kubernetes.io/metadata.name": name, **draw(labels_st)})
            )
    eps = tuple(draw(endpoints(i)) for i in range(draw(st.integers(0, 9))))
    pols = tuple(draw(policies(i)) for i in range(draw(st.integers(0, 6))))
    opts = Options(
        ipblock_matches_pods=draw(st.booleans()),
        host_network=draw(st.sampled_from(list(HostNetworkMode))),
    )
    port = draw(st.one_of(st.none(), st.sampled_from(NUMBERS)))
    return Cluster(namespaces=nss, endpoints=eps, policies=pols), opts, port, draw(st.sampled_from(PROTOCOLS))


def assert_same(fast: Matrix, ref: Matrix) -> None:
    assert fast.endpoints == ref.endpoints
    n = len(ref)
    for j in range(n):
        assert fast.checked(j) == ref.checked(j)
    for i in range(n):
        for j in range(n):
            assert fast.allowed(i, j) == ref.allowed(i, j), (ref.endpoints[i].key, ref.endpoints[j].key)
            assert fast.state(i, j) == ref.state(i, j)
    for by in ("pod", "workload", "namespace"):
        fl, fc = aggregate(fast, by)
        rl, rc = aggregate(ref, by)
        assert fl == rl
        assert [fc(a, b) for a in range(len(fl)) for b in range(len(fl))] == [
            rc(a, b) for a in range(len(rl)) for b in range(len(rl))
        ]


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clusters())
def test_fast_matrix_equals_reference(case: tuple[Cluster, Options, int | None, Protocol]) -> None:
    cluster, opts, port, proto = case
    engine = Engine(cluster, opts)
    fast = matrix(engine, port=port, protocol=proto)
    ref = reference_matrix(engine, port=port, protocol=proto)
    assert_same(fast, ref)
    # rows read in bulk agree with single cells
    for i in range(len(fast)):
        assert [a for _, a in fast.row(i)] == [fast.allowed(i, j) for j in range(len(fast))]


@pytest.mark.slow
@given(clusters(), st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_subset_of_endpoints(case: tuple[Cluster, Options, int | None, Protocol], data: st.DataObject) -> None:
    cluster, opts, port, proto = case
    subset = data.draw(st.lists(st.sampled_from(cluster.endpoints), unique_by=id)) if cluster.endpoints else []
    engine = Engine(cluster, opts)
    assert_same(
        matrix(engine, subset, port=port, protocol=proto), reference_matrix(engine, subset, port=port, protocol=proto)
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_cluster_equals_reference(tmp_path: Path, seed: int) -> None:
    """The benchmark's generator (realistic shapes: named ports, endPort, ipBlock except, DNS)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        import gen_cluster
    finally:
        sys.path.pop(0)
    gen_cluster.write(str(tmp_path), 60, 24, seed)
    files = [str(tmp_path / f) for f in ("namespaces.yaml", "pods.yaml", "policies.yaml")]
    loaded = podwall.load(files)
    for opts in (Options(), Options(ipblock_matches_pods=False)):
        engine = Engine(loaded.cluster, opts)
        fast = matrix(engine)
        assert fast.compiled.classes.n < len(fast)  # replicas share a class
        assert_same(fast, reference_matrix(engine))
