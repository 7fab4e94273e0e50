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

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from podwall.core import names
from podwall.core.evaluate import Engine, Verdict
from podwall.core.model import Cluster, Endpoint, Options, Protocol, Service, Target
from podwall.core.services import ServiceVerdict, evaluate_service, resolve_port
from podwall.errors import Diagnostic, QueryError
from podwall.sources.decode import LoadResult
from podwall.sources.decode import load as _load

KIND_ALIASES = names.KIND_ALIASES
SERVICE_ALIASES = names.SERVICE_ALIASES


@dataclass
class LoadedCluster:
    """A loaded cluster that answers questions (the object :func:`podwall.load` returns)."""

    result: LoadResult
    engine: Engine
    default_namespace: str = "default"

    @property
    def cluster(self) -> Cluster:
        return self.result.cluster

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.result.diagnostics

    # -- naming ------------------------------------------------------------------------
    def endpoint(self, name: str, *, allow_service: bool = False) -> Target | Service:
        """Resolve an endpoint name (:func:`podwall.core.names.resolve`); raises QueryError with
        suggestions when unknown."""
        return self.resolve(name, allow_service=allow_service).target

    def resolve(self, name: str, *, allow_service: bool = False) -> names.Resolution:
        """Like :meth:`endpoint`, with the note said when the name was a pod's folded into its workload."""
        return names.resolve(self.cluster, name, default_namespace=self.default_namespace, allow_service=allow_service)

    def target(self, name: str) -> Target:
        t = self.endpoint(name)
        assert not isinstance(t, Service)
        return t

    # -- questions ---------------------------------------------------------------------
    def can(self, src: str, dst: str, port: int | str, protocol: str | Protocol = "TCP") -> Verdict | ServiceVerdict:
        """The verdict for one connection; ``dst`` may be a Service, ``port`` a name."""
        proto = Protocol(protocol) if isinstance(protocol, str) else protocol
        rs = self.resolve(src)
        rd = self.resolve(dst, allow_service=True)
        s, d = rs.target, rd.target
        if isinstance(s, Service):  # pragma: no cover - resolve refuses a Service as a source
            raise QueryError(f"{src}: a Service can only be a destination")
        if isinstance(d, Service):
            return evaluate_service(self.engine, self.cluster, s, d, port, proto)
        v = self.engine.verdict(s, d, resolve_port(port, proto, d), proto)
        notes = tuple(n for n in (rs.note, rd.note) if n)
        return dataclasses.replace(v, notes=v.notes + notes) if notes else v

    def endpoints(self) -> Sequence[Endpoint]:
        return self.cluster.endpoints


def load(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    namespace: str = "default",
    options: Options | None = None,
    stdin: BinaryIO | None = None,
    strict: bool = True,
) -> LoadedCluster:
    """Load manifests (files, directories, ``-`` for stdin) into a cluster you can query.

    Args:
        paths: a path or paths; directories are read recursively (.yaml, .yml, .json).
        namespace: where objects without a namespace go.
        options: implementation-defined semantics (:class:`podwall.Options`).
        stdin: the stream ``-`` reads (default: the process's stdin).
        strict: raise :class:`podwall.ManifestError` when the input has errors.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    result = _load([os.fspath(p) for p in paths], default_namespace=namespace, stdin=stdin)
    if strict:
        result.raise_for_errors()
    return LoadedCluster(result=result, engine=Engine(result.cluster, options), default_namespace=namespace)
