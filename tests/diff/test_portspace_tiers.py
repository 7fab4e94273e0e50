"""The whole port space with cluster-wide tiers: the class path, the per-pair form and per-port
verdicts agree, for pods and for the address ranges outside the cluster.

The random clusters are those of ``tests/scale/test_fast_matrix_tiers.py`` (every peer kind,
colliding priorities, numbered, ranged and named ports, host-network pods on node addresses).
"""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings
from tests.diff.strategies import OUTSIDE_IPS
from tests.scale.test_fast_matrix_tiers import NODE_IPS, tier_clusters

from podwall.core.connectivity import address_ranges, connections, range_of
from podwall.core.evaluate import Engine
from podwall.core.matrix_ports import connectivity
from podwall.core.model import Address, Cluster, Options, Protocol
from podwall.core.portsets import PROTOCOLS, PortSet


def probe_ports(cluster: Cluster) -> list[int]:
    """Every number the inputs name (NetworkPolicy, tiers, declared ports), with its neighbours."""
    nums = {1, 2, 65534, 65535, 1000, 30000}
    for ep in cluster.endpoints:
        nums.update(cp.port for cp in ep.ports)
    for p in cluster.policies:
        for r in (*p.ingress, *p.egress):
            for s in r.ports:
                if isinstance(s.port, int):
                    nums.update((s.port, s.end_port or s.port))
    for tp in cluster.tier_policies:
        for tr in (*tp.ingress, *tp.egress):
            for port in tr.ports or ():
                if port.port is not None:
                    nums.update((port.port, port.end_port or port.port))
    return sorted({x + d for x in nums for d in (-1, 0, 1) if 1 <= x + d <= 65535})


def members(ps: PortSet, ports: list[int]) -> set[tuple[Protocol, int]]:
    return {(p, n) for p in PROTOCOLS for n in ports if ps.contains(p, n)}


def per_port(engine: Engine, src: object, dst: object, ports: list[int]) -> set[tuple[Protocol, int]]:
    return {(p, n) for p in PROTOCOLS for n in ports if engine.allowed(src, dst, n, p)}  # type: ignore[arg-type]


def check(cluster: Cluster, opts: Options) -> int:
    """Compare the three forms; returns how many (pair, port) verdicts were compared."""
    engine = Engine(cluster, opts)
    ports = probe_ports(cluster)
    conn = connectivity(cluster, opts)
    eps = cluster.endpoints
    n = len(eps)
    compared = 0
    for i, src in enumerate(eps):
        row = dict(conn.row(i))
        for j, dst in enumerate(eps):
            got = conn.allowed(i, j)
            assert row[j] == got
            assert got == connections(engine, src, dst), (src.key, dst.key)
            assert members(got, ports) == per_port(engine, src, dst, ports), (src.key, dst.key, str(got))
            compared += len(ports)
    ranges = address_ranges([cluster], opts)
    for ip in [*OUTSIDE_IPS, *NODE_IPS, "10.1.2.3", "10.2.0.1", "172.16.0.1", "fd01::1"]:
        addr = Address(ip=ipaddress.ip_address(ip))
        r = range_of(ranges, addr)
        if r is None:
            assert addr.ip.version == 6 and all(rr.version == 4 for rr in ranges)
            continue
        g = n + ranges.index(r)
        for j, ep in enumerate(eps):
            assert members(conn.allowed(g, j), ports) == per_port(engine, addr, ep, ports), (ip, ep.key)
            assert members(conn.allowed(j, g), ports) == per_port(engine, ep, addr, ports), (ep.key, ip)
            assert conn.allowed(j, g) == connections(engine, ep, addr), (ep.key, ip)
            compared += 2 * len(ports)
    return compared


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tier_clusters())
def test_class_path_equals_per_port_verdicts_with_tiers(case: tuple[Cluster, Options, int | None, Protocol]) -> None:
    cluster, opts, _port, _proto = case
    check(cluster, opts)
