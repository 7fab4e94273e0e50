"""The Python API: load manifests once, then ask questions.

    >>> import podwall
    >>> c = podwall.load(["examples/seed"])
    >>> c.can("production/frontend", "production/backend", 8080).allowed
    True

Endpoints are named as on the command line: ``ns/pod``, ``ns/kind/name`` for a workload
(``production/deployment/web``), an IP address for something outside the cluster, and, as a
destination only, ``ns/service/name``.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO
from typing import Protocol as TypingProtocol

from podwall.core.evaluate import Engine, Verdict
from podwall.core.lint import RULES, SYSTEM_NAMESPACES, Finding
from podwall.core.lint import lint as _lint
from podwall.core.model import Address, Cluster, Endpoint, Options, Protocol, Service, Target
from podwall.core.reachability import Matrix
from podwall.core.reachability import matrix as _matrix
from podwall.core.services import ServiceVerdict, evaluate_service, resolve_port
from podwall.errors import Diagnostic, InputError, PodwallError, QueryError
from podwall.sources.cluster import ClusterRead, ClusterTarget
from podwall.sources.cluster import read as _read_cluster
from podwall.sources.decode import LoadResult, load_texts
from podwall.sources.expectations import Expectation
from podwall.sources.manifests import read_sources

KIND_ALIASES = {
    "pod": "Pod",
    "po": "Pod",
    "pods": "Pod",
    "deployment": "Deployment",
    "deploy": "Deployment",
    "deployments": "Deployment",
    "statefulset": "StatefulSet",
    "sts": "StatefulSet",
    "statefulsets": "StatefulSet",
    "daemonset": "DaemonSet",
    "ds": "DaemonSet",
    "daemonsets": "DaemonSet",
    "replicaset": "ReplicaSet",
    "rs": "ReplicaSet",
    "replicasets": "ReplicaSet",
    "replicationcontroller": "ReplicationController",
    "rc": "ReplicationController",
    "job": "Job",
    "jobs": "Job",
    "cronjob": "CronJob",
    "cj": "CronJob",
    "cronjobs": "CronJob",
}
SERVICE_ALIASES = ("service", "svc", "services")


class Answer(TypingProtocol):
    """What :meth:`LoadedCluster.can` returns, whatever the destination: a :class:`Verdict` for a
    pod, workload or address, a :class:`ServiceVerdict` for a Service."""

    @property
    def allowed(self) -> bool: ...

    def reason(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class ExpectationResult:
    """One expectation checked against the engine (:meth:`LoadedCluster.check`)."""

    expectation: Expectation
    verdict: Verdict | ServiceVerdict

    @property
    def actual(self) -> bool:
        """What the engine says: True allowed."""
        return self.verdict.allowed

    @property
    def ok(self) -> bool:
        return self.actual == self.expectation.expect

    @property
    def failed(self) -> bool:
        """A mismatch that counts (advisory expectations never fail)."""
        return not self.ok and not self.expectation.advisory


def _protocol(value: str | Protocol) -> Protocol:
    if isinstance(value, Protocol):
        return value
    if isinstance(value, str) and value.upper() in Protocol.__members__:
        return Protocol[value.upper()]
    raise QueryError(f"unknown protocol {value!r} (use TCP, UDP or SCTP)")


def _port(value: object) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise QueryError(f"a port is a number or a port name, not {value!r}")
    if isinstance(value, int) and not 1 <= value <= 65535:
        raise QueryError(f"port {value} is out of range (1-65535)")
    if isinstance(value, str) and not value.strip():
        raise QueryError("a port name must not be empty")
    return value


@dataclass(frozen=True)
class LoadedCluster:
    """A loaded cluster that answers questions (the object :func:`podwall.load` returns)."""

    result: LoadResult
    engine: Engine
    default_namespace: str = "default"
    cluster_read: ClusterRead | None = None
    """What was read from a live cluster (``None`` when only files were read)."""

    @property
    def cluster(self) -> Cluster:
        return self.result.cluster

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.result.diagnostics

    # -- naming ------------------------------------------------------------------------
    def endpoint(self, name: str, *, allow_service: bool = False) -> Target | Service:
        """Resolve an endpoint name; raises QueryError with suggestions when unknown."""
        name = name.strip()
        try:
            return Address(ip=ipaddress.ip_address(name))
        except ValueError:
            pass
        parts = name.split("/")
        if len(parts) == 1:
            parts = [self.default_namespace, parts[0]]
        eps = self.cluster.endpoints
        if len(parts) == 2:
            ns, nm = parts
            pods = [e for e in eps if e.is_pod and e.namespace == ns and e.name == nm]
            if pods:
                return pods[0]
            others = [e for e in eps if e.namespace == ns and e.name == nm]
            if len(others) == 1:
                return others[0]
            if len(others) > 1:
                opts = ", ".join(e.key for e in others)
                raise QueryError(f"{name!r} is ambiguous: {opts}")
            if allow_service:
                svcs = [s for s in self.cluster.services if s.namespace == ns and s.name == nm]
                if svcs:
                    return svcs[0]
        elif len(parts) == 3:
            ns, kind_s, nm = parts
            if kind_s.lower() in SERVICE_ALIASES:
                svcs = [s for s in self.cluster.services if s.namespace == ns and s.name == nm]
                if svcs and allow_service:
                    return svcs[0]
                if svcs:
                    raise QueryError(f"{name}: a Service can only be a destination")
            else:
                kind = KIND_ALIASES.get(kind_s.lower())
                if kind is None:
                    raise QueryError(
                        f"{name}: unknown kind {kind_s!r} (use pod, deployment, statefulset, daemonset, replicaset, "
                        f"replicationcontroller, job, cronjob or service)"
                    )
                for e in eps:
                    if e.kind == kind and e.namespace == ns and e.name == nm:
                        return e
        else:
            raise QueryError(f"{name!r} is not an endpoint: write ns/pod, ns/kind/name or an IP address")
        known: dict[str, str] = {}
        for e in eps:
            known[e.key] = e.key
            known.setdefault(f"{e.namespace}/{e.name}", e.key)
        for svc in self.cluster.services:
            known[svc.key] = svc.key
            known.setdefault(f"{svc.namespace}/{svc.name}", svc.key)
        near = list(dict.fromkeys(known[k] for k in difflib.get_close_matches(name, list(known), n=3)))
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise QueryError(f"no endpoint {name!r} in the input{hint}")

    def target(self, name: str) -> Target:
        """Resolve a source name (a pod, workload or address; never a Service)."""
        t = self.endpoint(name)
        if isinstance(t, Service):  # pragma: no cover - endpoint() refuses Services here
            raise QueryError(f"{name}: a Service can only be a destination")
        return t

    # -- questions ---------------------------------------------------------------------
    def can(self, src: str, dst: str, port: int | str, protocol: str | Protocol = "TCP") -> Verdict | ServiceVerdict:
        """The verdict for one connection; ``dst`` may be a Service, ``port`` a name.

        Raises:
            QueryError: an unknown endpoint, protocol or port.
        """
        proto = _protocol(protocol)
        port = _port(port)
        s = self.target(src)
        d = self.endpoint(dst, allow_service=True)
        if isinstance(d, Service):
            return evaluate_service(self.engine, self.cluster, s, d, port, proto)
        return self.engine.verdict(s, d, resolve_port(port, proto, d), proto)

    def check(self, expectations: Iterable[Expectation]) -> tuple[ExpectationResult, ...]:
        """Check the expectations of an expectations file against the engine (``podwall test``).

        Raises:
            QueryError: an expectation names an unknown endpoint or port (with its file and line).
        """
        out = []
        for e in expectations:
            try:
                v = self.can(e.src, e.dst, e.port, e.protocol)
            except PodwallError as exc:
                raise QueryError(f"{e.span}: {exc}") from None
            out.append(ExpectationResult(expectation=e, verdict=v))
        return tuple(out)

    def matrix(self, *, port: int | None = None, protocol: str | Protocol = "TCP") -> Matrix:
        """Who can reach whom among the input's endpoints: on ``port``, or (``None``) on each
        destination's declared container ports.

        Raises:
            QueryError: a bad port or protocol.
        """
        if port is not None:
            checked = _port(port)
            if not isinstance(checked, int):
                raise QueryError("matrix takes a port number (or None for each destination's declared ports)")
        return _matrix(self.engine, port=port, protocol=_protocol(protocol))

    def lint(
        self,
        *,
        enable: Collection[str] | None = None,
        disable: Collection[str] = (),
        cni: str | None = None,
        include_system_namespaces: bool = False,
    ) -> list[Finding]:
        """The lint findings of the input (``podwall lint``): rule ids as ``podwall lint --list-rules``.

        Raises:
            QueryError: an unknown rule id.
        """
        unknown = sorted((set(enable or ()) | set(disable)) - set(RULES))
        if unknown:
            raise QueryError(f"unknown lint rule(s): {', '.join(unknown)} (see podwall lint --list-rules)")
        chosen = (set(RULES) if enable is None else set(enable)) - set(disable)
        return _lint(
            self.cluster,
            self.engine,
            enabled=chosen,
            cni=cni.lower() if cni else None,
            system_namespaces=frozenset() if include_system_namespaces else SYSTEM_NAMESPACES,
        )

    def endpoints(self) -> Sequence[Endpoint]:
        return self.cluster.endpoints


def load(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    namespace: str = "default",
    options: Options | None = None,
    stdin: BinaryIO | None = None,
    strict: bool = True,
    cluster: ClusterTarget | None = None,
) -> LoadedCluster:
    """Load manifests (files, directories, ``-`` for stdin) into a cluster you can query.

    Args:
        paths: a path or paths; directories are read recursively (.yaml, .yml, .json).
        namespace: where objects without a namespace go.
        options: implementation-defined semantics (:class:`podwall.Options`).
        stdin: the stream ``-`` reads (default: the process's stdin).
        strict: raise :class:`podwall.ManifestError` when the input has errors.
        cluster: also read a live cluster (:class:`podwall.ClusterTarget`): its objects are decoded
            exactly as files are, beside any ``paths``.

    Raises:
        InputError: unreadable input, or arguments of the wrong kind (no paths and no cluster, a
            namespace that is not a string, options that are not :class:`podwall.Options`).
        ManifestError: the input has errors (with ``strict``).
        ClusterError: the cluster cannot be read (unreachable, TLS, 401, a 403 naming the permission).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    try:
        names = [os.fspath(p) for p in paths]
    except TypeError:
        raise InputError(f"paths must be file or directory names, not {paths!r}") from None
    if not names and cluster is None:
        raise InputError("no input: give at least one file, directory or '-' (or a cluster)")
    if not isinstance(namespace, str) or not namespace:
        raise InputError(f"namespace must be a non-empty string, not {namespace!r}")
    if options is not None and not isinstance(options, Options):
        raise InputError(f"options must be podwall.Options, not {type(options).__name__}")
    texts = read_sources(names, stdin=stdin) if names else []
    read: ClusterRead | None = None
    if cluster is not None:
        read = _read_cluster(cluster)
        texts = [*read.texts, *texts]
    result = load_texts(texts, default_namespace=namespace)
    if strict:
        result.raise_for_errors()
    return LoadedCluster(
        result=result, engine=Engine(result.cluster, options), default_namespace=namespace, cluster_read=read
    )
