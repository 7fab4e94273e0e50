"""Services read as kube-proxy and DNS see them: ExternalName, Endpoints, EndpointSlices."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from tests.unit.sources.source_helpers import decode

import podwall
from podwall.cli.main import cli

BASE = """\
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: prod, labels: {app: client}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: prod, labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
status: {podIP: 10.0.0.5}
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: prod}
spec: {ports: [{name: pg, port: 5432}]}
"""

ENDPOINTS = """\
---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy, namespace: prod}
subsets:
- addresses: [{ip: 10.0.0.5, targetRef: {kind: Pod, name: db-0, namespace: prod}}, {ip: 198.51.100.7}]
  notReadyAddresses: [{ip: 10.0.0.99}]
  ports: [{name: pg, port: 5432}]
"""

SLICE = """\
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: legacy-abc, namespace: prod, labels: {kubernetes.io/service-name: legacy}}
addressType: IPv4
endpoints:
- addresses: [198.51.100.8]
- addresses: [10.0.0.77]
  conditions: {ready: false}
ports: [{name: pg, port: 5432, protocol: TCP}]
"""


def test_endpoints_give_a_selector_less_service_its_backends() -> None:
    (svc,) = decode(BASE + ENDPOINTS).cluster.services
    assert [(a.ip, a.target) for a in svc.addresses or ()] == [("10.0.0.5", "prod/db-0"), ("198.51.100.7", None)]


def test_endpoint_slices_win_over_endpoints_as_in_kube_proxy() -> None:
    (svc,) = decode(BASE + ENDPOINTS + SLICE).cluster.services
    assert [a.ip for a in svc.addresses or ()] == ["198.51.100.8"]  # the not-ready endpoint gets nothing


def _can(tmp_path: Path, text: str, *extra: str) -> tuple[int, str]:
    p = tmp_path / "m.yaml"
    p.write_text(text)
    r = CliRunner().invoke(cli, ["can", str(p), "--from", "prod/client", "--to", "prod/service/legacy",
                                 "--port", "5432", *extra], catch_exceptions=False)
    return r.exit_code, r.output


def test_without_endpoints_the_answer_is_unknown_exit_2(tmp_path: Path) -> None:
    code, out = _can(tmp_path, BASE)
    assert code == 2
    assert out.splitlines()[0] == "unknown"
    code, out = _can(tmp_path, BASE, "-o", "json")
    assert code == 2 and json.loads(out)["answer"] == "unknown"


def test_with_endpoints_the_answer_is_definite(tmp_path: Path) -> None:
    code, out = _can(tmp_path, BASE + ENDPOINTS)
    assert (code, out.splitlines()[0]) == (0, "yes")
    deny = ("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d, namespace: prod}\n"
            "spec: {podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{to: "
            "[{podSelector: {}}]}]}\n")
    code, out = _can(tmp_path, BASE + ENDPOINTS + deny)
    assert (code, out.splitlines()[0]) == (1, "no")
    assert "198.51.100.7" in out  # the address outside the cluster is the one denied


def test_external_name_ignores_its_selector_and_says_egress_decides(tmp_path: Path) -> None:
    text = BASE.replace("spec: {ports: [{name: pg, port: 5432}]}",
                        "spec: {type: ExternalName, externalName: db.example.com, selector: {app: db}, "
                        "ports: [{name: pg, port: 5432}]}")
    code, out = _can(tmp_path, text)
    assert code == 0
    assert out.splitlines() == [
        "yes",
        "prod/service/legacy is an ExternalName Service (db.example.com, outside the cluster): only the egress of "
        "prod/client decides; prod/client is not isolated for egress (no policy selects it for egress)",
    ]
    c = podwall.load([str(tmp_path / "m.yaml")])
    v = c.can("prod/client", "prod/service/legacy", 5432)
    assert v.backends == ()  # type: ignore[union-attr]


def test_an_external_name_service_needs_its_name() -> None:
    r = decode(BASE.replace("spec: {ports: [{name: pg, port: 5432}]}", "spec: {type: ExternalName}"))
    assert [(d.field, d.message) for d in r.errors] == [("spec.externalName", "Required value")]


DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: prod}
spec:
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: frontend-7d4b9c8f6-abcde
  namespace: prod
  labels: {app: frontend, pod-template-hash: 7d4b9c8f6}
  ownerReferences: [{kind: ReplicaSet, name: frontend-7d4b9c8f6}]
status: {podIP: 10.0.0.9}
---
apiVersion: v1
kind: Pod
metadata:
  name: etcd-node1
  namespace: kube-system
  ownerReferences: [{apiVersion: v1, kind: Node, name: node1}]
status: {podIP: 10.0.0.10}
"""


def test_a_pod_name_as_kubectl_shows_it_resolves_to_its_workload_with_a_note(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(DEPLOY)
    c = podwall.load([str(p)])
    v = c.can("kube-system/etcd-node1", "prod/frontend-7d4b9c8f6-abcde", 80)
    assert v.dst == "prod/deployment/frontend"
    assert v.notes == ("pod prod/frontend-7d4b9c8f6-abcde is one of the pods of prod/deployment/frontend",)  # type: ignore[union-attr]
    r = CliRunner().invoke(cli, ["can", str(p), "--from", "kube-system/etcd-node1", "--to",
                                 "prod/frontend-7d4b9c8f6-abcde", "--port", "80"], catch_exceptions=False)
    assert r.exit_code == 0 and "note: pod prod/frontend-7d4b9c8f6-abcde is one of the pods" in r.output


def test_a_mirror_pod_is_a_pod_not_its_node() -> None:
    eps = {e.key: e for e in decode(DEPLOY).cluster.endpoints}
    assert eps["kube-system/etcd-node1"].owner is None and eps["kube-system/etcd-node1"].is_pod


def test_explain_says_unknown_for_a_service_without_endpoints(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(BASE)
    r = CliRunner().invoke(cli, ["explain", str(p), "--from", "prod/client", "--to", "prod/service/legacy",
                                 "--port", "5432"], catch_exceptions=False)
    assert r.output.splitlines()[0] == "prod/client -> prod/service/legacy on TCP/5432: UNKNOWN"
