"""Read a live cluster: list the objects podwall understands, read-only, through the official client.

Why the official ``kubernetes`` client and not lightkube: it reads kubeconfig exactly as kubectl
does for the cases people have (``KUBECONFIG`` with several files, contexts, exec and OIDC auth
plugins, client certificates, ``insecure-skip-tls-verify``), it is the client the Kubernetes
project maintains, and it depends on urllib3 only, whereas lightkube 1.x brings its own HTTP stack
(httpx2). podwall uses only its configuration loader and its authenticated raw ``GET``: it never
lets the client deserialise objects, because every object must go through the *same* decoder as a
manifest file, so that "the same objects, the same verdicts" holds whatever the input was.

What is read (each with ``limit``/``continue`` paging), and why:

* Namespaces, Pods, the workloads (Deployments, StatefulSets, DaemonSets, ReplicaSets,
  ReplicationControllers, Jobs, CronJobs), Services, Endpoints, EndpointSlices and
  NetworkPolicies: what the semantics needs.
* Nodes: their addresses, for the cluster-wide tiers' ``nodes`` peers.
* ClusterNetworkPolicies (v1alpha2) and AdminNetworkPolicies / BaselineAdminNetworkPolicies
  (v1alpha1) when their CRDs are installed; a group or version the server does not serve is "not
  installed", never an error.

Each resource becomes one ``kind: List`` JSON text (one object per item, with the ``kind`` and
``apiVersion`` the server leaves out of list items, as client-go's typed decoding supplies them),
named ``cluster:<context>/<resource>`` so that diagnostics say where an object came from.

This module never writes to the cluster; the acting parts (doctor ``--active``, live probes) are in
``podwall.live``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from podwall.errors import ClusterError
from podwall.sources.manifests import SourceText

PAGE_SIZE = 500
"""Objects per list request (``limit``); kubectl uses 500 too."""


@dataclass(frozen=True, kw_only=True)
class Resource:
    """One API resource podwall lists."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    optional: bool = False
    """A CRD: absent means "not installed", not an error."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def base(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str | None) -> str:
        if self.namespaced and namespace is not None:
            return f"{self.base}/namespaces/{namespace}/{self.plural}"
        return f"{self.base}/{self.plural}"

    @property
    def display(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES: tuple[Resource, ...] = (
    Resource(group="", version="v1", plural="namespaces", kind="Namespace", namespaced=False),
    Resource(group="", version="v1", plural="nodes", kind="Node", namespaced=False),
    Resource(group="", version="v1", plural="pods", kind="Pod"),
    Resource(group="", version="v1", plural="services", kind="Service"),
    Resource(group="", version="v1", plural="endpoints", kind="Endpoints"),
    Resource(group="", version="v1", plural="replicationcontrollers", kind="ReplicationController"),
    Resource(group="discovery.k8s.io", version="v1", plural="endpointslices", kind="EndpointSlice"),
    Resource(group="apps", version="v1", plural="deployments", kind="Deployment"),
    Resource(group="apps", version="v1", plural="statefulsets", kind="StatefulSet"),
    Resource(group="apps", version="v1", plural="daemonsets", kind="DaemonSet"),
    Resource(group="apps", version="v1", plural="replicasets", kind="ReplicaSet"),
    Resource(group="batch", version="v1", plural="jobs", kind="Job"),
    Resource(group="batch", version="v1", plural="cronjobs", kind="CronJob"),
    Resource(group="networking.k8s.io", version="v1", plural="networkpolicies", kind="NetworkPolicy"),
    Resource(
        group="policy.networking.k8s.io",
        version="v1alpha2",
        plural="clusternetworkpolicies",
        kind="ClusterNetworkPolicy",
        namespaced=False,
        optional=True,
    ),
    Resource(
        group="policy.networking.k8s.io",
        version="v1alpha1",
        plural="adminnetworkpolicies",
        kind="AdminNetworkPolicy",
        namespaced=False,
        optional=True,
    ),
    Resource(
        group="policy.networking.k8s.io",
        version="v1alpha1",
        plural="baselineadminnetworkpolicies",
        kind="BaselineAdminNetworkPolicy",
        namespaced=False,
        optional=True,
    ),
)


def cluster_role_yaml(name: str = "podwall-reader") -> str:
    """The minimal ClusterRole podwall needs: get/list/watch on exactly the resources it reads."""
    groups: dict[str, list[str]] = {}
    for r in RESOURCES:
        groups.setdefault(r.group, []).append(r.plural)
    lines = [
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: ClusterRole",
        "metadata:",
        f"  name: {name}",
        "rules:",
    ]
    for group, plurals in groups.items():
        lines.append(f'- apiGroups: ["{group}"]')
        lines.append(f"  resources: [{', '.join(plurals)}]")
        lines.append("  verbs: [get, list, watch]")
    return "\n".join(lines) + "\n"


class Transport(Protocol):
    """The narrow port to an API server that the reader needs: one authenticated GET."""

    @property
    def where(self) -> str:
        """The server and context, for messages (``https://10.0.0.1:6443 (context kind-dev)``)."""
        ...

    @property
    def context(self) -> str:
        """The kubeconfig context's name (``default`` when there is none)."""
        ...

    def get(self, path: str, query: Sequence[tuple[str, str]] = ()) -> tuple[int, bytes]:
        """GET ``path``: the HTTP status and body. Raises ClusterError for transport failures."""
        ...


@dataclass(frozen=True, kw_only=True)
class ClusterTarget:
    """Which cluster to read, as kubectl's flags say it."""

    kubeconfig: str | None = None
    """A kubeconfig path (or ``:``-separated list); None: ``$KUBECONFIG``, then ``~/.kube/config``."""
    context: str | None = None
    """A context of that kubeconfig; None: its current context."""
    namespace: str | None = None
    """Read namespaced objects of this namespace only; None: all namespaces (``-A``)."""
    timeout: float = 10.0
    """Seconds to connect, and to wait for each response."""


@dataclass
class ClusterRead:
    """What was read: texts for the decoder, and what was not installed."""

    texts: list[SourceText]
    counts: dict[str, int] = field(default_factory=dict)
    """Objects read per resource (``pods``: 12)."""
    not_installed: list[str] = field(default_factory=list)
    """Optional resources whose API the server does not serve (CRDs not installed)."""
    where: str = ""


def _status_message(body: bytes) -> str:
    """The ``message`` of a Kubernetes Status body, never the raw body (it may be a traceback)."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict) and data.get("kind") == "Status":
        msg = data.get("message")
        if isinstance(msg, str):
            return msg.splitlines()[0][:300] if msg else ""
    return ""


def _served(transport: Transport, res: Resource, cache: dict[str, set[str] | None]) -> bool:
    """Whether the server serves ``res`` (discovery of its group/version)."""
    base = res.base
    if base not in cache:
        status, body = transport.get(base)
        if status == 404:
            cache[base] = None
        elif status == 200:
            try:
                doc = json.loads(body)
                cache[base] = {str(r.get("name")) for r in doc.get("resources", []) if isinstance(r, dict)}
            except (ValueError, AttributeError):
                cache[base] = set()
        else:
            _raise_for(status, body, transport, f"discover {base}", res)
    served = cache[base]
    return served is not None and res.plural in served


def _raise_for(status: int, body: bytes, transport: Transport, what: str, res: Resource | None) -> None:
    detail = _status_message(body)
    if status == 401:
        raise ClusterError(
            f"{transport.where}: unauthorized (401) to {what}: the credentials of this context were refused"
            + (f" ({detail})" if detail else "")
        )
    if status == 403:
        need = ""
        if res is not None:
            scope = "cluster-wide" if not res.namespaced or "/namespaces/" not in what else "in that namespace"
            group = res.group or '""'
            need = f"; needs 'list' on {res.plural} (apiGroup {group}) {scope}, to read {res.kind} objects"
        raise ClusterError(f"{transport.where}: forbidden (403) to {what}{need}" + (f": {detail}" if detail else ""))
    raise ClusterError(f"{transport.where}: the server answered {status} to {what}" + (f": {detail}" if detail else ""))


def _pages(transport: Transport, res: Resource, namespace: str | None, page_size: int) -> Iterator[list[Any]]:
    path = res.path(namespace)
    token = ""
    seen_tokens: set[str] = set()
    while True:
        query = [("limit", str(page_size))]
        if token:
            query.append(("continue", token))
        status, body = transport.get(path, query)
        if status != 200:
            if status == 404 and res.optional:
                return
            _raise_for(status, body, transport, f"list {path}", res)
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise ClusterError(f"{transport.where}: list {path}: the answer is not JSON ({exc})") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
            raise ClusterError(f"{transport.where}: list {path}: the answer is not a list")
        yield list(doc.get("items") or [])
        meta = doc.get("metadata") or {}
        token = str(meta.get("continue") or "")
        if not token:
            return
        if token in seen_tokens:
            raise ClusterError(f"{transport.where}: list {path}: the server repeated a continue token")
        seen_tokens.add(token)


def read_cluster(transport: Transport, *, namespace: str | None = None, page_size: int = PAGE_SIZE) -> ClusterRead:
    """List every resource podwall understands, as decoder texts.

    Raises:
        ClusterError: the server cannot be reached, refused the credentials, or forbids a list
            (the message names the missing permission).
    """
    out = ClusterRead(texts=[], where=transport.where)
    discovery: dict[str, set[str] | None] = {}
    for res in RESOURCES:
        if res.optional and not _served(transport, res, discovery):
            out.not_installed.append(f"{res.kind} ({res.api_version})")
            continue
        items: list[Any] = []
        for page in _pages(transport, res, namespace, page_size):
            for item in page:
                if isinstance(item, dict):
                    item.setdefault("apiVersion", res.api_version)
                    item.setdefault("kind", res.kind)
                items.append(item)
        out.counts[res.display] = len(items)
        if items:
            text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1)
            out.texts.append(SourceText(name=f"cluster:{transport.context}/{res.display}", text=text))
    return out


class KubeTransport:
    """:class:`Transport` over the official client's configuration and connection pool."""

    def __init__(self, target: ClusterTarget) -> None:
        try:
            from kubernetes import config as kconfig
            from kubernetes.client import ApiClient, Configuration
            from kubernetes.config.config_exception import ConfigException
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ClusterError("reading a cluster needs the 'kubernetes' package: pip install kubernetes") from exc
        files = target.kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        existing = [f for f in files.split(os.pathsep) if f and os.path.exists(os.path.expanduser(f))]
        if not existing:
            raise ClusterError(f"no kubeconfig at {files}: give --kubeconfig or set KUBECONFIG")
        try:
            contexts, current = kconfig.list_kube_config_contexts(config_file=files)  # type: ignore[no-untyped-call]
        except (ConfigException, OSError, ValueError) as exc:
            raise ClusterError(f"kubeconfig {files}: {exc}") from exc
        names = [c.get("name", "") for c in contexts or []]
        want = target.context or (current or {}).get("name")
        if not want:
            raise ClusterError(
                f"kubeconfig {files} has no current context: give --context (one of: {', '.join(names)})"
            )
        if want not in names:
            raise ClusterError(f"kubeconfig {files} has no context {want!r} (it has: {', '.join(names) or 'none'})")
        conf = Configuration()
        try:
            kconfig.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=files, context=want, client_configuration=conf, persist_config=False
            )
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            raise ClusterError(f"kubeconfig {files}, context {want}: {exc}") from exc
        conf.retries = False
        self._conf = conf
        self._api = ApiClient(conf)
        self._timeout = target.timeout
        self._context = want
        self._host = conf.host

    @property
    def where(self) -> str:
        return f"{self._host} (context {self._context})"

    @property
    def context(self) -> str:
        return self._context

    def request(
        self, method: str, path: str, query: Sequence[tuple[str, str]] = (), body: Any = None, content_type: str = ""
    ) -> tuple[int, bytes]:
        """One authenticated request: the HTTP status and body (``podwall.live`` writes with it)."""
        import urllib3

        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        m, url, hdrs, data, _post = self._api.param_serialize(
            method, path, query_params=list(query), header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        try:
            resp = self._api.call_api(m, url, header_params=hdrs, body=data, _request_timeout=self._timeout)
            raw = resp.read()  # type: ignore[no-untyped-call]
        except urllib3.exceptions.HTTPError as exc:
            raise ClusterError(f"{self.where}: {_transport_reason(exc, self._timeout)}") from exc
        except Exception as exc:
            # The client raises its own ApiException (status 0) for TLS failures.
            if type(exc).__name__ == "ApiException":
                reason = str(getattr(exc, "reason", "") or exc).replace("\n", ": ")
                raise ClusterError(f"{self.where}: TLS or connection failure: {reason[:300]}") from exc
            raise
        return int(resp.status), bytes(raw or b"")

    def get(self, path: str, query: Sequence[tuple[str, str]] = ()) -> tuple[int, bytes]:
        return self.request("GET", path, query)


def _transport_reason(exc: Exception, timeout: float) -> str:
    import urllib3

    inner = getattr(exc, "reason", None) or exc
    if isinstance(inner, urllib3.exceptions.SSLError) or "SSL" in type(inner).__name__:
        return f"TLS failure: {str(inner)[:300]}"
    # NewConnectionError is a ConnectTimeoutError in urllib3 2: test it first
    if isinstance(inner, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError)) or "refused" in str(
        inner
    ).lower():
        return "cannot connect (connection refused: is the API server up, and is this the right context?)"
    if isinstance(inner, (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ConnectTimeoutError, TimeoutError)):
        return f"no answer within {timeout:g} s (timeout)"
    return f"cannot reach the server: {str(inner)[:300]}"


def read(target: ClusterTarget, *, transport: Transport | None = None) -> ClusterRead:
    """Read the cluster ``target`` names (through ``transport`` if given, else the kubeconfig)."""
    return read_cluster(transport or KubeTransport(target), namespace=target.namespace)
