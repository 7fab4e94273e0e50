"""The fixes issue 9 found wrong, each checked on a cluster that exercises it.

* the DNS fix must help: when the DNS pods' own ingress denies the pod, an egress policy
  does not make names resolve, so no fix is offered and the hint says why;
* the shadowed-rule fix deletes a policy it leaves empty (an empty ``ingress`` would isolate
  on its own), and keeps a policy that still has rules of the other direction;
* a fix that would change any other verdict is a hint (rules-ignored on pods not yet isolated
  for egress), and the same fix is offered once the pods are isolated already.
"""

from __future__ import annotations

from pathlib import Path

import podwall
from podwall.core.lint import FixAction, lint
from podwall.core.model import Direction

RULES = Path(__file__).parent / "rules"
BASE = RULES / "base.yaml"

DNS_INGRESS_DENIED = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: dns-locked
  namespace: kube-system
spec:
  podSelector:
    matchLabels:
      k8s-app: kube-dns
  policyTypes: [Ingress]
"""

EGRESS_DENY_ALL = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-egress
  namespace: production
spec:
  podSelector: {}
  policyTypes: [Egress]
"""


def findings(tmp_path: Path, *texts: str, rule: str):
    paths = [str(BASE)]
    for k, text in enumerate(texts):
        p = tmp_path / f"extra{k}.yaml"
        p.write_text(text)
        paths.append(str(p))
    loaded = podwall.load(paths, namespace="production", strict=False)
    assert not loaded.result.errors, [d.render() for d in loaded.result.errors]
    return [f for f in lint(loaded.cluster, loaded.engine) if f.rule == rule]


def test_dns_fix_offered_when_egress_alone_blocks(tmp_path: Path) -> None:
    hits = findings(tmp_path, (RULES / "dns-egress-blocked" / "bad.yaml").read_text(), rule="dns-egress-blocked")
    assert hits and all(f.fix is not None for f in hits)


def test_dns_fix_not_offered_when_the_dns_pods_deny_ingress(tmp_path: Path) -> None:
    bad = (RULES / "dns-egress-blocked" / "bad.yaml").read_text()
    hits = findings(tmp_path, bad, DNS_INGRESS_DENIED, rule="dns-egress-blocked")
    assert hits
    for f in hits:
        assert f.fix is None
        assert "isolated for ingress too" in f.hint
        assert "no fix offered: applying it would not remove the finding" in f.hint


def test_shadowed_rule_deletes_a_policy_left_empty(tmp_path: Path) -> None:
    (f,) = findings(tmp_path, (RULES / "shadowed-rule" / "bad.yaml").read_text(), rule="shadowed-rule")
    # rule 2 of production/backend is shadowed by its rule 1: the policy keeps rule 1
    assert f.fix is not None and f.fix.action is FixAction.APPLY
    assert len(f.fix.manifest["spec"]["ingress"]) == 1
    only = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: frontend-too
  namespace: production
spec:
  podSelector:
    matchLabels:
      app: backend
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: frontend
    ports:
    - port: 8080
"""
    wide = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: frontend-any
  namespace: production
spec:
  podSelector:
    matchLabels:
      app: backend
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: frontend
"""
    hits = [f for f in findings(tmp_path, only, wide, rule="shadowed-rule") if f.policy == "production/frontend-too"]
    (f,) = hits
    assert f.fix is not None and f.fix.action is FixAction.DELETE
    assert f.fix.manifest == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "frontend-too", "namespace": "production"},
    }


def test_shadowed_rule_keeps_a_policy_with_rules_of_the_other_direction(tmp_path: Path) -> None:
    both = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: both
  namespace: production
spec:
  podSelector:
    matchLabels:
      app: backend
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: frontend
    ports:
    - port: 8080
  egress:
  - to:
    - podSelector: {}
"""
    wide = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: frontend-any
  namespace: production
spec:
  podSelector:
    matchLabels:
      app: backend
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: frontend
"""
    (f,) = [f for f in findings(tmp_path, both, wide, rule="shadowed-rule") if f.policy == "production/both"]
    assert f.fix is not None and f.fix.action is FixAction.APPLY
    spec = f.fix.manifest["spec"]
    # no empty ingress left behind: Ingress is dropped from policyTypes, the egress rule stays
    assert spec["policyTypes"] == [Direction.EGRESS.value]
    assert "ingress" not in spec and len(spec["egress"]) == 1


def test_rules_ignored_fix_only_when_it_only_allows(tmp_path: Path) -> None:
    bad = (RULES / "rules-ignored" / "bad.yaml").read_text()
    (alone,) = findings(tmp_path, bad, rule="rules-ignored")
    assert alone.fix is None and "applying it would deny" in alone.hint
    (isolated,) = findings(tmp_path, bad, EGRESS_DENY_ALL, rule="rules-ignored")
    assert isolated.fix is not None
    assert isolated.fix.manifest["spec"]["policyTypes"] == ["Ingress", "Egress"]
