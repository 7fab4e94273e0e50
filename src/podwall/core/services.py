"""Services as destinations, resolved the way kube-proxy resolves them.

A connection to a Service port reaches one of the pods its selector selects (in the Service's
namespace), on the port's ``targetPort``: a number, or a container port *name* looked up on
each backing pod (so different pods may listen on different numbers); no ``targetPort`` means
the same number as ``port``. NetworkPolicy then applies to the connection after that
translation, to the pod and its port (what the upstream e2e suite requires, since its probes go
through Services). The verdict for a Service covers every backing pod.
"""

from __future__ import annotations

from dataclasses import dataclass

from podwall.core.evaluate import Engine, Verdict
from podwall.core.model import Cluster, Endpoint, Protocol, Service, ServicePort, Target
from podwall.core.ports import named_port_numbers
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
    """The verdict for a connection to a Service: one verdict per backing pod."""

    src: str
    dst: str
    service_port: int
    protocol: Protocol
    backends: tuple[Backend, ...]

    @property
    def allowed(self) -> bool:
        """True iff there is a backend and every backend is reachable."""
        return bool(self.backends) and len(self.reachable) == len(self.backends)

    @property
    def reachable(self) -> tuple[str, ...]:
        return tuple(b.endpoint for b in self.backends if b.verdict is not None and b.verdict.allowed)

    def reason(self) -> str:
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


def service_backends(cluster: Cluster, svc: Service) -> list[Endpoint]:
    """The endpoints a Service's selector selects, in its namespace."""
    if not svc.selector:  # no selector, or an empty one: no endpoints are managed for it
        return []
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


def evaluate_service(
    engine: Engine, cluster: Cluster, src: Target, svc: Service, port: int | str, protocol: Protocol
) -> ServiceVerdict:
    """Evaluate ``src`` → Service ``svc`` port ``port`` against every backing pod."""
    sp = find_service_port(svc, port, protocol)
    backends = []
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
    return ServiceVerdict(src=src.key, dst=svc.key, service_port=sp.port, protocol=protocol, backends=tuple(backends))
