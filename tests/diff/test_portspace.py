"""The whole port space: port-set algebra, and allowed connections per pair equal to per-port verdicts."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.diff.strategies import OUTSIDE_IPS, clusters, options_st, probe_ports

from podwall.core.connectivity import address_ranges, connections, range_of
from podwall.core.evaluate import Engine
from podwall.core.matrix_ports import connectivity
from podwall.core.model import Address, Cluster, Options, Protocol
from podwall.core.portsets import PROTOCOLS, PortSet

# -- PortSet ---------------------------------------------------------------------------------
intervals = st.lists(
    st.tuples(st.integers(1, 65535), st.integers(0, 300)).map(lambda t: (t[0], min(65535, t[0] + t[1]))), max_size=4
)
portsets = st.builds(
    lambda a, b, c: PortSet({Protocol.TCP: a, Protocol.UDP: b, Protocol.SCTP: c}), intervals, intervals, intervals
)
SAMPLE = [1, 2, 52, 53, 54, 79, 80, 81, 200, 300, 65534, 65535]


def members(ps: PortSet, ports: list[int]) -> set[tuple[Protocol, int]]:
    return {(p, n) for p in PROTOCOLS for n in ports if ps.contains(p, n)}


@settings(deadline=None)
@given(portsets, portsets, st.lists(st.integers(1, 65535), max_size=20))
def test_algebra_is_set_algebra(a: PortSet, b: PortSet, extra: list[int]) -> None:
    ports = sorted(
        {
            *SAMPLE,
            *extra,
            *(
                x
                for ps in (a, b)
                for _, iv in ps.items()
                for lo, hi in iv
                for x in (lo - 1, lo, hi, hi + 1)
                if 1 <= x <= 65535
            ),
        }
    )
    ma, mb = members(a, ports), members(b, ports)
    assert members(a | b, ports) == ma | mb
    assert members(a & b, ports) == ma & mb
    assert members(a - b, ports) == ma - mb
    assert (a - b) | (a & b) == a
    assert a.complement().complement() == a
    assert PortSet.parse(str(a)) == a
    assert PortSet.from_json(a.to_json()) == a
    for _, iv in (a | b).items():  # canonical: sorted, merged, not even adjacent
        assert all(x[1] + 1 < y[0] for x, y in itertools.pairwise(iv))


def test_text_and_json_forms() -> None:
    ps = PortSet({Protocol.TCP: [(1, 79), (81, 65535)], Protocol.UDP: [(53, 53)]})
    assert str(ps) == "TCP 1-79,81-65535; UDP 53"
    assert ps.to_json() == {"TCP": [[1, 79], [81, 65535]], "UDP": [[53, 53]]}
    assert str(PortSet.all()) == "all" and PortSet.all().to_json() == {p.value: [[1, 65535]] for p in PROTOCOLS}
    assert str(PortSet.none()) == "none" and PortSet.none().to_json() == {}
    assert str(PortSet({Protocol.TCP: [(5, 9), (10, 12), (11, 20)]})) == "TCP 5-20"
    assert str(PortSet.of(Protocol.SCTP)) == "SCTP 1-65535"
    with pytest.raises(ValueError):
        PortSet.parse("TCP")


# -- allowed connections -----------------------------------------------------------------------
def per_port(engine: Engine, src: object, dst: object, ports: dict[Protocol, list[int]]) -> set[tuple[Protocol, int]]:
    return {(p, n) for p, ns in ports.items() for n in ns if engine.allowed(src, dst, n, p)}  # type: ignore[arg-type]


def check(cluster: Cluster, opts: Options, extra_ips: Sequence[str] = ()) -> None:
    """The class path, the per-pair form and per-port verdicts agree on every endpoint pair, and
    between endpoints and the address range of each of OUTSIDE_IPS and ``extra_ips``."""
    engine = Engine(cluster, opts)
    ports = probe_ports(cluster)
    conn = connectivity(cluster, opts)
    eps = cluster.endpoints
    n = len(eps)
    assert conn.names[:n] == [e.key for e in eps]
    for i, src in enumerate(eps):
        row = dict(conn.row(i))
        for j, dst in enumerate(eps):
            got = conn.allowed(i, j)
            assert row[j] == got
            assert got == connections(engine, src, dst), (src.key, dst.key)
            assert members(got, ports[Protocol.TCP]) == per_port(engine, src, dst, ports), (src.key, dst.key, str(got))
    # addresses outside the cluster: the range an address falls in answers for it
    ranges = address_ranges([cluster], opts)
    for ip in [*OUTSIDE_IPS, *extra_ips]:
        addr = Address(ip=ipaddress.ip_address(ip))
        r = range_of(ranges, addr)
        if r is None:
            assert addr.ip.version == 6 and all(rr.version == 4 for rr in ranges)
            continue
        g = n + ranges.index(r)
        for j, ep in enumerate(eps):
            assert members(conn.allowed(g, j), ports[Protocol.TCP]) == per_port(engine, addr, ep, ports), (ip, ep.key)
            assert members(conn.allowed(j, g), ports[Protocol.TCP]) == per_port(engine, ep, addr, ports), (ep.key, ip)
            assert conn.allowed(j, g) == connections(engine, ep, addr), (ep.key, ip)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clusters(), options_st)
def test_class_path_equals_per_port_verdicts(cluster: Cluster, opts: Options) -> None:
    check(cluster, opts)


def test_ranges_split_at_ipblock_boundaries() -> None:
    from tests.diff.strategies import ip_block

    from podwall.core.model import Direction, LabelSelector, Peer, Policy, Rule

    pol = Policy(
        namespace="a",
        name="p",
        pod_selector=LabelSelector(),
        policy_types=frozenset({Direction.EGRESS}),
        egress=(Rule(peers=(Peer(ip_block=ip_block("10.0.0.0/8", ("10.1.0.0/16",))),)),),
    )
    ranges = address_ranges([Cluster(namespaces={}, policies=(pol,))])
    assert [r.key for r in ranges] == [
        "0.0.0.0-9.255.255.255,10.1.0.0-10.1.255.255,11.0.0.0-255.255.255.255",
        "10.0.0.0-10.0.255.255,10.2.0.0-10.255.255.255",
    ]
