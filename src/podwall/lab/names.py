"""Endpoint names as the command line writes them, resolved on a cluster (for the lab).

``ns/pod``, ``pod`` (in the default namespace), ``ns/kind/name`` for a workload, an IP address,
and as a destination ``ns/service/name`` (or ``ns/name`` when no endpoint has that name).

This is the lab's stand-in for the core's resolver (``core/names.py``, same signature), so that
``lab`` does not depend on the ``podwall.api`` facade; it goes once that module is on main.
"""

from __future__ import annotations

import difflib
import ipaddress

from podwall.core.model import Address, Cluster, Service, Target
from podwall.errors import QueryError

KINDS = {
    "pod": "Pod", "po": "Pod", "pods": "Pod",
    "deployment": "Deployment", "deploy": "Deployment", "deployments": "Deployment",
    "statefulset": "StatefulSet", "sts": "StatefulSet", "statefulsets": "StatefulSet",
    "daemonset": "DaemonSet", "ds": "DaemonSet", "daemonsets": "DaemonSet",
    "replicaset": "ReplicaSet", "rs": "ReplicaSet", "replicasets": "ReplicaSet",
    "replicationcontroller": "ReplicationController", "rc": "ReplicationController",
    "job": "Job", "jobs": "Job", "cronjob": "CronJob", "cj": "CronJob", "cronjobs": "CronJob",
}  # fmt: skip
SERVICE_WORDS = ("service", "svc", "services")


def resolve(cluster: Cluster, name: str, *, default_namespace: str, allow_service: bool) -> Target | Service:
    """The endpoint (or, with ``allow_service``, the Service) that ``name`` names.

    Raises:
        QueryError: malformed, unknown (with near matches), ambiguous, or a Service as a source.
    """
    name = name.strip()
    try:
        return Address(ip=ipaddress.ip_address(name))
    except ValueError:
        pass
    parts = name.split("/")
    if len(parts) == 1:
        parts = [default_namespace, parts[0]]
    if len(parts) == 2:
        found = _by_name(cluster, parts[0], parts[1], name, allow_service)
    elif len(parts) == 3:
        found = _by_kind(cluster, parts[0], parts[1], parts[2], name, allow_service)
    else:
        raise QueryError(f"{name!r} is not an endpoint: write ns/pod, ns/kind/name or an IP address")
    if found is None:
        raise QueryError(f"no endpoint {name!r} in the input{_suggest(cluster, name)}")
    return found


def _by_name(cluster: Cluster, ns: str, nm: str, name: str, allow_service: bool) -> Target | Service | None:
    hits = [e for e in cluster.endpoints if e.namespace == ns and e.name == nm]
    pods = [e for e in hits if e.is_pod]
    if pods:
        return pods[0]
    if len(hits) > 1:
        raise QueryError(f"{name!r} is ambiguous: {', '.join(e.key for e in hits)}")
    if hits:
        return hits[0]
    if allow_service:
        return next((s for s in cluster.services if s.namespace == ns and s.name == nm), None)
    return None


def _by_kind(cluster: Cluster, ns: str, word: str, nm: str, name: str, allow_service: bool) -> Target | Service | None:
    if word.lower() in SERVICE_WORDS:
        svc = next((s for s in cluster.services if s.namespace == ns and s.name == nm), None)
        if svc is not None and not allow_service:
            raise QueryError(f"{name}: a Service can only be a destination")
        return svc
    kind = KINDS.get(word.lower())
    if kind is None:
        raise QueryError(f"{name}: unknown kind {word!r} (use pod, deployment, statefulset, daemonset, "
                         "replicaset, replicationcontroller, job, cronjob or service)")
    return next((e for e in cluster.endpoints if e.kind == kind and e.namespace == ns and e.name == nm), None)


def _suggest(cluster: Cluster, name: str) -> str:
    known: dict[str, str] = {}
    for key, ns, nm in [(e.key, e.namespace, e.name) for e in cluster.endpoints] + [
        (s.key, s.namespace, s.name) for s in cluster.services
    ]:
        known[key] = key
        known.setdefault(f"{ns}/{nm}", key)
    near = list(dict.fromkeys(known[k] for k in difflib.get_close_matches(name, list(known), n=3)))
    return f"; did you mean {', '.join(near)}?" if near else ""
