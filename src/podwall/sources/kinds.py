"""Kinds and versions as a current API server serves them.

kubectl maps each object's ``apiVersion`` and ``kind`` to a resource through the server's
discovery data; a version the server does not serve is an error (``no matches for kind
"NetworkPolicy" in version "extensions/v1beta1"``), and kinds are case-sensitive. podwall reads
only the kinds it needs; for those, the same rule holds, with a hint. Any other kind (a CRD, a
ConfigMap) is skipped and listed with ``-v``.

Both tables are plain data: a module that reads more kinds adds rows (``SERVED`` for what the
server serves, ``RETIRED`` for versions that were removed or never existed).
"""

from __future__ import annotations

from dataclasses import dataclass

SERVED: dict[str, str] = {
    "NetworkPolicy": "networking.k8s.io/v1",
    "Pod": "v1",
    "Service": "v1",
    "Namespace": "v1",
    "Endpoints": "v1",
    "ReplicationController": "v1",
    "Node": "v1",
    "EndpointSlice": "discovery.k8s.io/v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}
"""kind → the one ``apiVersion`` a current API server serves it as (for the kinds podwall reads)."""

RETIRED: dict[tuple[str, str], str] = {
    ("extensions/v1beta1", "NetworkPolicy"): "was removed in Kubernetes 1.16",
    ("networking.k8s.io/v1beta1", "NetworkPolicy"): "never existed",
    ("extensions/v1beta1", "Deployment"): "was removed in Kubernetes 1.16",
    ("extensions/v1beta1", "DaemonSet"): "was removed in Kubernetes 1.16",
    ("extensions/v1beta1", "ReplicaSet"): "was removed in Kubernetes 1.16",
    ("apps/v1beta1", "Deployment"): "was removed in Kubernetes 1.16",
    ("apps/v1beta1", "StatefulSet"): "was removed in Kubernetes 1.16",
    ("apps/v1beta2", "Deployment"): "was removed in Kubernetes 1.16",
    ("apps/v1beta2", "StatefulSet"): "was removed in Kubernetes 1.16",
    ("apps/v1beta2", "DaemonSet"): "was removed in Kubernetes 1.16",
    ("apps/v1beta2", "ReplicaSet"): "was removed in Kubernetes 1.16",
    ("batch/v1beta1", "CronJob"): "was removed in Kubernetes 1.25",
    ("batch/v2alpha1", "CronJob"): "was removed in Kubernetes 1.21",
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): "was removed in Kubernetes 1.25",
}
"""(apiVersion, kind) → what happened to it, for versions people still find in old manifests."""

BUILTIN_GROUPS = frozenset({"", "apps", "batch", "extensions", "networking.k8s.io", "discovery.k8s.io", "policy"})
"""Groups the API server defines itself: a known kind in another group is someone's CRD
(Calico's ``projectcalico.org/v3`` NetworkPolicy), skipped like any other unknown kind."""

_BY_FOLDED = {k.lower(): k for k in SERVED}


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


@dataclass(frozen=True)
class KindCheck:
    """The outcome of :func:`check`: ``kind`` is set when podwall reads the object, ``error``
    when kubectl would refuse it, neither when the object is of a kind podwall skips."""

    kind: str | None = None
    error: str | None = None


def check(api_version: str, kind: str) -> KindCheck:
    """Classify one object by its ``apiVersion`` and ``kind``."""
    served = SERVED.get(kind)
    if served is not None:
        if api_version == served:
            return KindCheck(kind=kind)
        if group_of(api_version) not in BUILTIN_GROUPS:
            return KindCheck()
        head = f'no matches for kind "{kind}" in version "{api_version}"'
        why = RETIRED.get((api_version, kind))
        if why is not None:
            return KindCheck(error=f"{head}: {api_version} {kind} {why}: use {served}")
        return KindCheck(error=f"{head}: {kind} is served as {served}")
    proper = _BY_FOLDED.get(kind.lower())
    if proper is not None and group_of(api_version) == group_of(SERVED[proper]):
        return KindCheck(error=f'no matches for kind "{kind}" in version "{api_version}": kinds are '
                               f"case-sensitive (did you mean {proper}?)")
    return KindCheck()


def item_kind(list_kind: str) -> str | None:
    """The kind of the items of a typed list (``PodList`` → ``Pod``), as apimachinery gives
    items that carry no ``kind``; None for the generic ``List``."""
    if list_kind == "List" or not list_kind.endswith("List"):
        return None
    return list_kind[: -len("List")]
