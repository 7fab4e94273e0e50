"""An object defined twice: the later definition replaces the earlier one, with a warning."""

from __future__ import annotations

from pathlib import Path

import podwall

POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: p, namespace: shop}}
spec:
  podSelector: {{}}
  ingress: [{{ports: [{{port: {port}}}]}}]
---
"""
POD = """
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: shop, labels: {{app: {app}}}}}
spec: {{containers: [{{name: c, image: x, ports: [{{containerPort: 80}}]}}]}}
---
"""


def test_later_policy_and_pod_replace_earlier_ones(tmp_path: Path):
    f = tmp_path / "m.yaml"
    f.write_text(POLICY.format(port=80) + POD.format(app="old") + POLICY.format(port=81) + POD.format(app="new"))
    c = podwall.load([str(f)], strict=False)
    assert [p.key for p in c.cluster.policies] == ["shop/p"]
    assert [e.labels["app"] for e in c.cluster.endpoints] == ["new"]
    assert c.can("shop/web", "shop/web", 81).allowed  # self
    dup = [d for d in c.diagnostics if d.code == "duplicate"]
    assert len(dup) == 2
    src = podwall.load([str(f)], strict=False)
    other = "1.2.3.4"
    assert not src.can(other, "shop/web", 80).allowed
    assert src.can(other, "shop/web", 81).allowed


def test_load_accepts_path_objects(tmp_path: Path):
    f = tmp_path / "m.yaml"
    f.write_text(POD.format(app="x"))
    assert [e.key for e in podwall.load(f).cluster.endpoints] == ["shop/web"]
