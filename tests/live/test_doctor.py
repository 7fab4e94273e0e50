"""podwall doctor: the CNI from what is installed, and --active proof with real pods (the kubelet's
and the CNI's part played by tests/live/kubelet.py against the API emulator)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from tests.live.conftest import valid_doc
from tests.live.emulator import ApiEmulator
from tests.live.kubelet import Kubelet

from podwall.cli.main import cli
from podwall.live.doctor import Enforces, diagnose


def ds(name: str, image: str, namespace: str = "kube-system", *, ready: int = 1, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [{"name": name, "image": image, **container}]}}},
        "status": {"numberReady": ready, "desiredNumberScheduled": 1},
    }


def by_id(diag: Any) -> dict[str, Any]:
    return {f.plugin.id: f for f in diag.findings}


@pytest.mark.parametrize(
    ("objects", "plugin", "enforces"),
    [
        ([ds("calico-node", "docker.io/calico/node:v3.30.1")], "calico", Enforces.YES),
        ([ds("cilium", "quay.io/cilium/cilium:v1.17.2")], "cilium", Enforces.YES),
        ([ds("weave-net", "weaveworks/weave-kube:2.8.1")], "weave", Enforces.YES),
        ([ds("antrea-agent", "antrea/antrea-agent-ubuntu:v2.3.0")], "antrea", Enforces.YES),
        ([ds("kube-flannel-ds", "ghcr.io/flannel-io/flannel:v0.26.4", "kube-flannel")], "flannel", Enforces.NO),
        ([ds("kindnet", "docker.io/kindest/kindnetd:v20250512-df8de77b")], "kindnet", Enforces.YES),
        ([ds("kindnet", "docker.io/kindest/kindnetd:v20230511-dc714da8")], "kindnet", Enforces.NO),
        (
            [ds("aws-node", "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2")],
            "aws-vpc-cni",
            Enforces.NO,
        ),
        (
            [ds("kube-router", "cloudnativelabs/kube-router:v2.4.1", args=["--run-firewall=false"])],
            "kube-router",
            Enforces.NO,
        ),
        (
            [ds("kube-router", "cloudnativelabs/kube-router:v2.4.1", args=["--run-router=true"])],
            "kube-router",
            Enforces.YES,
        ),
        ([ds("anetd", "gke.gcr.io/cilium/cilium:v1.15.12-gke.4")], "gke-dataplane-v2", Enforces.YES),
        ([ds("azure-npm", "mcr.microsoft.com/containernetworking/azure-npm:v1.6.20")], "azure-npm", Enforces.YES),
        (
            [ds("kube-network-policies", "registry.k8s.io/networking/kube-network-policies:v0.9.0")],
            "kube-network-policies",
            Enforces.YES,
        ),
    ],
)
def test_plugins_and_what_they_enforce(objects: list[dict[str, Any]], plugin: str, enforces: Enforces):
    found = by_id(diagnose(objects))
    assert plugin in found
    assert found[plugin].enforces is enforces
    assert found[plugin].evidence


def test_aws_node_with_its_policy_agent_enforces():
    obj = ds("aws-node", "amazon-k8s-cni:v1.19.2")
    obj["spec"]["template"]["spec"]["containers"].append(
        {
            "name": "aws-eks-nodeagent",
            "image": "aws-network-policy-agent:v1.2.0",
            "args": ["--enable-network-policy=true"],
        }
    )
    f = by_id(diagnose([obj]))["aws-vpc-cni"]
    assert f.enforces is Enforces.YES


def test_flannel_alone_is_a_loud_warning():
    d = diagnose([ds("kube-flannel-ds", "docker.io/flannel/flannel:v0.25.1", "kube-flannel")])
    assert d.network_policy is Enforces.NO
    assert any(w.startswith("WARNING: Flannel alone does not enforce NetworkPolicy") for w in d.warnings)


def test_flannel_with_calico_policy_is_not_a_warning():
    d = diagnose([ds("kube-flannel-ds", "flannel/flannel:v0.25.1"), ds("calico-node", "calico/node:v3.29.0")])
    assert d.network_policy is Enforces.YES
    assert not any("Flannel alone" in w for w in d.warnings)


def test_node_annotations_are_evidence():
    node = {"metadata": {"name": "n1", "annotations": {"projectcalico.org/IPv4Address": "10.0.0.1/24"}}}
    f = by_id(diagnose([], [node]))["calico"]
    assert f.confidence == "low"
    assert f.evidence == ("node n1 has annotation projectcalico.org/IPv4Address",)


def test_agent_without_ready_pods_lowers_confidence():
    f = by_id(diagnose([ds("calico-node", "calico/node:v3.30.0", ready=0)]))["calico"]
    assert f.confidence == "low"
    assert "no ready pod" in f.note


def test_tiers_served_without_an_implementation():
    d = diagnose([ds("cilium", "quay.io/cilium/cilium:v1.17.2")], [], ["v1alpha2"])
    assert any("no plugin found enforces the cluster-wide tiers" in w for w in d.warnings)


def test_nothing_known():
    d = diagnose([ds("my-agent", "example.com/agent:1")])
    assert d.findings == ()
    assert d.network_policy is Enforces.NO
    assert any("no known network plugin" in w for w in d.warnings)


# -- through the CLI, against the emulator ---------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.emulator
def test_doctor_passive_flannel(kubeconfig_for: Any):
    with ApiEmulator(objects=[ds("kube-flannel-ds", "ghcr.io/flannel-io/flannel:v0.26.4", "kube-flannel")]) as emu:
        r = run("doctor", "--kubeconfig", kubeconfig_for(emu))
        assert r.exit_code == 1
        assert "network plugin: Flannel (confidence high)" in r.stdout
        assert "enforces NetworkPolicy: no" in r.stdout
        assert "WARNING: Flannel alone does not enforce NetworkPolicy" in r.stdout
        assert emu.writes() == []


@pytest.mark.emulator
def test_doctor_passive_calico_json(kubeconfig_for: Any):
    with ApiEmulator(objects=[ds("calico-node", "quay.io/calico/node:v3.32.0", "calico-system")], crds=True) as emu:
        r = run("doctor", "--kubeconfig", kubeconfig_for(emu), "-o", "json")
        assert r.exit_code == 0
        doc = valid_doc(r.stdout, "Doctor")
        assert doc["kind"] == "Doctor"
        assert doc["network_policy"] == "yes"
        assert [p["id"] for p in doc["plugins"]] == ["calico"]
        assert doc["active"] is None


def enforcing(allowed_role: str) -> Any:
    """A CNI that enforces the doctor's policy: only pods with role=allowed reach the server."""

    def network(pod: dict[str, Any], host: str, port: int, proto: str) -> str:
        role = (pod["metadata"].get("labels") or {}).get("podwall.io/role")
        return "" if role == allowed_role else "TIMEOUT"

    return network


def ignoring(pod: dict[str, Any], host: str, port: int, proto: str) -> str:
    return ""


def scratch_left(emu: ApiEmulator) -> list[str]:
    _, data = emu.call("GET", "/api/v1/namespaces")
    names = [n["metadata"]["name"] for n in data["items"]]
    _, pods = emu.call("GET", "/api/v1/pods", backend=True)
    pod_ns = [p["metadata"]["namespace"] for p in pods["items"]]
    return [n for n in names + pod_ns if n.startswith("podwall-")]


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("network", "verdict", "code"), [(enforcing("allowed"), "enforced", 0), (ignoring, "NOT enforced", 1)]
)
def test_doctor_active(kubeconfig_for: Any, network: Any, verdict: str, code: int):
    with ApiEmulator(objects=[ds("calico-node", "calico/node:v3.30.0")]) as emu, Kubelet(emu, network) as kubelet:
        r = run(
            "doctor",
            "--kubeconfig",
            kubeconfig_for(emu),
            "--active",
            "--pod-timeout",
            "20",
            "--settle",
            "0.1",
            "-o",
            "json",
        )
        doc = valid_doc(r.stdout, "Doctor")
        assert doc["active"]["verdict"] == verdict, doc
        assert r.exit_code == code
        assert doc["active"]["deleted"] is True
        assert scratch_left(emu) == []
        roles = sorted(p[0].split("/")[1] for p in kubelet.probes)
        assert roles == ["client-allowed", "client-denied"]
        created = [w for w in emu.writes() if w.method == "POST"]
        assert [w.path.rsplit("/", 1)[-1] for w in created] == ["namespaces", "pods", "networkpolicies", "pods", "pods"]


@pytest.mark.emulator
def test_doctor_active_cleans_up_on_failure(kubeconfig_for: Any):
    forbid = {("create", "networkpolicies")}
    with ApiEmulator(objects=[], forbid=forbid) as emu, Kubelet(emu, ignoring):
        r = run("doctor", "--kubeconfig", kubeconfig_for(emu), "--active", "--pod-timeout", "20", "--settle", "0.1")
        assert r.exit_code == 1
        assert "NetworkPolicy is inconclusive" in r.stdout
        assert "403" in r.stdout
        assert "deleted namespace podwall-doctor-" in r.stdout
        assert scratch_left(emu) == []
