"""Endpoint names as people write them, resolved against a cluster (pure: no I/O).

The names are those of the command line and of ``kubectl get``:

* an IP address: something outside the cluster (or a pod's address, as the engine sees it);
* ``ns/name`` (or ``name``, in the default namespace): a pod; else the one workload (or, as a
  destination, Service) of that name; a pod that podwall folded into its workload (a
  Deployment's ``frontend-7d4b9c8f6-abcde``) resolves to that workload, with a note; so does a
  pod name the workload's controller would generate, when that workload is in the input;
* ``ns/kind/name`` with a kind as kubectl spells it (``deploy``, ``sts``, ``svc``...).

Mirror pods (static pods, owned by their Node) are pods: they stay ``ns/name``.

Three steps: :func:`parse` (text → :class:`ParsedName`), :func:`lookup` (→ a target, or None),
:func:`suggest` (near names, for the error). :func:`resolve` chains them.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass

from podwall.core.model import Address, Cluster, Endpoint, Service, Target
from podwall.errors import QueryError

KIND_ALIASES = {
    "pod": "Pod", "po": "Pod", "pods": "Pod",
    "deployment": "Deployment", "deploy": "Deployment", "deployments": "Deployment",
    "statefulset": "StatefulSet", "sts": "StatefulSet", "statefulsets": "StatefulSet",
    "daemonset": "DaemonSet", "ds": "DaemonSet", "daemonsets": "DaemonSet",
    "replicaset": "ReplicaSet", "rs": "ReplicaSet", "replicasets": "ReplicaSet",
    "replicationcontroller": "ReplicationController", "rc": "ReplicationController",
    "replicationcontrollers": "ReplicationController",
    "job": "Job", "jobs": "Job",
    "cronjob": "CronJob", "cj": "CronJob", "cronjobs": "CronJob",
}
SERVICE_ALIASES = ("service", "svc", "services")
_KINDS_HINT = "pod, deployment, statefulset, daemonset, replicaset, replicationcontroller, job, cronjob or service"

# Pod names the controllers generate: <owner> followed by these
_SUFFIX = "[bcdfghjklmnpqrstvwxz2456789]{5}"
_POD_NAME_PATTERNS = {
    "Deployment": "-[a-z0-9]{1,10}-" + _SUFFIX,  # via its ReplicaSet <deploy>-<pod-template-hash>
    "StatefulSet": "-[0-9]+",
    "DaemonSet": "-" + _SUFFIX,
    "ReplicaSet": "-" + _SUFFIX,
    "ReplicationController": "-" + _SUFFIX,
    "Job": "-" + _SUFFIX,
    "CronJob": "-[0-9]+-" + _SUFFIX,
}


@dataclass(frozen=True, kw_only=True)
class ParsedName:
    """A name split into its parts (``kind`` None: a pod, else any endpoint of that name)."""

    text: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    namespace: str = ""
    kind: str | None = None
    """``Pod``, a workload kind, ``Service``, or None (written without a kind)."""
    name: str = ""


@dataclass(frozen=True, kw_only=True)
class Resolution:
    target: Target | Service
    note: str | None = None
    """Set when the name was not the target's own (a pod folded into its workload)."""


def parse(text: str, *, default_namespace: str) -> ParsedName:
    """Split a name; raises QueryError for a shape that is no endpoint name."""
    text = text.strip()
    try:
        return ParsedName(text=text, ip=ipaddress.ip_address(text))
    except ValueError:
        pass
    parts = text.split("/")
    if len(parts) == 1:
        return ParsedName(text=text, namespace=default_namespace, name=parts[0])
    if len(parts) == 2:
        return ParsedName(text=text, namespace=parts[0], name=parts[1])
    if len(parts) == 3:
        ns, kind_s, nm = parts
        if kind_s.lower() in SERVICE_ALIASES:
            return ParsedName(text=text, namespace=ns, kind="Service", name=nm)
        kind = KIND_ALIASES.get(kind_s.lower())
        if kind is None:
            raise QueryError(f"{text}: unknown kind {kind_s!r} (use {_KINDS_HINT})")
        return ParsedName(text=text, namespace=ns, kind=kind, name=nm)
    raise QueryError(f"{text!r} is not an endpoint: write ns/pod, ns/kind/name or an IP address")


def _folded_into(cluster: Cluster, ns: str, kind: str, name: str) -> Endpoint | None:
    member = f"{kind}/{name}"
    for e in cluster.endpoints:
        if e.namespace == ns and member in e.folded:
            return e
    return None


def _generated_by(cluster: Cluster, ns: str, pod_name: str) -> list[Endpoint]:
    """Workloads of the input whose controller would name a pod ``pod_name``."""
    out = []
    for e in cluster.endpoints:
        pattern = _POD_NAME_PATTERNS.get(e.kind)
        if e.namespace == ns and pattern is not None and re.fullmatch(re.escape(e.name) + pattern, pod_name):
            out.append(e)
    return out


def lookup(cluster: Cluster, parsed: ParsedName, *, allow_service: bool) -> Resolution | None:
    """The target a parsed name denotes, or None. Raises QueryError when it is ambiguous or a
    Service where only a pod or workload may stand."""
    if parsed.ip is not None:
        return Resolution(target=Address(ip=parsed.ip))
    ns, nm, kind = parsed.namespace, parsed.name, parsed.kind
    eps = cluster.endpoints
    svcs = [s for s in cluster.services if s.namespace == ns and s.name == nm]
    if kind == "Service":
        if svcs and not allow_service:
            raise QueryError(f"{parsed.text}: a Service can only be a destination")
        return Resolution(target=svcs[0]) if svcs else None
    if kind is not None and kind != "Pod":
        for e in eps:
            if e.kind == kind and e.namespace == ns and e.name == nm:
                return Resolution(target=e)
        if kind == "ReplicaSet" and (owner := _folded_into(cluster, ns, kind, nm)) is not None:
            return Resolution(target=owner, note=f"replicaset {ns}/{nm} is part of {owner.key}")
        return None
    pods = [e for e in eps if e.is_pod and e.namespace == ns and e.name == nm]
    if pods:
        return Resolution(target=pods[0])
    owner = _folded_into(cluster, ns, "Pod", nm)
    if owner is not None:
        return Resolution(target=owner, note=f"pod {ns}/{nm} is one of the pods of {owner.key}")
    if kind == "Pod":
        return None
    others = [e for e in eps if e.namespace == ns and e.name == nm]
    if len(others) > 1:
        raise QueryError(f"{parsed.text!r} is ambiguous: {', '.join(e.key for e in others)}")
    if others:
        return Resolution(target=others[0])
    if allow_service and svcs:
        return Resolution(target=svcs[0])
    gen = _generated_by(cluster, ns, nm)
    if len(gen) == 1:
        return Resolution(
            target=gen[0],
            note=f"pod {ns}/{nm} is not in the input; its name is one {gen[0].key} gives its pods",
        )
    return None


def suggest(cluster: Cluster, text: str, n: int = 3) -> list[str]:
    """Names close to ``text`` (each as its target's key)."""
    known: dict[str, str] = {}
    for e in cluster.endpoints:
        known[e.key] = e.key
        known.setdefault(f"{e.namespace}/{e.name}", e.key)
    for svc in cluster.services:
        known[svc.key] = svc.key
        known.setdefault(f"{svc.namespace}/{svc.name}", svc.key)
    return list(dict.fromkeys(known[k] for k in difflib.get_close_matches(text, list(known), n=n)))


def resolve(cluster: Cluster, name: str, *, default_namespace: str, allow_service: bool) -> Resolution:
    """Resolve an endpoint name; raises QueryError (with near names) when it names nothing."""
    parsed = parse(name, default_namespace=default_namespace)
    found = lookup(cluster, parsed, allow_service=allow_service)
    if found is None:
        near = suggest(cluster, parsed.text)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise QueryError(f"no endpoint {parsed.text!r} in the input{hint}")
    return found


# -- groups: workloads, namespaces ------------------------------------------------------------
def group_key(ep: Endpoint, by: str) -> str:
    """The group an endpoint belongs to: itself (``pod``), its workload, or its namespace; a
    group is named as ``matrix --by`` names its rows."""
    if by == "namespace":
        return ep.namespace
    if by == "workload":
        return ep.owner or ep.key
    return ep.key
