"""podwall test --cluster --live: real probes from the real source pods (ephemeral containers) or from
stand-ins in a scratch namespace, with the engine's verdict beside each; against the API emulator,
with tests/live/kubelet.py playing the kubelet and the CNI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from tests.conftest import EXAMPLES
from tests.live.conftest import manifest_objects, valid_doc
from tests.live.emulator import ApiEmulator
from tests.live.kubelet import Kubelet

import podwall
from podwall.cli.main import cli
from podwall.sources.cluster import ClusterTarget

pytestmark = pytest.mark.emulator

SEED = EXAMPLES / "seed" / "manifests"
EXPECT = EXAMPLES / "seed" / "expect.yaml"
ENDPOINT = "test.podwall.io/endpoint"


def with_replicas(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add the pods a controller would run for each Deployment and StatefulSet (one replica each)."""
    out = list(objects)
    for obj in objects:
        kind, meta = obj["kind"], obj["metadata"]
        if kind not in ("Deployment", "StatefulSet"):
            continue
        labels = dict(obj["spec"]["template"]["metadata"].get("labels") or {})
        if kind == "Deployment":
            name, owner = f"{meta['name']}-5d8f7c9b4-x2k9q", {"kind": "ReplicaSet", "name": f"{meta['name']}-5d8f7c9b4"}
            labels["pod-template-hash"] = "5d8f7c9b4"
        else:
            name, owner = f"{meta['name']}-0", {"kind": "StatefulSet", "name": meta["name"]}
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": meta["namespace"],
                    "labels": labels,
                    "annotations": {ENDPOINT: f"{meta['namespace']}/{kind.lower()}/{meta['name']}"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "controller": True, "uid": "u", **owner}],
                },
                "spec": obj["spec"]["template"]["spec"],
            }
        )
    return out


def engine_network(emu: ApiEmulator, kubeconfig: str) -> Any:
    """A CNI that enforces exactly what podwall's engine says, computed on the cluster as it is now
    (stand-ins included), independently of the path podwall's live runner takes."""

    def key(pod: dict[str, Any]) -> str:
        meta = pod["metadata"]
        return (meta.get("annotations") or {}).get(ENDPOINT) or f"{meta['namespace']}/{meta['name']}"

    cache: dict[frozenset[tuple[str, str]], Any] = {}

    def network(pod: dict[str, Any], host: str, port: int, proto: str) -> str:
        _, pods = emu.call("GET", "/api/v1/pods", backend=True)
        state = frozenset((key(p), (p.get("status") or {}).get("podIP") or "") for p in pods["items"])
        if state not in cache:  # the cluster changes when stand-ins come and go
            cache[state] = podwall.load([], cluster=ClusterTarget(kubeconfig=kubeconfig))
        now = cache[state]
        if host.endswith(".svc.cluster.local"):
            svc, ns = host.split(".")[:2]
            dst = f"{ns}/service/{svc}"
        else:
            dst = next(k for k, ip in state if ip == host)
        v = now.can(key(pod), dst, port, proto.upper())
        return "" if v.allowed else "TIMEOUT"

    return network


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def live_objects() -> list[dict[str, Any]]:
    objs = with_replicas(manifest_objects([SEED], "production"))
    # the seed's deny-test is a `kubectl run` pod: not in the cluster, only in the manifests
    return [o for o in objs if o["metadata"].get("name") != "deny-test"]


def scratch_left(emu: ApiEmulator) -> list[str]:
    _, data = emu.call("GET", "/api/v1/namespaces")
    return [n["metadata"]["name"] for n in data["items"] if n["metadata"]["name"].startswith("podwall-")]


def test_live_probes_agree_with_an_enforcing_cni(kubeconfig_for: Any):
    with ApiEmulator(objects=live_objects()) as emu:
        kc = kubeconfig_for(emu)
        with Kubelet(emu, engine_network(emu, kc)) as kubelet:
            # wait until the kubelet has started every pod
            podwall.load([], cluster=ClusterTarget(kubeconfig=kc))
            deny_test = SEED / "cluster.yaml"  # the manifests: deny-test exists only there
            r = run(
                "test",
                str(deny_test),
                "--cluster",
                "--kubeconfig",
                kc,
                "-n",
                "production",
                "--expect",
                str(EXPECT),
                "--live",
                "--pod-timeout",
                "60",
                "-o",
                "json",
            )
            doc = valid_doc(r.stdout, "LiveTest")
            assert doc["kind"] == "LiveTest"
            results = {(x["from"], x["to"], x["port"], x["protocol"]): x for x in doc["results"]}
            assert doc["summary"]["disagree"] == 0, [x for x in doc["results"] if not x["agrees"]]
            assert r.exit_code == 0
            # from a real pod: an ephemeral container in it
            via = results[("production/test-pod", "production/service/backend-service", 8080, "TCP")]["via"]
            assert via.startswith("ephemeral container podwall-probe-") and via.endswith(" in production/test-pod")
            # from a workload: one of its running pods
            assert results[("production/backend", "production/postgres", 5432, "TCP")]["via"].endswith(
                "in production/backend-5d8f7c9b4-x2k9q"
            )
            # the seed's deny test: a stand-in with app=other in a scratch namespace, timed out
            deny = results[("production/deny-test", "production/service/postgres", 5432, "TCP")]
            assert deny["via"].startswith("stand-in podwall-probe-")
            assert (deny["outcome"], deny["engine"]) == ("timeout", "deny")
            # an address outside the cluster is never probed
            assert results[("production/frontend", "203.0.113.10", 443, "TCP")]["outcome"] == "skipped"
            assert doc["summary"]["undecided"] == 2
            assert doc["deleted_namespaces"] and doc["left_namespaces"] == []
            assert scratch_left(emu) == []
            assert len(kubelet.probes) == doc["summary"]["total"] - 2


def test_live_probes_flag_a_cni_that_enforces_nothing(kubeconfig_for: Any):
    def nothing(pod: dict[str, Any], host: str, port: int, proto: str) -> str:
        return ""

    with ApiEmulator(objects=live_objects()) as emu, Kubelet(emu, nothing):
        kc = kubeconfig_for(emu)
        podwall.load([], cluster=ClusterTarget(kubeconfig=kc))
        r = run(
            "test",
            str(SEED / "cluster.yaml"),
            "--cluster",
            "--kubeconfig",
            kc,
            "-n",
            "production",
            "--expect",
            str(EXPECT),
            "--live",
            "--pod-timeout",
            "60",
        )
        assert r.exit_code == 1
        fails = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
        # every probe the engine denies connected anyway (the two external ones are skipped)
        files = run("test", str(SEED), "-n", "production", "--expect", str(EXPECT), "-o", "json")
        denied = [x for x in json.loads(files.stdout)["results"] if x["actual"] == "deny" and x["to"] != "203.0.113.10"]
        assert len(fails) == len(denied) > 3
        assert all("live=connected engine=deny" in line for line in fails)
        assert scratch_left(emu) == []


def test_live_needs_cluster():
    r = run("test", str(SEED), "-n", "production", "--expect", str(EXPECT), "--live")
    assert r.exit_code == 2
    assert "--live needs --cluster" in r.output
