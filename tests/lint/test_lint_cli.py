"""``podwall lint`` options end to end: formats, exit codes, rule selection, silencing, fixes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import podwall
from podwall.cli.main import cli
from podwall.core.lint import RULES, combined_fixes, lint

HERE = Path(__file__).parent
REPO = HERE.parent.parent
RULE_DIR = HERE / "rules"
BASE = str(RULE_DIR / "base.yaml")
SEED = str(REPO / "examples" / "seed" / "manifests")


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["lint", *args], input=input, catch_exceptions=False)


def scenario(rule: str, variant: str = "bad") -> str:
    return str(RULE_DIR / rule / f"{variant}.yaml")


def as_json(*args: str) -> dict:
    result = run(*args, "-o", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)  # warnings about the input go to stderr


def test_list_rules_needs_no_paths_and_shows_every_rule():
    result = run("--list-rules")
    assert result.exit_code == 0
    for info in RULES.values():
        assert f"== {info.id} ({info.severity.value})" in result.output
        assert info.why in result.output


@pytest.mark.parametrize(
    "fail_on,code",
    [("error", 0), ("warning", 1), ("info", 1)],
)
def test_fail_on_thresholds_on_the_seed(fail_on, code):
    # the seed has warnings and one info finding but no error
    assert run(SEED, "-n", "production", "--fail-on", fail_on).exit_code == code


def test_fail_on_info_with_only_info_findings():
    args = [BASE, scenario("shadowed-rule"), "-n", "production", "--enable", "shadowed-rule"]
    assert run(*args, "--fail-on", "warning").exit_code == 0
    assert run(*args, "--fail-on", "info").exit_code == 1


def test_error_finding_exits_1_by_default():
    result = run(BASE, scenario("rules-ignored"), "-n", "production")
    assert result.exit_code == 1
    assert "error rules-ignored:" in result.output


def test_disable_and_enable():
    args = [BASE, scenario("rules-ignored"), "-n", "production"]
    assert run(*args, "--disable", "rules-ignored").exit_code == 0
    only = as_json(*args, "--enable", "rules-ignored,no-default-deny")
    assert {f["rule"] for f in only["findings"]} == {"rules-ignored", "no-default-deny"}
    both = as_json(*args, "--enable", "rules-ignored", "--enable", "no-default-deny", "--disable", "no-default-deny")
    assert {f["rule"] for f in both["findings"]} == {"rules-ignored"}


@pytest.mark.parametrize("option", ["--enable", "--disable"])
def test_unknown_rule_is_a_usage_error(option):
    result = run(BASE, option, "no-such-rule")
    assert result.exit_code == 2
    assert "no-such-rule" in result.output


def test_bad_input_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\n"
                   "spec:\n  podSelector: {}\n  policyTypes: [Sideways]\n")
    result = run(str(bad))
    assert result.exit_code == 2
    assert "Sideways" in result.output


def test_missing_path_exits_2():
    assert run("/no/such/dir").exit_code == 2


def test_stdin():
    text = Path(scenario("missing-namespace")).read_text()
    result = run("-", "-o", "json", input=text)
    findings = json.loads(result.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["missing-namespace"]
    assert findings[0]["line"] == 4


def test_json_shape():
    data = as_json(BASE, scenario("dns-egress-blocked"), "-n", "production")
    assert data["summary"] == {"error": 1, "warning": 5, "info": 0}  # + no-default-deny, 4 unprotected pods
    dns = next(f for f in data["findings"] if f["rule"] == "dns-egress-blocked")
    assert dns["file"].endswith("dns-egress-blocked/bad.yaml") and dns["line"] == 13
    assert dns["field"] == "spec.egress"
    objects = [loc["object"] for loc in dns["locations"]]
    assert objects == ["NetworkPolicy production/backend-egress", "Pod production/backend"]
    assert dns["locations"][1]["file"].endswith("base.yaml") and dns["locations"][1]["line"] > 0
    doc = yaml.safe_load(dns["fix"]["yaml"])
    assert doc["spec"]["policyTypes"] == ["Egress"]
    assert doc["spec"]["egress"][0]["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


def _annotated(tmp_path: Path, rule_file: str, kind: str, name: str, value: str) -> Path:
    docs = list(yaml.safe_load_all(Path(rule_file).read_text()))
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            d["metadata"].setdefault("annotations", {})["podwall.io/lint-ignore"] = value
    out = tmp_path / "annotated.yaml"
    out.write_text(yaml.safe_dump_all(docs))
    return out


def test_policy_annotation_silences_a_rule(tmp_path):
    f = _annotated(tmp_path, scenario("allow-all"), "NetworkPolicy", "backend", "shadowed-rule, allow-all")
    rules = {x["rule"] for x in as_json(BASE, str(f), "-n", "production")["findings"]}
    assert "allow-all" not in rules
    f = _annotated(tmp_path, scenario("allow-all"), "NetworkPolicy", "backend", "shadowed-rule")
    rules = {x["rule"] for x in as_json(BASE, str(f), "-n", "production")["findings"]}
    assert "allow-all" in rules


def test_namespace_annotation_silences_a_rule(tmp_path):
    f = _annotated(tmp_path, BASE, "Namespace", "production", "no-default-deny,unprotected-pod")
    rules = [x["rule"] for x in as_json(str(f), "-n", "production")["findings"]]
    assert rules == []
    f = _annotated(tmp_path, BASE, "Namespace", "production", "all")
    assert as_json(str(f), scenario("rules-ignored"), "-n", "production")["findings"] == []


def test_cni_option():
    args = [BASE, scenario("selects-nothing", "fixed"), "-n", "production", "--enable", "cni-does-not-enforce"]
    result = run(*args, "--cni", "kubenet")
    assert result.exit_code == 1
    assert "error cni-does-not-enforce: the cluster's network plugin is kubenet" in result.output
    assert run(*args, "--cni", "calico").exit_code == 0
    # naming the CNI overrides what the input shows
    flannel = [BASE, scenario("cni-does-not-enforce"), "-n", "production", "--enable", "cni-does-not-enforce"]
    assert run(*flannel).exit_code == 1
    assert run(*flannel, "--cni", "canal").exit_code == 0
    assert run(*flannel, "--cni", "nonsense").exit_code == 2


def test_system_namespaces_are_skipped_unless_asked():
    args = [BASE, "-n", "production", "--enable", "no-default-deny"]
    plain = {f["namespace"] for f in as_json(*args)["findings"]}
    assert plain == {"production"}
    wide = {f["namespace"] for f in as_json(*args, "--include-system-namespaces")["findings"]}
    assert wide == {"production", "kube-system"}


def test_fix_dir_composes_edits_of_one_policy(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: backend
spec:
  podSelector:
    matchLabels:
      app: backend
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: monitoring
    - podSelector:
        matchLabels:
          app: prometheus
    - ipBlock:
        cidr: 192.168.1.7/24
    ports:
    - port: metric
  egress:
  - to:
    - podSelector: {}
"""
    )
    out = tmp_path / "fixes"
    result = run(BASE, str(policy), "-n", "production", "--fix-dir", str(out))
    assert result.exit_code == 1  # rules-ignored is an error
    files = sorted(p.name for p in out.iterdir())
    assert files == ["production.backend.yaml", "production.default-deny-ingress.yaml"]
    fixed = yaml.safe_load((out / "production.backend.yaml").read_text())
    assert fixed["metadata"] == {"name": "backend", "namespace": "production"}
    spec = fixed["spec"]
    # adding Egress would deny backend's other egress, and merging the peers would change who may
    # connect: both stay hints; the namespace, the CIDR and the port name are fixed
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
        {"podSelector": {"matchLabels": {"app": "prometheus"}}},
        {"ipBlock": {"cidr": "192.168.1.0/24"}},
    ]
    assert spec["ingress"][0]["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    # the composed fix really is clean of the rules it fixes, and only of those
    loaded = podwall.load([BASE, str(out / "production.backend.yaml")], namespace="production", strict=False)
    left = {f.rule for f in lint(loaded.cluster, loaded.engine) if f.policy == "production/backend"}
    assert left.isdisjoint({"missing-namespace", "noncanonical-cidr", "named-port-unresolved"})
    assert {"rules-ignored", "and-or-confusion"} <= left


def test_policies_without_pods_skip_inventory_rules():
    """Linting a directory of policies alone (no workloads): no selects-nothing noise."""
    data = as_json(scenario("selects-nothing"), scenario("peer-matches-nothing"))
    rules = {f["rule"] for f in data["findings"]}
    assert rules.isdisjoint({"selects-nothing", "peer-matches-nothing", "named-port-unresolved", "unprotected-pod"})


def _big_cluster(n_ns: int, pods_per_ns: int) -> str:
    docs: list[dict] = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 53, "protocol": "UDP"}]}]},
        }
    ]
    for n in range(n_ns):
        ns = f"team{n}"
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for p in range(pods_per_ns):
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"pod{p}", "namespace": ns, "labels": {"app": f"app{p % 10}"}},
                    "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080, "name": "http"}]}]},
                    "status": {"podIP": f"10.{n}.{p // 250}.{p % 250 + 1}"},
                }
            )
        for a in range(10):
            docs.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": f"app{a}", "namespace": ns},
                    "spec": {
                        "podSelector": {"matchLabels": {"app": f"app{a}"}},
                        "policyTypes": ["Ingress", "Egress"],
                        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": f"app{(a + 1) % 10}"}}}],
                                     "ports": [{"port": "http"}]}],
                        "egress": [{"to": [{"podSelector": {"matchLabels": {"app": f"app{(a + 2) % 10}"}}}]}],
                    },
                }
            )
    return yaml.safe_dump_all(docs)


@pytest.mark.slow
def test_thousands_of_pods_stay_fast(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(_big_cluster(20, 150))  # 3000 pods, 200 policies
    loaded = podwall.load([str(path)], strict=False)
    findings = lint(loaded.cluster, loaded.engine)  # its speed is bench/bench_lint.py's business
    assert sum(1 for f in findings if f.rule == "dns-egress-blocked") == 3000
    # one DNS fix per isolating policy and one default deny per namespace, each written once
    assert len(combined_fixes(findings)) == 200 + 20
