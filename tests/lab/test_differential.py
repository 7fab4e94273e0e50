"""Differential test: random valid clusters and policies, the kernel against the engine.

Hypothesis draws namespaces, pods (labels, named ports, IPs) and policies (every peer shape,
ipBlock with except, numeric, named, ranged and protocol-only ports, both directions). One lab
serves every example, changed in place (pods come and go, policies change), and every ordered
pair of pods is probed on TCP 80, TCP 81 and UDP 53. 0 disagreements allowed.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podwall.core.model import Protocol
from podwall.lab.probe import Probe, run_probes, summary
from podwall.sources.manifests import SourceText

from .conftest import new_lab

NAMESPACES = ["a", "b"]
APPS = ["x", "y", "z"]

labels = st.fixed_dictionaries({"app": st.sampled_from(APPS)}, optional={"tier": st.sampled_from(["1", "2"])})
match_labels = st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from([*APPS, "1", "2"]), max_size=2)
expr = st.fixed_dictionaries(
    {"key": st.sampled_from(["app", "tier"]), "operator": st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"])}
).map(lambda e: e | ({"values": ["x", "1"]} if e["operator"] in ("In", "NotIn") else {}))
selector = st.one_of(
    st.just({}),
    match_labels.map(lambda m: {"matchLabels": m}),
    st.lists(expr, min_size=1, max_size=2).map(lambda es: {"matchExpressions": es}),
)
ns_selector = st.one_of(
    st.just({}), st.sampled_from(NAMESPACES).map(lambda n: {"matchLabels": {"kubernetes.io/metadata.name": n}})
)


@st.composite
def ip_block(draw: Any) -> dict[str, Any]:
    third = draw(st.sampled_from([0, 1]))
    block: dict[str, Any] = {"cidr": draw(st.sampled_from(["10.7.0.0/16", f"10.7.{third}.0/24", "0.0.0.0/0"]))}
    if draw(st.booleans()):
        block["except"] = [f"10.7.{third}.{draw(st.integers(1, 6))}/32"]
    return {"ipBlock": block}


peer = st.one_of(
    selector.map(lambda s: {"podSelector": s}),
    ns_selector.map(lambda s: {"namespaceSelector": s}),
    st.tuples(selector, ns_selector).map(lambda t: {"podSelector": t[0], "namespaceSelector": t[1]}),
    ip_block(),
)
port = st.one_of(
    st.sampled_from(
        [
            {"port": 80},
            {"port": 81},
            {"port": "http"},
            {"port": "alt"},
            {"protocol": "UDP", "port": 53},
            {"protocol": "UDP", "port": "dns"},
            {"port": 80, "endPort": 81},
            {"protocol": "UDP"},
            {"protocol": "TCP"},
        ]
    )
)
rule = st.fixed_dictionaries({}, optional={"peers": st.lists(peer, max_size=2), "ports": st.lists(port, max_size=2)})


@st.composite
def policy(draw: Any, i: int) -> dict[str, Any]:
    types = draw(st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
    spec: dict[str, Any] = {"podSelector": draw(selector), "policyTypes": types}
    for direction, key in (("Ingress", "from"), ("Egress", "to")):
        if direction in types or draw(st.booleans()):
            rules = []
            for r in draw(st.lists(rule, max_size=2)):
                out: dict[str, Any] = {}
                if r.get("peers"):
                    out[key] = r["peers"]
                if r.get("ports"):
                    out["ports"] = r["ports"]
                rules.append(out)
            if rules:
                spec[direction.lower()] = rules
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"p{i}", "namespace": draw(st.sampled_from(NAMESPACES))},
        "spec": spec,
    }


@st.composite
def cluster(draw: Any) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": {"team": n}}} for n in NAMESPACES
    ]
    n_pods = draw(st.integers(2, 5))
    for i in range(n_pods):
        ns = NAMESPACES[i % 2]
        http = draw(st.sampled_from([80, 81]))
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"p{i}", "namespace": ns, "labels": draw(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "ports": [
                                {"name": "http", "containerPort": http},
                                {"name": "alt", "containerPort": 161 - http},
                                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                            ],
                        }
                    ]
                },
                "status": {"podIP": f"10.7.{i % 2}.{i + 1}"},
            }
        )
    n_pol = draw(st.integers(1, 3))
    docs += [draw(policy(i)) for i in range(n_pol)]
    return docs


@pytest.fixture(scope="module")
def diff_lab():  # type: ignore[no-untyped-def]
    lab = new_lab("d")
    yield lab
    lab.down()


@pytest.fixture(scope="module")
def totals():  # type: ignore[no-untyped-def]
    """Counts over every example of the property; checked once all of them ran (in the teardown,
    so the check cannot run before the property or without it)."""
    total = {"compared": 0, "disagree": 0, "allowed": 0, "denied": 0}
    yield total
    print(f"differential: {total}")
    assert total["disagree"] == 0
    assert total["allowed"] > 100 and total["denied"] > 20, "the examples did not exercise both verdicts"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(docs=cluster())
def test_lab_agrees_with_engine(diff_lab, totals, docs: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    text = yaml.safe_dump_all(docs)
    src = [SourceText("generated.yaml", text)]
    if diff_lab.exists():
        diff_lab.apply(src)
    else:
        diff_lab.up(src)
    lc, plan = diff_lab.loaded()
    pods = [p.key for p in plan.pods]
    probes = [
        Probe(src=a, dst=b, port=port, protocol=proto)
        for a in pods
        for b in pods
        if a != b
        for port, proto in ((80, Protocol.TCP), (81, Protocol.TCP), (53, Protocol.UDP))
    ]
    results = run_probes(lc, plan, probes, timeout=1.0, parallel=128)
    s = summary(results)
    totals["compared"] += s["compared"]
    totals["disagree"] += s["disagree"]
    totals["allowed"] += sum(1 for r in results if r.kernel)
    totals["denied"] += sum(1 for r in results if r.kernel is False)
    assert s["compared"] == len(probes)
    bad = [r.to_dict() | {"why": r.reason} for r in results if r.agrees is False]
    assert bad == [], text + "\n" + yaml.safe_dump(bad[:3])

