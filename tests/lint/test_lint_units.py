"""Unit tests of lint's building blocks: containment for shadowed-rule, CIDR canonical form,
fix manifests (built in core, serialised by PyYAML in report), and the SARIF writer."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from hypothesis import given
from tests.scale.test_fast_matrix import policies

import podwall
from podwall.core.lint import RULES, lint
from podwall.core.lint.documents import policy_doc
from podwall.core.lint.peers import canonical_cidr
from podwall.core.lint.shadow import peer_covers, port_covers, selector_covers
from podwall.core.model import IPBlock, LabelSelector, Operator, Peer, PortSpec, Protocol, Requirement
from podwall.report.fixes import manifest_yaml
from podwall.report.sarif import artifact_uri, sarif_log

RULE_DIR = Path(__file__).parent / "rules"


def sel(**labels: str) -> LabelSelector:
    return LabelSelector(match_labels=tuple(sorted(labels.items())))


def block(cidr: str, *excepts: str) -> IPBlock:
    return IPBlock(
        cidr=cidr,
        network=ipaddress.ip_network(cidr),
        excepts=excepts,
        except_networks=tuple(ipaddress.ip_network(e) for e in excepts),
    )


def test_selector_covers_is_requirement_subset():
    assert selector_covers(sel(), sel(app="a"))
    assert selector_covers(sel(app="a"), sel(app="a", tier="x"))
    assert not selector_covers(sel(app="a", tier="x"), sel(app="a"))
    assert not selector_covers(sel(app="a"), sel(app="b"))
    notin = LabelSelector(match_expressions=(Requirement(key="app", operator=Operator.NOT_IN, values=("x",)),))
    assert not selector_covers(notin, sel(app="a"))  # structural only: never claims what it cannot prove


@pytest.mark.parametrize(
    "outer,inner,covers",
    [
        (block("10.0.0.0/8"), block("10.1.0.0/16"), True),
        (block("10.1.0.0/16"), block("10.0.0.0/8"), False),
        (block("10.0.0.0/8", "10.1.0.0/16"), block("10.1.2.0/24"), False),
        (block("10.0.0.0/8", "10.1.0.0/16"), block("10.2.0.0/16"), True),
        (block("10.0.0.0/8", "10.1.0.0/16"), block("10.0.0.0/9", "10.1.0.0/16"), True),
        (block("0.0.0.0/0"), block("2001:db8::/32"), False),
    ],
)
def test_ipblock_containment(outer, inner, covers):
    assert peer_covers(Peer(ip_block=outer), Peer(ip_block=inner), {}) is covers


def test_peer_scope_containment():
    own = {"kubernetes.io/metadata.name": "prod"}
    pods_here = Peer(pod_selector=sel(app="a"))
    all_ns = Peer(namespace_selector=LabelSelector())
    assert peer_covers(all_ns, pods_here, own)
    assert not peer_covers(pods_here, all_ns, own)
    other_ns = Peer(namespace_selector=sel(**{"kubernetes.io/metadata.name": "dev"}))
    assert not peer_covers(other_ns, pods_here, own)


@pytest.mark.parametrize(
    "outer,inner,covers",
    [
        (PortSpec(), PortSpec(port=80), True),
        (PortSpec(port=80, end_port=90), PortSpec(port=85), True),
        (PortSpec(port=80, end_port=90), PortSpec(port=85, end_port=95), False),
        (PortSpec(protocol=Protocol.UDP), PortSpec(port=53), False),
        (PortSpec(port="http"), PortSpec(port="http"), True),
        (PortSpec(port=8080), PortSpec(port="http"), False),
    ],
)
def test_port_containment(outer, inner, covers):
    assert port_covers(outer, inner) is covers


@pytest.mark.parametrize(
    "cidr,ok",
    [
        ("10.0.0.0/8", True),
        ("10.0.0.5/24", False),
        ("010.0.0.0/8", False),
        ("10.0.0.0/08", False),
        ("2001:db8::/32", True),
        ("2001:db8::1/32", False),
    ],
)
def test_canonical_cidr(cidr, ok):
    addr, _, prefix = cidr.partition("/")
    clean = ".".join(str(int(o)) for o in addr.split(".")) if ":" not in addr else addr
    network = ipaddress.ip_network(f"{clean}/{int(prefix)}", strict=False)
    assert canonical_cidr(cidr, network) is ok


@given(pol=policies(0))
def test_fix_manifest_decodes_to_the_same_policy(pol, tmp_path_factory):
    """What a fix writes is what podwall (and so the API server's defaulting) reads back."""
    path = tmp_path_factory.mktemp("fix") / "p.yaml"
    path.write_text(manifest_yaml(policy_doc(pol)))
    loaded = podwall.load([str(path)], strict=False)
    assert not loaded.result.errors, [d.render() for d in loaded.result.errors]
    (back,) = loaded.cluster.policies
    assert back == pol


def test_sarif_log_points_at_lines():
    loaded = podwall.load(
        [str(RULE_DIR / "base.yaml"), str(RULE_DIR / "dns-egress-blocked" / "bad.yaml")],
        namespace="production",
        strict=False,
    )
    findings = lint(loaded.cluster, loaded.engine)
    log = json.loads(json.dumps(sarif_log(findings, loaded.result.line_of, tool_version="0.1.0", cwd=str(RULE_DIR))))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    by_rule = {r["ruleId"]: r for r in run["results"]}
    dns = by_rule["dns-egress-blocked"]
    assert rules[dns["ruleIndex"]]["id"] == "dns-egress-blocked"
    assert dns["level"] == "error"
    loc = dns["locations"][0]["physicalLocation"]
    assert loc == {"artifactLocation": {"uri": "dns-egress-blocked/bad.yaml"}, "region": {"startLine": 13}}
    assert dns["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "base.yaml"
    assert "UDP" in dns["properties"]["fix"]
    assert by_rule["no-default-deny"]["level"] == "warning"


def test_artifact_uri(tmp_path):
    assert artifact_uri("./a/b.yaml") == "a/b.yaml"
    assert artifact_uri(str(tmp_path / "x" / "p.yaml"), cwd=str(tmp_path)) == "x/p.yaml"
    assert artifact_uri("-") == "stdin"


def test_finding_to_diagnostic():
    paths = [str(RULE_DIR / "base.yaml"), str(RULE_DIR / "rules-ignored" / "bad.yaml")]
    loaded = podwall.load(paths, namespace="production", strict=False)
    (f,) = [f for f in lint(loaded.cluster, loaded.engine) if f.rule == "rules-ignored"]
    d = f.to_diagnostic(loaded.result.line_of)
    assert (d.code, d.severity.value, d.line, d.field) == ("rules-ignored", "error", 18, "spec.egress")
    assert d.file.endswith("rules-ignored/bad.yaml") and d.hint == f.hint
    assert d.render().endswith(": spec.egress: " + f.message)


def test_cni_named_on_the_command_line_points_at_a_policy():
    loaded = podwall.load([str(RULE_DIR / "base.yaml")], namespace="production", strict=False)
    (f,) = lint(loaded.cluster, loaded.engine, enabled={"cni-does-not-enforce"}, cni="kubenet")
    assert f.locations[0].what == "NetworkPolicy monitoring/default-deny-ingress"
    assert lint(loaded.cluster, loaded.engine, enabled={"cni-does-not-enforce"}, cni="cilium") == []


def test_unknown_rule_id_is_refused():
    loaded = podwall.load([str(RULE_DIR / "base.yaml")], strict=False)
    with pytest.raises(ValueError, match="nope"):
        lint(loaded.cluster, loaded.engine, enabled={"nope"})


def test_empty_pod_selector_in_a_namespace_without_pods_is_not_selects_nothing(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: empty}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress]}\n---\n"
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: typo, namespace: empty}\n"
        "spec: {podSelector: {matchLabels: {app: x}}, policyTypes: [Ingress]}\n"
    )
    loaded = podwall.load([str(RULE_DIR / "base.yaml"), str(p)], strict=False)
    hits = [f.policy for f in lint(loaded.cluster, loaded.engine, enabled={"selects-nothing"})]
    assert hits == ["empty/typo"]
