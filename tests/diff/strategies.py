"""Random clusters for the port-space and diff tests, built directly as model objects.

A small vocabulary (few labels, ports, names and IP ranges) so that selectors, named ports,
port ranges and ipBlocks collide often; ``mutations`` edits a cluster the way pull requests do.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from types import MappingProxyType

from hypothesis import strategies as st

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

NAMESPACES = ["a", "b", "c"]
KEYS = ["app", "tier"]
VALUES = ["x", "y", "z"]
PORT_NAMES = ["http", "dns"]
NUMBERS = [53, 80, 443, 8080]
PROTOCOLS = [Protocol.TCP, Protocol.UDP, Protocol.SCTP]
CIDRS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16", "0.0.0.0/0", "0.0.0.0/1", "fd00::/8"]
IPS = ["10.1.2.3", "10.1.3.1", "10.2.0.1", "192.168.1.1", "172.16.0.1", "fd00::1"]
OUTSIDE_IPS = [
    "0.0.0.0",
    "9.255.255.255",
    "10.0.0.0",
    "10.1.2.255",
    "10.1.3.0",
    "127.0.0.1",
    "128.0.0.0",
    "192.168.255.255",
    "255.255.255.255",
    "fd00::5",
    "::1",
    "fe80::1",
]

labels_st = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=2)


@st.composite
def selectors(draw: st.DrawFn) -> LabelSelector:
    ml = draw(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=2))
    exprs = []
    for _ in range(draw(st.integers(0, 1))):
        op = draw(st.sampled_from(list(Operator)))
        vals: tuple[str, ...] = ()
        if op in (Operator.IN, Operator.NOT_IN):
            vals = tuple(sorted(draw(st.sets(st.sampled_from(VALUES), min_size=1, max_size=2))))
        exprs.append(Requirement(key=draw(st.sampled_from(KEYS)), operator=op, values=vals))
    return LabelSelector(match_labels=tuple(sorted(ml.items())), match_expressions=tuple(exprs))


def ip_block(cidr: str, excepts: tuple[str, ...] = ()) -> IPBlock:
    return IPBlock(
        cidr=cidr,
        network=ipaddress.ip_network(cidr),
        excepts=excepts,
        except_networks=tuple(ipaddress.ip_network(e) for e in excepts),
    )


@st.composite
def ip_blocks(draw: st.DrawFn) -> IPBlock:
    cidr = draw(st.sampled_from(CIDRS))
    net = ipaddress.ip_network(cidr)
    inside = [
        c
        for c in CIDRS
        if c != cidr and ipaddress.ip_network(c).version == net.version and ipaddress.ip_network(c).subnet_of(net)
    ]  # type: ignore[arg-type]
    excepts = tuple(sorted(draw(st.sets(st.sampled_from(inside), max_size=2)))) if inside else ()
    return ip_block(cidr, excepts)


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
    return Rule(peers=tuple(draw(st.lists(peers(), max_size=2))), ports=tuple(draw(st.lists(port_specs(), max_size=2))))


@st.composite
def policies(draw: st.DrawFn, index: int) -> Policy:
    types = draw(st.sets(st.sampled_from(list(Direction)), min_size=1))
    return Policy(
        namespace=draw(st.sampled_from(NAMESPACES)),
        name=f"p{index}",
        pod_selector=draw(selectors()),
        policy_types=frozenset(types),
        ingress=tuple(draw(st.lists(rules(), max_size=2))) if Direction.INGRESS in types else (),
        egress=tuple(draw(st.lists(rules(), max_size=2))) if Direction.EGRESS in types else (),
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
            max_size=2,
        )
    )
    return Endpoint(
        kind=kind,
        namespace=draw(st.sampled_from(NAMESPACES)),
        name=f"e{index}",
        labels=MappingProxyType(draw(labels_st)),
        ports=tuple(ports),
        ips=tuple(draw(st.lists(st.sampled_from(IPS), max_size=1, unique=True))),
        host_network=draw(st.booleans()) and draw(st.booleans()),
        owner=draw(st.sampled_from([None, "a/deployment/w1", "b/deployment/w2"])) if kind == "Pod" else None,
    )


@st.composite
def clusters(draw: st.DrawFn, max_endpoints: int = 7, max_policies: int = 5) -> Cluster:
    nss = {}
    for name in NAMESPACES:
        if draw(st.booleans()):
            nss[name] = Namespace(
                name=name, labels=MappingProxyType({"kubernetes.io/metadata.name": name, **draw(labels_st)})
            )
    eps = tuple(draw(endpoints(i)) for i in range(draw(st.integers(0, max_endpoints))))
    pols = tuple(draw(policies(i)) for i in range(draw(st.integers(0, max_policies))))
    return Cluster(namespaces=nss, endpoints=eps, policies=pols)


options_st = st.builds(Options, ipblock_matches_pods=st.booleans(), host_network=st.sampled_from(list(HostNetworkMode)))


@st.composite
def mutated(draw: st.DrawFn, base: Cluster) -> Cluster:
    """``base`` after a pull request: policies added, removed, edited (rules, peers, ports,
    selectors), endpoints added, removed or relabelled."""
    pols = list(base.policies)
    eps = list(base.endpoints)
    for step in range(draw(st.integers(0, 3))):
        what = draw(st.integers(0, 6))
        if what == 0:
            pols.append(draw(policies(100 + step)))
        elif what == 1 and pols:
            pols.pop(draw(st.integers(0, len(pols) - 1)))
        elif what == 2 and pols:
            k = draw(st.integers(0, len(pols) - 1))
            p = pols[k]
            d = draw(st.sampled_from(sorted(p.policy_types)))
            rs = list(p.rules(d))
            if rs and draw(st.booleans()):
                rs[draw(st.integers(0, len(rs) - 1))] = draw(rules())
            else:
                rs.append(draw(rules()))
            pols[k] = replace(p, **{"ingress" if d is Direction.INGRESS else "egress": tuple(rs)})
        elif what == 3 and pols:
            k = draw(st.integers(0, len(pols) - 1))
            pols[k] = replace(pols[k], pod_selector=draw(selectors()))
        elif what == 4:
            eps.append(draw(endpoints(100 + step)))
        elif what == 5 and eps:
            eps.pop(draw(st.integers(0, len(eps) - 1)))
        elif what == 6 and eps:
            k = draw(st.integers(0, len(eps) - 1))
            eps[k] = replace(eps[k], labels=MappingProxyType(draw(labels_st)))
    return Cluster(namespaces=base.namespaces, endpoints=tuple(eps), policies=tuple(pols))


def probe_ports(*cs: Cluster) -> dict[Protocol, list[int]]:
    """Ports to evaluate one by one: each protocol's ends, and every number the inputs name,
    with its neighbours (where an interval could begin or end)."""
    nums = {1, 2, 65534, 65535, 1000, 30000}
    for c in cs:
        for ep in c.endpoints:
            nums.update(cp.port for cp in ep.ports)
        for p in c.policies:
            for r in (*p.ingress, *p.egress):
                for s in r.ports:
                    if isinstance(s.port, int):
                        nums.add(s.port)
                        if s.end_port is not None:
                            nums.add(s.end_port)
        for tp in c.tier_policies:
            for tr in (*tp.ingress, *tp.egress):
                for port in tr.ports or ():
                    if port.port is not None:
                        nums.update((port.port, port.end_port or port.port))
    ports = sorted({x + d for x in nums for d in (-1, 0, 1) if 1 <= x + d <= 65535})
    return {p: ports for p in PROTOCOLS}
