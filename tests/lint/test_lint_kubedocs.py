"""Lint on the Kubernetes documentation's own NetworkPolicy examples (``kubedocs/README.md``).

The documentation's examples are correct policies written on purpose: a finding on them must
be a true statement about them. Each expectation below says why the finding is right, and the
``and-or-confusion`` cases pin what issue 9 found wrong: ``test-network-policy`` lists three
separate sources, an intended OR, and must not be flagged.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import podwall
from podwall.core.lint import lint

DOCS = Path(__file__).parent / "kubedocs"
PODS = DOCS / "pods.yaml"
INVENTORY = {"no-default-deny", "unprotected-pod"}  # about pods.yaml's namespaces, not the example


def rules_of(*paths: Path) -> dict[str, list[str]]:
    loaded = podwall.load([str(p) for p in paths], namespace="default", strict=False)
    assert not loaded.result.errors, [d.render() for d in loaded.result.errors]
    out: dict[str, list[str]] = {}
    for f in lint(loaded.cluster, loaded.engine):
        out.setdefault(f.rule, []).append(f.message)
    return out


# Without pods: only what the manifest itself shows.
ALONE = {
    # three sources in one rule, an intended OR; CIDRs canonical; namespace set
    "networkpolicy.yaml": set(),
    "networkpolicy-multiport-egress.yaml": set(),
    # the defaults have no metadata.namespace: they land wherever they are applied (true, and
    # the page applies them with kubectl -n); "allow all" rules do admit everything (true, and
    # that is the example's point: the warning says how to silence it)
    "network-policy-default-deny-ingress.yaml": {"missing-namespace"},
    "network-policy-default-deny-egress.yaml": {"missing-namespace"},
    "network-policy-default-deny-all.yaml": {"missing-namespace"},
    "network-policy-allow-all-ingress.yaml": {"missing-namespace", "allow-all"},
    "network-policy-allow-all-egress.yaml": {"missing-namespace", "allow-all"},
    "network-policy-allow-all-egress-deny-all-ingress.yaml": {"missing-namespace", "allow-all"},
    "and-one-peer.yaml": set(),
    "or-two-peers.yaml": set(),
}

# With the cluster the page describes: the role=db pods are isolated for egress by
# test-network-policy and multi-port-egress, and no rule allows DNS (true: they cannot resolve
# names; the page does not mention DNS).
WITH_PODS = {
    "networkpolicy.yaml": {"dns-egress-blocked"},
    "networkpolicy-multiport-egress.yaml": {"dns-egress-blocked"},
    "and-one-peer.yaml": set(),
    "or-two-peers.yaml": set(),
}


def test_every_example_has_an_expectation():
    examples = {p.name for p in DOCS.glob("*.yaml")} - {"pods.yaml"}
    assert examples == set(ALONE)


@pytest.mark.parametrize("name", sorted(ALONE))
def test_example_alone(name):
    assert set(rules_of(DOCS / name)) == ALONE[name]


@pytest.mark.parametrize("name", sorted(WITH_PODS))
def test_example_with_pods(name):
    assert set(rules_of(PODS, DOCS / name)) - INVENTORY == WITH_PODS[name]


def test_test_network_policy_is_an_or_not_a_confusion():
    """The page: "from one of three sources, the first specified via an ipBlock, the second via
    a namespaceSelector and the third via a podSelector"."""
    for paths in ((DOCS / "networkpolicy.yaml",), (PODS, DOCS / "networkpolicy.yaml")):
        assert "and-or-confusion" not in rules_of(*paths)


def test_or_becomes_suspicious_only_with_evidence(tmp_path):
    """Two peers are an OR as written; they are flagged only when the podSelector matches no pod
    of the policy's namespace but does match pods in the selected namespaces, the evidence that
    one peer (AND) was meant. Here: without a role=client pod in default, only alice's is left."""
    docs = [d for d in yaml.safe_load_all(PODS.read_text()) if d["metadata"] != {
        "name": "client", "namespace": "default", "labels": {"role": "client"}}]
    assert len(docs) == len(list(yaml.safe_load_all(PODS.read_text()))) - 1
    pods = tmp_path / "pods.yaml"
    pods.write_text(yaml.safe_dump_all(docs))
    found = rules_of(pods, DOCS / "or-two-peers.yaml")
    assert len(found["and-or-confusion"]) == 1
    assert "matches no pod of namespace default" in found["and-or-confusion"][0]
    # the one-peer form of the same selectors is what was meant: nothing to say about it
    assert "and-or-confusion" not in rules_of(pods, DOCS / "and-one-peer.yaml")


def test_no_fix_on_the_examples_changes_a_verdict_it_is_not_about():
    """Every fix lint offers on the examples names its file, and the OR example gets none."""
    loaded = podwall.load([str(PODS), str(DOCS / "networkpolicy.yaml")], namespace="default", strict=False)
    fixes = {f.rule: f.fix for f in lint(loaded.cluster, loaded.engine) if f.fix is not None}
    assert "and-or-confusion" not in fixes
    assert fixes["dns-egress-blocked"].name == "default.test-network-policy-allow-dns"
