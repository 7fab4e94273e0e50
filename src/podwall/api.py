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
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO
from typing import Protocol as TypingProtocol

from podwall.core import names
from podwall.core.diff import Diff
from podwall.core.evaluate import Engine, Verdict
from podwall.core.lint import RULES, SYSTEM_NAMESPACES, Finding
from podwall.core.lint import lint as _lint
from podwall.core.model import Cluster, Endpoint, Options, Protocol, Service, Target
from podwall.core.portsets import PortSet
from podwall.core.reachability import Matrix
from podwall.core.reachability import matrix as _matrix
from podwall.core.services import ServiceVerdict, evaluate_service, resolve_port
from podwall.errors import Diagnostic, InputError, PodwallError, QueryError
from podwall.sources.cluster import ClusterRead, ClusterTarget
from podwall.sources.cluster import read as _read_cluster
from podwall.sources.decode import LoadResult, load_texts
from podwall.sources.expectations import Expectation
from podwall.sources.manifests import SourceText, read_sources

KIND_ALIASES = names.KIND_ALIASES
SERVICE_ALIASES = names.SERVICE_ALIASES


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
        """Resolve an endpoint name (:func:`podwall.core.names.resolve`); raises QueryError with
        suggestions when unknown."""
        return self.resolve(name, allow_service=allow_service).target

    def resolve(self, name: str, *, allow_service: bool = False) -> names.Resolution:
        """Like :meth:`endpoint`, with the note said when the name was a pod's folded into its workload."""
        return names.resolve(self.cluster, name, default_namespace=self.default_namespace, allow_service=allow_service)

    def target(self, name: str) -> Target:
        """Resolve a source name (a pod, workload or address; never a Service)."""
        t = self.endpoint(name)
        if isinstance(t, Service):  # pragma: no cover - endpoint() refuses Services here
            raise QueryError(f"{name}: a Service can only be a destination")
        return t

    # -- questions ---------------------------------------------------------------------
    def can(self, src: str, dst: str, port: int | str, protocol: str | Protocol = "TCP") -> Verdict | ServiceVerdict:
        """The verdict for one connection; ``dst`` may be a Service, ``port`` a name.

        A pod name that was folded into its workload resolves to the workload; the verdict's
        ``notes`` say so.

        Raises:
            QueryError: an unknown endpoint, protocol or port.
        """
        proto = _protocol(protocol)
        port = _port(port)
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

    # -- the whole port space ------------------------------------------------------------
    def allowed_ports(self, src: str, dst: str) -> PortSet:
        """Every connection ``src`` may open to ``dst``, over the whole port space (a PortSet:
        ``str()`` is e.g. ``TCP 53; UDP 53``, ``.to_json()`` the JSON encoding)."""
        from podwall.core.connectivity import connections

        return connections(self.engine, self.target(src), self.target(dst))

    def connections(self, *, by: str = "pod") -> Iterator[tuple[str, str, PortSet]]:
        """``(from, to, allowed)`` for every pair with something allowed (``matrix --ports all``).

        ``by``: ``pod`` (each endpoint), ``workload`` or ``namespace`` (unions over members).
        Addresses outside the cluster appear as the ranges the policies' ipBlocks (and the
        cluster-wide policies' networks) distinguish.
        """
        from podwall.core.matrix_ports import connection_list

        return connection_list(self.cluster, self.engine.options, by=by)


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



# -- diff (additive) ---------------------------------------------------------------------------
def load_revision(
    paths: Iterable[str],
    rev: str,
    *,
    namespace: str = "default",
    options: Options | None = None,
    strict: bool = True,
    cwd: str | None = None,
) -> LoadedCluster:
    """Load manifests as they are at a git revision (read with git, no checkout).

    Paths are resolved from ``cwd`` (default: the current directory) as git resolves them;
    a path that does not exist at ``rev`` contributes nothing. Sources are named ``REV:path``.

    Raises:
        InputError: not inside a git repository, or an unknown revision.
    """
    from podwall.sources.decode import load_texts
    from podwall.sources.gitrev import read_revision

    result = load_texts(read_revision(list(paths), rev, cwd=cwd), default_namespace=namespace)
    if strict:
        result.raise_for_errors()
    return LoadedCluster(result=result, engine=Engine(result.cluster, options), default_namespace=namespace)


def load_versions(
    old: Iterable[str] | None,
    new: Iterable[str],
    *,
    base: str | None = None,
    namespace: str = "default",
    options: Options | None = None,
    strict: bool = True,
    cwd: str | None = None,
) -> tuple[LoadedCluster, LoadedCluster]:
    """Load two versions of manifests for a diff: ``old`` paths (or, with ``base``, the ``new``
    paths at that git revision) and ``new`` paths. Texts the two share are parsed once."""
    from podwall.sources.gitrev import read_revision
    from podwall.sources.versions import load_versions as _load_versions
    from podwall.sources.versions import read_paths

    cache: dict[str, list[SourceText]] = {}
    new_paths = [os.fspath(p) for p in new]
    if base is not None:
        old_sources = read_revision(new_paths, base, cwd=cwd)
    else:
        old_sources = read_paths([os.fspath(p) for p in (old or ())], cache)
    a, b = _load_versions(old_sources, read_paths(new_paths, cache), default_namespace=namespace)
    if strict:
        a.raise_for_errors()
        b.raise_for_errors()
    return (
        LoadedCluster(result=a, engine=Engine(a.cluster, options), default_namespace=namespace),
        LoadedCluster(result=b, engine=Engine(b.cluster, options), default_namespace=namespace),
    )


def load_applied(
    paths: Iterable[str | os.PathLike[str]],
    cluster: ClusterTarget,
    *,
    namespace: str = "default",
    options: Options | None = None,
    strict: bool = True,
) -> tuple[LoadedCluster, LoadedCluster]:
    """The live cluster, and the live cluster with ``paths`` applied on top (their objects added,
    or replacing the live ones of the same kind, namespace and name, as ``kubectl apply`` does):
    the two versions ``podwall diff --cluster PATHS`` compares. The cluster is read once."""
    read = _read_cluster(cluster)
    files = read_sources([os.fspath(p) for p in paths])
    live = load_texts(list(read.texts), default_namespace=namespace)
    applied = load_texts([*read.texts, *files], default_namespace=namespace)
    if strict:
        live.raise_for_errors()
        applied.raise_for_errors()
    return (
        LoadedCluster(
            result=live, engine=Engine(live.cluster, options), default_namespace=namespace, cluster_read=read
        ),
        LoadedCluster(
            result=applied, engine=Engine(applied.cluster, options), default_namespace=namespace, cluster_read=read
        ),
    )


def diff_clusters(old: LoadedCluster, new: LoadedCluster, *, by: str = "workload") -> Diff:
    """What changes from ``old`` to ``new``: every pair (``by`` pod, workload or namespace) whose
    allowed connections differ, before and after, with the policy changes that cause it.
    The semantics options are ``new``'s."""
    from podwall.core.matrix_diff import compute_diff

    return compute_diff(old.cluster, new.cluster, new.engine.options, by=by)


def diff(
    old: LoadedCluster | Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    new: LoadedCluster | Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    by: str = "workload",
    namespace: str = "default",
    options: Options | None = None,
) -> Diff:
    """``podwall diff`` as a function: each side a loaded cluster or paths.

        >>> d = podwall.diff("before/", "after/")
        >>> [(c.change, c.src, c.dst, str(c.after)) for c in d.changes]
    """
    a = old if isinstance(old, LoadedCluster) else load(old, namespace=namespace, options=options)
    b = new if isinstance(new, LoadedCluster) else load(new, namespace=namespace, options=options)
    return diff_clusters(a, b, by=by)
