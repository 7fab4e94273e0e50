"""Services as destinations, resolved the way kube-proxy and cluster DNS resolve them.

A connection to a Service port reaches one of the pods its selector selects (in the Service's
namespace), on the port's ``targetPort``: a number, or a container port *name* looked up on
each backing pod (so different pods may listen on different numbers); no ``targetPort`` means
the same number as ``port``. NetworkPolicy then applies to the connection after that
translation, to the pod and its port (what the upstream e2e suite requires, since its probes go
through Services). The verdict for a Service covers every backing pod.

Three other shapes:

* a Service without a selector: kube-proxy sends the connection to the ready addresses of its
  EndpointSlices (or its Endpoints object), on the endpoint port of the same name. An address
  is a pod of the input (by ``targetRef`` or by IP) or stays an address outside the cluster.
  When the input holds neither object, the backends are unknown, and so is the answer;
* an ``ExternalName`` Service: cluster DNS answers with a CNAME to a name outside the cluster,
  and no proxying happens (its selector is ignored). The connection goes to whatever address
  that name resolves to, so only the client's egress decides: it is allowed if the client is
  not isolated for egress or an egress rule allows every destination on that port; it is
  denied if no egress rule could match an address outside the cluster (only ``ipBlock`` peers
  can); otherwise it depends on the address, and the answer is unknown.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from podwall.core.evaluate import DirectionVerdict, Engine, RuleRef, Verdict
from podwall.core.model import (
    Address,
    Cluster,
    Direction,
    Endpoint,
    EndpointAddress,
    Protocol,
    Service,
    ServicePort,
    Target,
)
from podwall.core.ports import named_port_numbers, ports_match
from podwall.errors import QueryError


def resolve_port(port: int | str, protocol: Protocol, dst: Target) -> int:
    """A port number for a query: numbers pass through, names resolve on ``dst``."""
    if isinstance(port, int):
        if not 1 <= port <= 65535:
            raise QueryError(f"port {port} is out of range 1-65535")
        return port
    if port.isdigit():
        return resolve_port(int(port), protocol, dst)
    numbers = named_port_numbers(port, protocol, dst)
    if not numbers:
        raise QueryError(f"{dst.key} declares no {protocol} container port named {port!r}")
    return numbers[0]


@dataclass(frozen=True, kw_only=True)
class Backend:
    endpoint: str
    port: int | None
    """The resolved target port, or ``None`` when the pod lacks the named target port."""
    verdict: Verdict | None


@dataclass(frozen=True, kw_only=True)
class ServiceVerdict:
    """The verdict for a connection to a Service: one verdict per backing pod.

    ``answer`` is ``yes``, ``no`` or ``unknown`` (backends not in the input, or an
    ``ExternalName`` whose address decides); ``allowed`` is True only for ``yes``."""

    src: str
    dst: str
    service_port: int
    protocol: Protocol
    backends: tuple[Backend, ...]
    service_type: str = "ClusterIP"
    external_name: str | None = None
    egress: DirectionVerdict | None = None
    """For an ``ExternalName`` Service: the client's egress towards an address outside the cluster."""
    external_answer: str | None = None
    """For an ``ExternalName`` Service: ``yes``, ``no`` or ``unknown``."""
    unknown: str | None = None
    """Why the answer is unknown, when it is."""

    @property
    def answer(self) -> str:
        if self.unknown is not None:
            return "unknown"
        return "yes" if self.allowed else "no"

    @property
    def allowed(self) -> bool:
        """True iff the answer is yes: every backend is reachable (an ``ExternalName``: egress allows it)."""
        if self.unknown is not None:
            return False
        if self.external_name is not None:
            return self.external_answer == "yes"
        return bool(self.backends) and len(self.reachable) == len(self.backends)

    @property
    def reachable(self) -> tuple[str, ...]:
        return tuple(b.endpoint for b in self.backends if b.verdict is not None and b.verdict.allowed)

    def reason(self) -> str:
        if self.external_name is not None:
            head = (f"{self.dst} is an ExternalName Service ({self.external_name}, outside the cluster): "
                    f"only the egress of {self.src} decides")
            if self.unknown is not None:
                return f"{head}; {self.unknown}"
            assert self.egress is not None
            return f"{head}; {self.egress.summary()}"
        if self.unknown is not None:
            return self.unknown
        if not self.backends:
            return f"{self.dst} has no backing pods in the input"
        ok = self.reachable
        if len(ok) == len(self.backends):
            return f"every backing pod is reachable ({', '.join(ok)})"
        parts = []
        for b in self.backends:
            if b.endpoint in ok:
                continue
            if b.verdict is None:
                parts.append(f"{b.endpoint}: has no matching target port")
            else:
                parts.append(f"{b.endpoint}: {b.verdict.reason()}")
        head = f"{len(ok)} of {len(self.backends)} backing pods reachable" if ok else "no backing pod is reachable"
        return head + "; " + "; ".join(parts)


def _address_target(cluster: Cluster, addr: EndpointAddress) -> Target:
    """The pod (or the workload it was folded into) behind an endpoint address, or the address."""
    if addr.target is not None:
        for e in cluster.endpoints:
            if e.is_pod and e.key == addr.target:
                return e
    for e in cluster.endpoints:
        if addr.ip in e.ips:
            return e
    return Address(ip=ipaddress.ip_address(addr.ip))


def service_backends(cluster: Cluster, svc: Service) -> list[Endpoint]:
    """The endpoints behind a Service: those its selector selects in its namespace, or for a
    Service without selector, the pods its endpoint addresses belong to."""
    if svc.type == "ExternalName":
        return []
    if not svc.selector:  # no selector, or an empty one: endpoints are managed by hand
        out: list[Endpoint] = []
        for a in svc.addresses or ():
            t = _address_target(cluster, a)
            if isinstance(t, Endpoint) and t not in out:
                out.append(t)
        return out
    sel = svc.selector
    return [
        e
        for e in cluster.endpoints
        if e.namespace == svc.namespace and all(e.labels.get(k) == v for k, v in sel.items())
    ]


def find_service_port(svc: Service, port: int | str, protocol: Protocol) -> ServicePort:
    for sp in svc.ports:
        if sp.protocol is not protocol:
            continue
        if (isinstance(port, int) and sp.port == port) or (
            isinstance(port, str) and (sp.name == port or str(sp.port) == port)
        ):
            return sp
    have = ", ".join(f"{sp.name + '=' if sp.name else ''}{sp.protocol}/{sp.port}" for sp in svc.ports) or "none"
    raise QueryError(f"{svc.key} has no {protocol} port {port} (its ports: {have})")


def _external_egress(engine: Engine, src: Target, port: int, protocol: Protocol) -> tuple[str, DirectionVerdict]:
    """``src``'s egress to an unknown address outside the cluster: ``yes``, ``no`` or ``unknown``."""
    probe = Address(ip=ipaddress.ip_address("192.0.2.1"))  # (only to ask "not governed / not isolated")
    base = engine.direction(Direction.EGRESS, src, probe, probe, port, protocol)
    if not base.governed or not base.isolated:
        return "yes", base
    assert isinstance(src, Endpoint)
    allow_all: list[RuleRef] = []
    maybe = False
    for pol in engine.selecting(src, Direction.EGRESS):
        for i, rule in enumerate(pol.egress):
            if not ports_match(rule.ports, port, protocol, probe):
                continue
            whole = {p.ip_block.network.version for p in rule.peers
                     if p.ip_block is not None and p.ip_block.network.prefixlen == 0 and not p.ip_block.excepts}
            if not rule.peers or whole == {4, 6}:  # every address of both families
                allow_all.append(RuleRef(policy=pol.key, direction=Direction.EGRESS, rule=i))
            elif any(p.ip_block is not None for p in rule.peers):
                maybe = True
    if allow_all:
        return "yes", DirectionVerdict(
            direction=Direction.EGRESS, endpoint=src.key, governed=True, isolated=True,
            policies=base.policies, allowed=True, allowed_by=tuple(allow_all),
        )
    if maybe:
        return "unknown", base
    return "no", DirectionVerdict(
        direction=Direction.EGRESS, endpoint=src.key, governed=True, isolated=True,
        policies=base.policies, allowed=False, misses=base.misses,
    )


def _endpoint_port(addr: EndpointAddress, sp: ServicePort, protocol: Protocol) -> int | None:
    """kube-proxy pairs a Service port with the endpoint port of the same name."""
    for ep in addr.ports:
        if ep.protocol is protocol and (ep.name or None) == (sp.name or None):
            return ep.port
    return None


def evaluate_service(
    engine: Engine, cluster: Cluster, src: Target, svc: Service, port: int | str, protocol: Protocol
) -> ServiceVerdict:
    """Evaluate ``src`` → Service ``svc`` port ``port`` against every backing pod."""
    if svc.type == "ExternalName" and isinstance(port, int) and not any(
        p.port == port and p.protocol is protocol for p in svc.ports
    ):
        # nothing is proxied: the client connects to the name's address on the port it uses,
        # whether or not the Service lists it (an ExternalName Service usually lists none)
        sp = ServicePort(name=None, port=port, protocol=protocol)
    else:
        sp = find_service_port(svc, port, protocol)
    common = {"src": src.key, "dst": svc.key, "service_port": sp.port, "protocol": protocol,
              "service_type": svc.type}
    if svc.type == "ExternalName":
        # no proxying: the client connects to the resolved address on the port it asked for
        ans, egress = _external_egress(engine, src, sp.port, protocol)
        unknown = None
        if ans == "unknown":
            unknown = (f"egress of {src.key} is isolated by {', '.join(egress.policies)} and only ipBlock rules "
                       f"could allow it: that depends on the address {svc.external_name} resolves to")
        return ServiceVerdict(backends=(), external_name=svc.external_name or "", egress=egress,
                              external_answer=ans, unknown=unknown, **common)  # type: ignore[arg-type]
    backends = []
    if not svc.selector:
        if svc.addresses is None:
            return ServiceVerdict(
                backends=(),
                unknown=(f"{svc.key} has no selector: its backends are in Endpoints or EndpointSlices, "
                         "and the input holds neither for it"),
                **common,  # type: ignore[arg-type]
            )
        for a in svc.addresses:
            target = _address_target(cluster, a)
            num = _endpoint_port(a, sp, protocol)
            key = target.key
            if num is None:
                backends.append(Backend(endpoint=key, port=None, verdict=None))
            else:
                backends.append(Backend(endpoint=key, port=num, verdict=engine.verdict(src, target, num, protocol)))
        return ServiceVerdict(backends=tuple(backends), **common)  # type: ignore[arg-type]
    for ep in service_backends(cluster, svc):
        tp = sp.target_port if sp.target_port is not None else sp.port
        if isinstance(tp, str) and not tp.isdigit():
            numbers = named_port_numbers(tp, protocol, ep)
            if not numbers:
                backends.append(Backend(endpoint=ep.key, port=None, verdict=None))
                continue
            num = numbers[0]
        else:
            num = int(tp)
        backends.append(Backend(endpoint=ep.key, port=num, verdict=engine.verdict(src, ep, num, protocol)))
    return ServiceVerdict(backends=tuple(backends), **common)  # type: ignore[arg-type]
