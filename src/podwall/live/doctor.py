"""``podwall doctor``: which CNI runs, and does it enforce NetworkPolicy (and the cluster-wide tiers)?

A NetworkPolicy does nothing unless the network plugin enforces it: Calico, Cilium, Weave do;
Flannel does not. The passive check reads what is installed (DaemonSets and Deployments of every
namespace, their images and container arguments, node annotations, the served API groups) and
says, per plugin found, whether it enforces NetworkPolicy and the policy.networking.k8s.io tiers,
with a confidence and the evidence. The active check (``--active``) proves it, as the seed says
to: in a scratch namespace it starts a server and two clients, applies a policy that admits one
client only, and reports "enforced" when exactly that client connects.

The detection table is data (:data:`PLUGINS`), matched on workload names and images; the rules are
pure functions over the raw API objects, so they are tested without a cluster.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podwall.errors import ClusterError
from podwall.live.kube import Kube, run_id, terminated, wait_for
from podwall.live.probes import AGNHOST, OWNER_ANNOTATION, LiveOutcome, outcome_of


class Enforces(enum.StrEnum):
    YES = "yes"
    NO = "no"
    DEPENDS = "depends"
    """On a version or a setting that the evidence tells (see the note)."""


@dataclass(frozen=True, kw_only=True)
class Plugin:
    """One network plugin podwall recognises."""

    id: str
    name: str
    workloads: tuple[str, ...]
    """Regexes on DaemonSet/Deployment names (``namespace/name`` is not needed: names are distinctive)."""
    images: tuple[str, ...]
    """Regexes on container images."""
    network_policy: Enforces
    tiers: str
    """What it enforces of the cluster-wide tiers (AdminNetworkPolicy / ClusterNetworkPolicy)."""
    node_annotations: tuple[str, ...] = ()
    note: str = ""
    enforces_tiers: bool = False
    """Whether some version of it enforces a policy.networking.k8s.io kind (see ``tiers``)."""


PLUGINS: tuple[Plugin, ...] = (
    Plugin(
        id="calico",
        name="Calico",
        workloads=(r"^calico-node$",),
        images=(r"(^|/)calico/node:", r"(^|/)node:.*calico"),
        network_policy=Enforces.YES,
        tiers="ClusterNetworkPolicy v1alpha2 from v3.32; "
        "AdminNetworkPolicy/BaselineAdminNetworkPolicy v1alpha1 in v3.29-3.31",
        node_annotations=("projectcalico.org/IPv4Address", "projectcalico.org/IPv6Address"),
        enforces_tiers=True,
    ),
    Plugin(
        id="canal",
        name="Canal (Calico policy over Flannel)",
        workloads=(r"^canal$",),
        images=(),
        network_policy=Enforces.YES,
        tiers="as the Calico version it ships",
        enforces_tiers=True,
    ),
    Plugin(
        id="cilium",
        name="Cilium",
        workloads=(r"^cilium$",),
        images=(r"(^|/)cilium/cilium:",),
        network_policy=Enforces.YES,
        tiers="none (AdminNetworkPolicy support is only tracked upstream)",
        node_annotations=("io.cilium.network.ipv4-cilium-host", "network.cilium.io/ipv4-cilium-host"),
        note="by default Cilium's ipBlock does not match pod IPs: use --no-ipblock-matches-pods",
    ),
    Plugin(
        id="gke-dataplane-v2",
        name="GKE Dataplane V2 (Cilium-based)",
        workloads=(r"^anetd$",),
        images=(r"gke.*(anetd|cilium)", r"/anetd:"),
        network_policy=Enforces.YES,
        tiers="none",
    ),
    Plugin(
        id="weave",
        name="Weave Net",
        workloads=(r"^weave-net$",),
        images=(r"weave-kube", r"weave-npc"),
        network_policy=Enforces.YES,
        tiers="none",
        note="policies are enforced by its weave-npc container",
    ),
    Plugin(
        id="antrea",
        name="Antrea",
        workloads=(r"^antrea-agent$",),
        images=(r"antrea/antrea-(agent|ubuntu)", r"antrea-agent"),
        network_policy=Enforces.YES,
        tiers="AdminNetworkPolicy/BaselineAdminNetworkPolicy v1alpha1",
        enforces_tiers=True,
    ),
    Plugin(
        id="kube-router",
        name="kube-router",
        workloads=(r"^kube-router$",),
        images=(r"cloudnativelabs/kube-router",),
        network_policy=Enforces.DEPENDS,
        tiers="none",
        note="enforces NetworkPolicy unless started with --run-firewall=false",
    ),
    Plugin(
        id="kube-network-policies",
        name="kube-network-policies",
        workloads=(r"^kube-network-policies",),
        images=(r"kube-network-policies",),
        network_policy=Enforces.YES,
        tiers="ClusterNetworkPolicy v1alpha2 in its npa-v1alpha2 flavour; "
        "AdminNetworkPolicy/BaselineAdminNetworkPolicy v1alpha1 with the npa-v1alpha1 plugin",
        enforces_tiers=True,
    ),
    Plugin(
        id="kindnet",
        name="kindnet",
        workloads=(r"^kindnet$",),
        images=(r"kindest/kindnetd",),
        network_policy=Enforces.DEPENDS,
        tiers="none",
        note="kindnetd embeds kube-network-policies from its 2024 releases (kind v0.24+); "
        "older kindnetd enforces nothing",
    ),
    Plugin(
        id="ovn-kubernetes",
        name="OVN-Kubernetes",
        workloads=(r"^ovnkube-node$",),
        images=(r"ovn-kubernetes", r"ovn-daemonset"),
        network_policy=Enforces.YES,
        tiers="AdminNetworkPolicy/BaselineAdminNetworkPolicy v1alpha1",
        enforces_tiers=True,
    ),
    Plugin(
        id="aws-vpc-cni",
        name="Amazon VPC CNI (aws-node)",
        workloads=(r"^aws-node$",),
        images=(r"amazon-k8s-cni",),
        network_policy=Enforces.DEPENDS,
        tiers="none",
        note="enforces NetworkPolicy only with its network-policy agent (container aws-eks-nodeagent with "
        "--enable-network-policy=true)",
    ),
    Plugin(
        id="azure-npm",
        name="Azure Network Policy Manager",
        workloads=(r"^azure-npm$",),
        images=(r"azure-npm",),
        network_policy=Enforces.YES,
        tiers="none",
    ),
    Plugin(
        id="flannel",
        name="Flannel",
        workloads=(r"^kube-flannel(-ds)?$",),
        images=(r"(^|/)flannel(/flannel)?:", r"coreos/flannel"),
        network_policy=Enforces.NO,
        tiers="none",
        node_annotations=("flannel.alpha.coreos.com/backend-type",),
        note="Flannel does not enforce NetworkPolicy: every policy is silently ignored",
    ),
)


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One plugin found, with what podwall concluded and why."""

    plugin: Plugin
    enforces: Enforces
    confidence: str
    """``high`` (its agent runs and the evidence is unambiguous), ``medium``, or ``low`` (only traces)."""
    evidence: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Diagnosis:
    findings: tuple[Finding, ...]
    policy_groups: tuple[str, ...]
    """Served versions of policy.networking.k8s.io (``v1alpha2``...)."""
    network_policy: Enforces
    """The conclusion for NetworkPolicy over all plugins found."""
    warnings: tuple[str, ...] = ()


def _containers(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [c for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])] if isinstance(c, dict)]


def _ready(obj: Mapping[str, Any]) -> bool | None:
    st = obj.get("status") or {}
    if "numberReady" in st:
        return int(st.get("numberReady") or 0) > 0
    if "readyReplicas" in st or "replicas" in st:
        return int(st.get("readyReplicas") or 0) > 0
    return None


def _aws_policy_agent(obj: Mapping[str, Any]) -> bool:
    for c in _containers(obj):
        if c.get("name") == "aws-eks-nodeagent" or "aws-network-policy-agent" in str(c.get("image", "")):
            args = " ".join(str(a) for a in [*(c.get("args") or []), *(c.get("command") or [])])
            return "--enable-network-policy=true" in args
    return False


def _kube_router_firewall(obj: Mapping[str, Any]) -> bool:
    for c in _containers(obj):
        args = " ".join(str(a) for a in [*(c.get("args") or []), *(c.get("command") or [])])
        if "kube-router" in str(c.get("image", "")) or "kube-router" in args:
            return "--run-firewall=false" not in args
    return True


def _kindnet_policies(image: str) -> bool | None:
    m = re.search(r"kindnetd:v?(\d{8})", image)
    if m:
        return int(m.group(1)) >= 20240813
    m = re.search(r"kindnetd:v?(\d+)\.(\d+)", image)
    if m:
        return (int(m.group(1)), int(m.group(2))) >= (1, 0)
    return None


def diagnose(
    workloads: Iterable[Mapping[str, Any]],
    nodes: Iterable[Mapping[str, Any]] = (),
    policy_groups: Sequence[str] = (),
) -> Diagnosis:
    """What the installed objects say (pure: DaemonSets/Deployments, Nodes, served tier versions)."""
    found: dict[str, dict[str, Any]] = {}
    for obj in workloads:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name", ""))
        where = f"{obj.get('kind', 'workload')} {meta.get('namespace', '')}/{name}"
        images = [str(c.get("image", "")) for c in _containers(obj)]
        for plugin in PLUGINS:
            hit = [f"{where} (name)"] if any(re.search(p, name) for p in plugin.workloads) else []
            hit += [f"{where} runs {img}" for img in images if any(re.search(p, img) for p in plugin.images)]
            if hit:
                entry = found.setdefault(plugin.id, {"evidence": [], "objects": []})
                entry["evidence"].extend(hit)
                entry["objects"].append(obj)
    for node in nodes:
        ann = (node.get("metadata") or {}).get("annotations") or {}
        nname = (node.get("metadata") or {}).get("name", "")
        for plugin in PLUGINS:
            keys = [k for k in plugin.node_annotations if k in ann]
            if keys:
                entry = found.setdefault(plugin.id, {"evidence": [], "objects": []})
                entry["evidence"].append(f"node {nname} has annotation {keys[0]}")
    findings = []
    for plugin in PLUGINS:
        if plugin.id not in found:
            continue
        entry = found[plugin.id]
        objects = entry["objects"]
        enforces, note = plugin.network_policy, plugin.note
        if plugin.id == "aws-vpc-cni":
            on = any(_aws_policy_agent(o) for o in objects)
            enforces = Enforces.YES if on else Enforces.NO
            note = (
                "its network-policy agent is enabled"
                if on
                else "no network-policy agent: NetworkPolicy is not enforced"
            )
        elif plugin.id == "kube-router":
            on = all(_kube_router_firewall(o) for o in objects) if objects else True
            enforces = Enforces.YES if on else Enforces.NO
        elif plugin.id == "kindnet":
            images = [str(c.get("image", "")) for o in objects for c in _containers(o)]
            verdicts = {v for v in (_kindnet_policies(i) for i in images) if v is not None}
            if verdicts == {True}:
                enforces = Enforces.YES
            elif verdicts == {False}:
                enforces = Enforces.NO
        readiness = [r for r in (_ready(o) for o in objects) if r is not None]
        if objects and readiness and not any(readiness):
            confidence = "low"
            note = (note + "; " if note else "") + "its agent reports no ready pod"
        elif objects:
            confidence = "high" if enforces is not Enforces.DEPENDS else "medium"
        else:
            confidence = "low"
        findings.append(
            Finding(
                plugin=plugin,
                enforces=enforces,
                confidence=confidence,
                evidence=tuple(entry["evidence"][:6]),
                note=note,
            )
        )
    warnings: list[str] = []
    ids = {f.plugin.id for f in findings}
    enforcing = [f for f in findings if f.enforces is Enforces.YES]
    if enforcing:
        overall = Enforces.YES
    elif any(f.enforces is Enforces.DEPENDS for f in findings):
        overall = Enforces.DEPENDS
    else:
        overall = Enforces.NO
    if "flannel" in ids and not enforcing and "canal" not in ids:
        warnings.append(
            "WARNING: Flannel alone does not enforce NetworkPolicy: every policy in this cluster is silently ignored"
        )
    if not findings:
        warnings.append("no known network plugin found: cannot tell whether NetworkPolicy is enforced (try --active)")
    if policy_groups and not any(f.plugin.enforces_tiers for f in findings):
        warnings.append(
            f"policy.networking.k8s.io ({', '.join(policy_groups)}) is served, "
            "but no plugin found enforces the cluster-wide tiers"
        )
    return Diagnosis(
        findings=tuple(findings), policy_groups=tuple(policy_groups), network_policy=overall, warnings=tuple(warnings)
    )


def read_and_diagnose(kube: Kube) -> Diagnosis:
    """Read DaemonSets, Deployments, Nodes and the served tier versions, then :func:`diagnose`."""
    workloads = [
        {**o, "kind": kind}
        for kind, path in (("DaemonSet", "/apis/apps/v1/daemonsets"), ("Deployment", "/apis/apps/v1/deployments"))
        for o in kube.list(path)
    ]
    nodes = kube.list("/api/v1/nodes")
    group = kube.get_optional("/apis/policy.networking.k8s.io")
    versions = [str(v.get("version")) for v in (group or {}).get("versions") or [] if isinstance(v, dict)]
    return diagnose(workloads, nodes, versions)


# -- --active -----------------------------------------------------------------------------------
class ActiveVerdict(enum.StrEnum):
    ENFORCED = "enforced"
    NOT_ENFORCED = "NOT enforced"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, kw_only=True)
class ActiveResult:
    verdict: ActiveVerdict
    namespace: str
    allowed_client: LiveOutcome
    denied_client: LiveOutcome
    detail: str
    deleted: bool
    steps: tuple[str, ...] = field(default=())


SERVER_PORT = 8080


def active_check(
    kube: Kube,
    *,
    image: str = AGNHOST,
    timeout: float = 3.0,
    pod_timeout: float = 120.0,
    settle: float = 5.0,
    interval: float = 0.5,
) -> ActiveResult:
    """Prove enforcement with real pods; the scratch namespace is deleted whatever happens."""
    rid = run_id()
    ns = f"podwall-doctor-{rid}"
    steps: list[str] = []
    ann = {OWNER_ANNOTATION: rid}
    created = False
    allowed = denied = LiveOutcome.SKIPPED
    try:
        kube.create(
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "annotations": ann}},
        )
        created = True
        steps.append(f"created namespace {ns}")
        server = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "server",
                "namespace": ns,
                "labels": {"podwall.io/role": "server"},
                "annotations": ann,
            },
            "spec": {
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "server",
                        "image": image,
                        "args": ["netexec", f"--http-port={SERVER_PORT}"],
                        "ports": [{"containerPort": SERVER_PORT, "protocol": "TCP"}],
                    }
                ],
            },
        }
        kube.create(f"/api/v1/namespaces/{ns}/pods", server)

        def running() -> str | None:
            st = kube.get(f"/api/v1/namespaces/{ns}/pods/server").get("status") or {}
            return str(st["podIP"]) if st.get("phase") == "Running" and st.get("podIP") else None

        ip = wait_for("the server pod to run", running, timeout=pod_timeout, interval=interval)
        steps.append(f"server pod running at {ip}:{SERVER_PORT}")
        policy = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "admit-allowed-only", "namespace": ns, "annotations": ann},
            "spec": {
                "podSelector": {"matchLabels": {"podwall.io/role": "server"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"podwall.io/role": "allowed"}}}],
                        "ports": [{"port": SERVER_PORT, "protocol": "TCP"}],
                    }
                ],
            },
        }
        kube.create(f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies", policy)
        steps.append("applied NetworkPolicy admit-allowed-only (ingress to the server only from role=allowed)")
        time.sleep(settle)
        outcomes: dict[str, LiveOutcome] = {}
        for role in ("allowed", "denied"):
            client = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"client-{role}",
                    "namespace": ns,
                    "labels": {"podwall.io/role": role},
                    "annotations": ann,
                },
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "probe",
                            "image": image,
                            "command": [
                                "/agnhost",
                                "connect",
                                f"--timeout={timeout:g}s",
                                "--protocol=tcp",
                                f"{ip}:{SERVER_PORT}",
                            ],
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                        }
                    ],
                },
            }
            kube.create(f"/api/v1/namespaces/{ns}/pods", client)

        for role in ("allowed", "denied"):

            def finished(role: str = role) -> tuple[int, str] | None:
                pod = kube.get(f"/api/v1/namespaces/{ns}/pods/client-{role}")
                for st in (pod.get("status") or {}).get("containerStatuses") or []:
                    got = terminated(st)
                    if got is not None:
                        return got
                return None

            code, message = wait_for(f"client-{role} to finish", finished, timeout=pod_timeout, interval=interval)
            outcomes[role], _ = outcome_of(code, message)
            steps.append(f"client-{role} (role={role}): {outcomes[role].value}")
        allowed, denied = outcomes["allowed"], outcomes["denied"]
        if allowed.verdict != "allow":
            verdict, detail = ActiveVerdict.INCONCLUSIVE, f"the admitted client could not connect ({allowed.value})"
        elif denied.verdict == "allow":
            verdict, detail = (
                ActiveVerdict.NOT_ENFORCED,
                "the client the policy denies connected: the CNI ignores NetworkPolicy",
            )
        elif denied is LiveOutcome.TIMEOUT:
            verdict, detail = ActiveVerdict.ENFORCED, "the admitted client connected and the denied one timed out"
        else:
            verdict, detail = ActiveVerdict.INCONCLUSIVE, f"the denied client failed with {denied.value}, not a timeout"
    except ClusterError as exc:
        verdict, detail = ActiveVerdict.INCONCLUSIVE, str(exc)
    finally:
        deleted = False
        if created:
            try:
                kube.delete(f"/api/v1/namespaces/{ns}")
                deleted = True
                steps.append(f"deleted namespace {ns} (and everything in it)")
            except ClusterError as exc:
                steps.append(f"could NOT delete namespace {ns}: {exc}; delete it with: kubectl delete namespace {ns}")
    return ActiveResult(
        verdict=verdict,
        namespace=ns,
        allowed_client=allowed,
        denied_client=denied,
        detail=detail,
        deleted=deleted,
        steps=tuple(steps),
    )
