"""Small constructors for core-model objects, so that test tables stay readable."""

from __future__ import annotations

import ipaddress
from types import MappingProxyType

from podwall.core.model import (
    Address,
    Cluster,
    ContainerPort,
    Direction,
    Endpoint,
    IPBlock,
    LabelSelector,
    Namespace,
    Peer,
    Policy,
    PortSpec,
    Protocol,
    Rule,
)

NS_LABEL = "kubernetes.io/metadata.name"


def labels_sel(**labels: str) -> LabelSelector:
    return LabelSelector(match_labels=tuple(sorted(labels.items())))


def pod(
    ns: str,
    name: str,
    labels: dict[str, str] | None = None,
    *,
    ports: tuple[tuple[str | None, int, Protocol], ...] = (),
    ips: tuple[str, ...] = (),
    host_network: bool = False,
    kind: str = "Pod",
) -> Endpoint:
    return Endpoint(
        kind=kind,
        namespace=ns,
        name=name,
        labels=MappingProxyType(dict(labels or {})),
        ports=tuple(ContainerPort(port=n, protocol=p, name=nm) for nm, n, p in ports),
        ips=ips,
        host_network=host_network,
    )


def addr(ip: str) -> Address:
    return Address(ip=ipaddress.ip_address(ip))


def block(cidr: str, *excepts: str) -> IPBlock:
    return IPBlock(
        cidr=cidr,
        network=ipaddress.ip_network(cidr),
        excepts=excepts,
        except_networks=tuple(ipaddress.ip_network(e) for e in excepts),
    )


def peer(
    pod_selector: LabelSelector | None = None,
    namespace_selector: LabelSelector | None = None,
    ip_block: IPBlock | None = None,
) -> Peer:
    return Peer(pod_selector=pod_selector, namespace_selector=namespace_selector, ip_block=ip_block)


def port(p: int | str | None = None, proto: Protocol = Protocol.TCP, end: int | None = None) -> PortSpec:
    return PortSpec(protocol=proto, port=p, end_port=end)


def rule(peers: tuple[Peer, ...] = (), ports: tuple[PortSpec, ...] = ()) -> Rule:
    return Rule(peers=peers, ports=ports)


def policy(
    ns: str,
    name: str,
    selector: LabelSelector | None = None,
    *,
    ingress: tuple[Rule, ...] | None = None,
    egress: tuple[Rule, ...] | None = None,
    types: tuple[Direction, ...] | None = None,
) -> Policy:
    """A defaulted policy: ``types`` defaults the way the API server does."""
    if types is None:
        types = (Direction.INGRESS,) + ((Direction.EGRESS,) if egress else ())
    return Policy(
        namespace=ns,
        name=name,
        pod_selector=selector if selector is not None else LabelSelector(),
        policy_types=frozenset(types),
        ingress=ingress or (),
        egress=egress or (),
    )


def namespace(name: str, **labels: str) -> Namespace:
    return Namespace(name=name, labels=MappingProxyType({**labels, NS_LABEL: name}))


def cluster(
    endpoints: tuple[Endpoint, ...] = (),
    policies: tuple[Policy, ...] = (),
    namespaces: tuple[Namespace, ...] = (),
) -> Cluster:
    nss = {n.name: n for n in namespaces}
    for e in endpoints:
        nss.setdefault(e.namespace, namespace(e.namespace))
    return Cluster(namespaces=MappingProxyType(nss), endpoints=endpoints, policies=policies)
