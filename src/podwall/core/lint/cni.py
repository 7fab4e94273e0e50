"""``cni-does-not-enforce``: policies on a network plugin that ignores them.

NetworkPolicy has no status, so nothing in the API says whether policies are enforced. The
input may show the plugin as its DaemonSet or pods: Flannel (``kube-flannel``, ``app=flannel``)
without anything that enforces policy next to it (Canal, Calico, Cilium, ...) means the policies
do nothing. kubenet leaves no object behind, so it can only be named with ``--cni``.
"""

from __future__ import annotations

from collections.abc import Iterator

from podwall.core.lint.context import LintContext, describe
from podwall.core.lint.findings import Finding, Location
from podwall.core.lint.rules import RuleId
from podwall.core.model import Endpoint

NON_ENFORCING = frozenset({"flannel", "kubenet"})
ENFORCING = frozenset(
    {
        "antrea",
        "calico",
        "canal",
        "cilium",
        "kube-network-policies",
        "kube-ovn",
        "kube-router",
        "ovn-kubernetes",
        "weave",
    }
)
KNOWN_CNIS = NON_ENFORCING | ENFORCING
_ENFORCER_MARKERS = ("calico", "canal", "cilium", "weave", "antrea", "kube-router", "kube-network-policies",
                     "ovnkube", "kube-ovn", "network-policy", "networkpolicy")


def _words(ep: Endpoint) -> str:
    return " ".join([ep.name, *ep.labels.values()]).lower()


def check_cni(ctx: LintContext, cni: str | None) -> Iterator[Finding]:
    n = len(ctx.cluster.policies)
    if not n:
        return
    if cni is not None:
        if cni in NON_ENFORCING:
            # point at the first policy, so SARIF consumers (which need a location) show it
            first = ctx.cluster.policies[0]
            yield _finding(f"--cni {cni}", cni, (ctx.policy_loc(first),))
        return
    flannel = [e for e in ctx.cluster.endpoints if "flannel" in _words(e)]
    if not flannel:
        return
    if any(m in _words(e) for e in ctx.cluster.endpoints for m in _ENFORCER_MARKERS):
        return
    ep = flannel[0]
    yield _finding(describe(ep), "flannel", (ctx.endpoint_loc(ep),), ep)


def _finding(seen: str, cni: str, locations: tuple[Location, ...], ep: Endpoint | None = None) -> Finding:
    return Finding(
        rule=RuleId.CNI_DOES_NOT_ENFORCE,
        message=f"the cluster's network plugin is {cni} ({seen}), which does not enforce NetworkPolicy: "
        "every policy here is accepted by the API server and then does nothing",
        hint="run a plugin that enforces NetworkPolicy (Calico, Cilium, Canal = Flannel with Calico's policy "
        "engine, kube-router, Antrea, ...); with --cni NAME you tell podwall which one the cluster uses",
        locations=locations,
        namespace=ep.namespace if ep else None,
        endpoint=ep.key if ep else None,
    )
