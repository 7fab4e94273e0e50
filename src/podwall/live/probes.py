"""Live probes: real connections in a real cluster, the way the seed tests with ``kubectl run``.

For each expectation (``from``, ``to``, ``port``, ``protocol``):

* **From the real source pod** when it runs in the cluster: an ephemeral container added to it
  (what ``kubectl debug`` does), so the connection leaves with the pod's own IP, labels and
  namespace, which is what every policy matches on. A workload source probes from one of its
  running pods.
* **From a stand-in** when the source exists only in the manifests (the seed's
  ``kubectl run deny-test -l app=other``): a throwaway pod with the source's labels, in a scratch
  namespace podwall creates (with the source namespace's labels), so that no ReplicaSet or other
  controller can adopt it. The engine's verdict is then computed for that stand-in as it really
  is (its scratch namespace, its labels, its IP), never for the pod it stands in for.

The probe runs agnhost's ``connect`` (the upstream e2e suites' prober), whose stderr names the
outcome: connected, refused, timed out, DNS failure, other. Kubernetes reports it as the
container's exit code and termination message. Everything podwall creates is deleted at the end,
on failure and on Ctrl-C; ephemeral containers cannot be removed from a pod and stay as
terminated entries in its status, as with ``kubectl debug``.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from typing import Protocol as TypingProtocol

from podwall.core.evaluate import Engine
from podwall.core.model import Address, Cluster, Endpoint, Namespace, Options, Protocol, Service, Target
from podwall.core.services import evaluate_service, resolve_port
from podwall.errors import ClusterError, QueryError
from podwall.live.kube import Kube, run_id, terminated, wait_for

AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.53"
"""The image the upstream NetworkPolicy e2e tests probe with."""
OWNER_ANNOTATION = "podwall.io/owner"
"""On what podwall creates (an annotation, not a label: a label could change what selectors match)."""
SCRATCH_PREFIX = "podwall-probe-"


class LiveOutcome(enum.StrEnum):
    """What a real connection attempt did."""

    CONNECTED = "connected"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    DNS = "dns-failure"
    ERROR = "error"
    SKIPPED = "skipped"

    @property
    def verdict(self) -> str | None:
        """``allow`` / ``deny`` as the network decided, or None when nothing was learnt.

        A refusal means the packet reached the pod (nothing listened): the policy allowed it.
        """
        if self in (LiveOutcome.CONNECTED, LiveOutcome.REFUSED):
            return "allow"
        if self is LiveOutcome.TIMEOUT:
            return "deny"
        return None


def outcome_of(exit_code: int, message: str) -> tuple[LiveOutcome, str]:
    """agnhost connect's result: exit 0, or a message that starts TIMEOUT/REFUSED/DNS/OTHER."""
    if exit_code == 0:
        return LiveOutcome.CONNECTED, ""
    text = message.strip()
    head = text.split(":", 1)[0].split()[0] if text else ""
    mapping = {"TIMEOUT": LiveOutcome.TIMEOUT, "REFUSED": LiveOutcome.REFUSED, "DNS": LiveOutcome.DNS}
    return mapping.get(head, LiveOutcome.ERROR), text[:200]


def connect_command(host: str, port: int, protocol: Protocol, timeout: float) -> list[str]:
    return ["/agnhost", "connect", f"--timeout={timeout:g}s", f"--protocol={protocol.value.lower()}", f"{host}:{port}"]


class ProbeSpec(TypingProtocol):
    """One expectation, as the expectations file gives it."""

    @property
    def src(self) -> str: ...
    @property
    def dst(self) -> str: ...
    @property
    def port(self) -> int | str: ...
    @property
    def protocol(self) -> Protocol: ...
    @property
    def expect(self) -> bool:
        """True: the connection must be allowed."""
        ...


Resolver = Callable[[Cluster, str, bool], Target | Service]
"""Endpoint-name resolution: (cluster, name, allow_service) -> endpoint, Service or address."""


@dataclass(frozen=True, kw_only=True)
class LiveSettings:
    image: str = AGNHOST
    timeout: float = 3.0
    """Seconds agnhost waits for a connection (``--timeout 3s`` as in the seed's wget)."""
    pod_timeout: float = 90.0
    """Seconds to wait for a probe container to start and finish."""
    parallel: int = 4
    interval: float = 0.5


@dataclass(frozen=True, kw_only=True)
class LiveResult:
    src: str
    dst: str
    port: int | str
    protocol: Protocol
    expect: str
    outcome: LiveOutcome
    detail: str
    via: str
    """Where the probe ran: ``ephemeral container X in ns/pod`` or ``stand-in ns/pod``."""
    engine: str
    """``allow`` or ``deny``: podwall's verdict for the connection as it was really made."""
    engine_reason: str

    @property
    def observed(self) -> str | None:
        return self.outcome.verdict

    @property
    def agrees(self) -> bool:
        """The network did what the engine says (skipped and errors agree with nothing)."""
        return self.observed == self.engine

    @property
    def meets_expectation(self) -> bool:
        return self.observed == self.expect


@dataclass
class _Run:
    kube: Kube
    cluster: Cluster
    options: Options | None
    resolve: Resolver
    settings: LiveSettings
    id: str = dataclasses.field(default_factory=run_id)
    created_namespaces: list[str] = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    scratch: dict[str, str] = dataclasses.field(default_factory=dict)
    pod_locks: dict[str, threading.Lock] = dataclasses.field(default_factory=dict)
    """One per source pod: adding an ephemeral container is a read-modify-write of its list."""

    # -- live lookups --------------------------------------------------------------------
    def live_pod(self, ep: Endpoint) -> dict[str, Any] | None:
        """A running pod of ``ep`` in the cluster (the pod itself, or one of the workload's pods)."""
        if ep.is_pod:
            pods = [self.kube.get_optional(f"/api/v1/namespaces/{ep.namespace}/pods/{ep.name}")]
        else:
            selector = ",".join(f"{k}={v}" for k, v in sorted(ep.labels.items()))
            pods = self.kube.list(f"/api/v1/namespaces/{ep.namespace}/pods", selector)
        for pod in pods:
            status = (pod.get("status") or {}) if isinstance(pod, dict) else {}
            if isinstance(pod, dict) and status.get("phase") == "Running" and status.get("podIP"):
                found: dict[str, Any] = pod
                return found
        return None

    # -- probing -------------------------------------------------------------------------
    def probe(self, spec: ProbeSpec) -> LiveResult:
        proto = spec.protocol
        src = self.resolve(self.cluster, spec.src, False)
        dst = self.resolve(self.cluster, spec.dst, True)
        if isinstance(src, Service):
            raise QueryError(f"{spec.src}: a Service can only be a destination")

        def result(outcome: LiveOutcome, detail: str, via: str, engine: tuple[str, str]) -> LiveResult:
            return LiveResult(
                src=spec.src,
                dst=spec.dst,
                port=spec.port,
                protocol=proto,
                expect="allow" if spec.expect else "deny",
                outcome=outcome,
                detail=detail,
                via=via,
                engine=engine[0],
                engine_reason=engine[1],
            )

        def skipped(why: str) -> LiveResult:
            return result(LiveOutcome.SKIPPED, why, "", self.verdict(self.cluster, src, dst, spec.port, proto))

        if not isinstance(src, Endpoint):
            return skipped("the source is an address outside the cluster: nothing to probe from")
        host, port = self.destination(dst, spec.port, proto)
        if host is None:
            return skipped(port if isinstance(port, str) else "the destination does not run in the cluster")
        assert isinstance(port, int)
        command = connect_command(host, port, proto, self.settings.timeout)
        pod = self.live_pod(src)
        cluster: Cluster = self.cluster
        source: Target = src
        if pod is not None:
            via, outcome, detail = self.from_pod(pod, command)
        else:
            via, outcome, detail, cluster, source = self.from_stand_in(src, command)
        return result(outcome, detail, via, self.verdict(cluster, source, dst, spec.port, proto))

    def destination(self, dst: Target | Service, port: int | str, proto: Protocol) -> tuple[str | None, int | str]:
        if isinstance(dst, Address):
            return None, "the destination is an address outside the cluster: never probed"
        if isinstance(dst, Service):
            number = port if isinstance(port, int) else None
            for sp in dst.ports:
                if (isinstance(port, str) and sp.name == port) or sp.port == port:
                    number = sp.port
            if number is None:
                return None, f"Service {dst.namespace}/{dst.name} has no port {port!r}"
            return f"{dst.name}.{dst.namespace}.svc.cluster.local", int(number)
        pod = self.live_pod(dst)
        if pod is None:
            return None, f"{dst.key} has no running pod in the cluster"
        try:
            number = resolve_port(port, proto, dst)
        except QueryError as exc:
            return None, str(exc)
        return str(pod["status"]["podIP"]), number

    def verdict(
        self, cluster: Cluster, src: Target, dst: Target | Service, port: int | str, proto: Protocol
    ) -> tuple[str, str]:
        engine = Engine(cluster, self.options)
        if isinstance(dst, Service):
            sv = evaluate_service(engine, cluster, src, dst, port, proto)
            return ("allow" if sv.allowed else "deny"), sv.reason()
        v = engine.verdict(src, dst, resolve_port(port, proto, dst), proto)
        return ("allow" if v.allowed else "deny"), v.reason()

    def from_pod(self, pod: dict[str, Any], command: list[str]) -> tuple[str, LiveOutcome, str]:
        meta = pod["metadata"]
        ns, name = meta.get("namespace", "default"), meta["name"]
        with self.lock:
            cname = f"podwall-probe-{run_id()}"
        path = f"/api/v1/namespaces/{ns}/pods/{name}"
        container = {
            "name": cname,
            "image": self.settings.image,
            "command": command,
            "terminationMessagePolicy": "FallbackToLogsOnError",
        }
        with self.lock:
            pod_lock = self.pod_locks.setdefault(path, threading.Lock())
        with pod_lock:
            current = self.kube.get(path)
            existing = list((current.get("spec") or {}).get("ephemeralContainers") or [])
            self.kube.patch(f"{path}/ephemeralcontainers", {"spec": {"ephemeralContainers": [*existing, container]}})

        def done() -> tuple[int, str] | None:
            status = (self.kube.get(path).get("status") or {}).get("ephemeralContainerStatuses") or []
            for st in status:
                if isinstance(st, dict) and st.get("name") == cname:
                    return terminated(st)
            return None

        via = f"ephemeral container {cname} in {ns}/{name}"
        try:
            code, message = wait_for(
                f"{via} to finish", done, timeout=self.settings.pod_timeout, interval=self.settings.interval
            )
        except ClusterError as exc:
            return via, LiveOutcome.ERROR, str(exc)
        outcome, detail = outcome_of(code, message)
        return via, outcome, detail

    def scratch_namespace(self, source_ns: str) -> str:
        with self.lock:
            if source_ns in self.scratch:
                return self.scratch[source_ns]
            name = f"{SCRATCH_PREFIX}{self.id}-{len(self.scratch)}"
            labels = {k: v for k, v in self.cluster.namespace_labels(source_ns).items()}
            labels["kubernetes.io/metadata.name"] = name
            self.kube.create(
                "/api/v1/namespaces",
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {
                        "name": name,
                        "labels": labels,
                        "annotations": {OWNER_ANNOTATION: self.id, "podwall.io/stands-in-for": source_ns},
                    },
                },
            )
            self.created_namespaces.append(name)
            self.scratch[source_ns] = name
            return name

    def from_stand_in(self, src: Endpoint, command: list[str]) -> tuple[str, LiveOutcome, str, Cluster, Target]:
        ns = self.scratch_namespace(src.namespace)
        with self.lock:
            name = f"{src.name[:40]}-{run_id()}".strip("-")
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": dict(src.labels),
                "annotations": {OWNER_ANNOTATION: self.id, "podwall.io/stands-in-for": src.key},
            },
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "probe",
                        "image": self.settings.image,
                        "command": command,
                        "terminationMessagePolicy": "FallbackToLogsOnError",
                    }
                ],
            },
        }
        path = f"/api/v1/namespaces/{ns}/pods/{name}"
        self.kube.create(f"/api/v1/namespaces/{ns}/pods", body)
        via = f"stand-in {ns}/{name}"
        state: dict[str, Any] = {}

        def done() -> tuple[int, str] | None:
            pod = self.kube.get(path)
            state["pod"] = pod
            for st in (pod.get("status") or {}).get("containerStatuses") or []:
                got = terminated(st)
                if got is not None:
                    return got
            return None

        try:
            code, message = wait_for(
                f"{via} to finish", done, timeout=self.settings.pod_timeout, interval=self.settings.interval
            )
            outcome, detail = outcome_of(code, message)
        except ClusterError as exc:
            outcome, detail = LiveOutcome.ERROR, str(exc)
        ip = ((state.get("pod") or {}).get("status") or {}).get("podIP")
        stand_in = Endpoint(
            kind="Pod", namespace=ns, name=name, labels=MappingProxyType(dict(src.labels)), ips=(ip,) if ip else ()
        )
        labels = dict(self.cluster.namespace_labels(src.namespace))
        labels["kubernetes.io/metadata.name"] = ns
        namespaces = {**self.cluster.namespaces, ns: Namespace(name=ns, labels=MappingProxyType(labels))}
        cluster = dataclasses.replace(
            self.cluster, endpoints=(*self.cluster.endpoints, stand_in), namespaces=MappingProxyType(namespaces)
        )
        return via, outcome, detail, cluster, stand_in

    def cleanup(self) -> list[str]:
        """Delete every scratch namespace (and so every stand-in); the names deleted."""
        gone = []
        for ns in list(self.created_namespaces):
            try:
                self.kube.delete(f"/api/v1/namespaces/{ns}")
                gone.append(ns)
                self.created_namespaces.remove(ns)
            except ClusterError:
                continue
        return gone


@dataclass(frozen=True, kw_only=True)
class LiveReport:
    results: tuple[LiveResult, ...]
    deleted: tuple[str, ...]
    """Scratch namespaces podwall created and deleted."""
    left: tuple[str, ...]
    """Scratch namespaces podwall created but could not delete (the user must)."""


def run_live_probes(
    kube: Kube,
    cluster: Cluster,
    probes: Sequence[ProbeSpec],
    *,
    resolve: Resolver,
    options: Options | None = None,
    settings: LiveSettings | None = None,
    progress: Callable[[LiveResult], None] | None = None,
) -> LiveReport:
    """Probe each expectation for real; delete what was created, also on errors and Ctrl-C."""
    run = _Run(kube=kube, cluster=cluster, options=options, resolve=resolve, settings=settings or LiveSettings())
    results: list[LiveResult] = []
    try:
        with ThreadPoolExecutor(max_workers=max(1, run.settings.parallel), thread_name_prefix="probe") as pool:
            for r in pool.map(run.probe, probes):
                results.append(r)
                if progress is not None:
                    progress(r)
    finally:
        deleted = run.cleanup()
    return LiveReport(results=tuple(results), deleted=tuple(deleted), left=tuple(run.created_namespaces))
