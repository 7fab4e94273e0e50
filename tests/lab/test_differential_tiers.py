"""Differential test of the tiers: random ClusterNetworkPolicies + NetworkPolicies, kernel = engine.

Hypothesis draws namespaces' pods (labels, named ports), a hostNetwork pod on a Node (same
namespaces and labels as the others, so any selector that wrongly picked it would show), and
policies of both tiers (priorities that tie, Accept/Deny/Pass, every peer kind but domainNames,
numbers, ranges, named ports, one port number under several protocols) over NetworkPolicies
that isolate. One lab serves every example, changed in place. Every ordered pair is probed on
TCP 80, TCP 81, UDP 53 and UDP 80, SCTP 80 from two sources, and the Node without pods by its
address: 0 disagreements, and every expected deny is a timeout (a silent drop).

Bounded: ``EXAMPLES`` examples take under a minute here; generation is derandomized, so the
coverage the totals test asserts does not depend on luck. The totals test then checks that the
run covered what the upstream suite never probes (each counter is computed from the engine's
own explanation, then confirmed by the kernel's agreement):

* ``accept_final``: an Admin Accept decided a direction that NetworkPolicy or the Baseline would deny;
* ``egress_accept_ingress_deny``: egress Accepted by the Admin tier, denied at the destination's ingress;
* ``protocol_only``: the same pair and port number, allowed for one protocol and denied for the other;
* ``hostnet_unselected``: a verdict involving the hostNetwork pod that would differ, by a tier's
  decision, if selectors could pick it.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from podwall.core.evaluate import Engine, Verdict
from podwall.core.model import Direction, Endpoint, Protocol, Tier, TierAction
from podwall.lab.probe import Probe, run_probes, summary
from podwall.sources import goyaml
from podwall.sources.manifests import SourceText

from .conftest import new_lab, shown

EXAMPLES = 40
NAMESPACES = ["a", "b"]
APPS = ["x", "y"]
NODE_WITH_HOST_POD = "10.9.0.1"
NODE_ALONE = "10.9.0.2"

labels = st.fixed_dictionaries({"app": st.sampled_from(APPS)})
selector = st.one_of(st.just({}), st.sampled_from(APPS).map(lambda a: {"matchLabels": {"app": a}}))
ns_selector = st.one_of(
    st.just({}), st.sampled_from(NAMESPACES).map(lambda n: {"matchLabels": {"kubernetes.io/metadata.name": n}})
)
selector_peer = st.one_of(
    ns_selector.map(lambda s: {"namespaces": s}),
    st.tuples(ns_selector, selector).map(lambda t: {"pods": {"namespaceSelector": t[0], "podSelector": t[1]}}),
)
address_peer = st.one_of(
    st.sampled_from(["10.7.0.0/16", "10.7.1.0/24", "10.7.0.2/32", "10.9.0.0/24", "0.0.0.0/0"]).map(
        lambda c: {"networks": [c]}
    ),
    st.sampled_from([{}, {"matchLabels": {"zone": "1"}}]).map(lambda s: {"nodes": s}),
)
NUMBERED = [
    {"tcp": {"destinationPort": {"number": 80}}},
    {"tcp": {"destinationPort": {"number": 81}}},
    {"tcp": {"destinationPort": {"range": {"start": 80, "end": 81}}}},
    {"tcp": {"destinationPort": {"number": 53}}},
    {"udp": {"destinationPort": {"number": 53}}},
    {"udp": {"destinationPort": {"number": 80}}},
    {"sctp": {"destinationPort": {"number": 80}}},
]
NAMED = [{"destinationNamedPort": "http"}, {"destinationNamedPort": "dns"}]


@st.composite
def tier_rule(draw: Any, egress: bool) -> dict[str, Any]:
    kinds = st.one_of(selector_peer, address_peer) if egress else selector_peer
    peers = draw(st.lists(kinds, min_size=1, max_size=2))
    only_selectors = all("namespaces" in p or "pods" in p for p in peers)
    protos = st.sampled_from(NUMBERED + NAMED if only_selectors else NUMBERED)  # CEL: no named port with networks/nodes
    rule: dict[str, Any] = {
        "action": draw(st.sampled_from(["Accept", "Deny", "Pass"])),
        "to" if egress else "from": peers,
    }
    if draw(st.booleans()):
        rule["protocols"] = draw(st.lists(protos, min_size=1, max_size=2, unique_by=str))
    return rule


@st.composite
def cnp(draw: Any, i: int) -> dict[str, Any]:
    if draw(st.booleans()):
        subject: dict[str, Any] = {"namespaces": draw(ns_selector)}
    else:
        subject = {"pods": {"namespaceSelector": draw(ns_selector), "podSelector": draw(selector)}}
    spec: dict[str, Any] = {
        "tier": draw(st.sampled_from(["Admin", "Admin", "Baseline"])),
        "priority": draw(st.integers(1, 2)),  # ties: decided by name
        "subject": subject,
    }
    for key, egress in (("ingress", False), ("egress", True)):
        rules = draw(st.lists(tier_rule(egress), max_size=3))
        if rules:
            spec[key] = [r | {"name": f"r{j}"} for j, r in enumerate(rules)]
    return {
        "apiVersion": "policy.networking.k8s.io/v1alpha2",
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": f"c{i}"},
        "spec": spec,
    }


@st.composite
def netpol(draw: Any, i: int) -> dict[str, Any]:
    types = draw(st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
    spec: dict[str, Any] = {"podSelector": draw(selector), "policyTypes": types}
    for direction, key in (("Ingress", "from"), ("Egress", "to")):
        if direction in types and draw(st.booleans()):
            peer = draw(st.one_of(
                selector.map(lambda s: {"podSelector": s}),
                st.just({"ipBlock": {"cidr": "10.9.0.0/24"}}),
            ))
            rule: dict[str, Any] = {key: [peer]}
            if draw(st.booleans()):
                ports = [{"port": 80}, {"protocol": "UDP", "port": 53}, {"port": "http"}]
                rule["ports"] = [draw(st.sampled_from(ports))]
            spec[direction.lower()] = [rule]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"n{i}", "namespace": draw(st.sampled_from(NAMESPACES))},
        "spec": spec,
    }


def _pod(name: str, ns: str, labels: dict[str, str], ip: str, http: int, host: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "c",
                "ports": [
                    {"name": "http", "containerPort": http},
                    {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                ],
            }
        ]
    }
    if host:
        spec |= {"hostNetwork": True, "nodeName": "n1"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": spec,
        "status": {"podIP": ip},
    }


@st.composite
def cluster(draw: Any) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in NAMESPACES
    ]
    for name, ip, zone in (("n1", NODE_WITH_HOST_POD, "1"), ("n2", NODE_ALONE, "2")):
        docs.append({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"zone": zone}},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]},
        })
    n_pods = draw(st.integers(2, 4))
    for i in range(n_pods):
        http = draw(st.sampled_from([80, 81]))
        docs.append(_pod(f"p{i}", NAMESPACES[i % 2], draw(labels), f"10.7.{i % 2}.{i + 1}", http))
    docs.append(_pod("h", draw(st.sampled_from(NAMESPACES)), draw(labels), NODE_WITH_HOST_POD, 80, host=True))
    docs += [draw(cnp(i)) for i in range(draw(st.integers(1, 3)))]
    docs += [draw(netpol(i)) for i in range(draw(st.integers(0, 2)))]
    return docs


@pytest.fixture(scope="module")
def tiers_lab():  # type: ignore[no-untyped-def]
    lab = new_lab("e")
    yield lab
    lab.down()


TOTAL = {
    "examples": 0, "compared": 0, "disagree": 0, "allowed": 0, "denied": 0, "refused_denies": 0, "seconds": 0.0,
    "accept_final": 0, "egress_accept_ingress_deny": 0, "protocol_only": 0, "hostnet_unselected": 0,
}


def _admin_accept(d: Any) -> bool:
    return bool(d.decided_by == "Admin" and d.tier_rule is not None and d.tier_rule.action is TierAction.ACCEPT)


def _lower_would_deny(engine: Engine, v: Verdict, direction: Direction, src: Any, dst: Any) -> bool:
    """Would NetworkPolicy (isolated, no rule allows) or the Baseline (a Deny) deny this direction?"""
    subject, other = (src, dst) if direction is Direction.EGRESS else (dst, src)
    np = engine.np_direction(direction, subject, other, dst, v.port, v.protocol, explain=False)
    if np.isolated:
        return not np.allowed
    base = engine.tiers.first_match(Tier.BASELINE, direction, subject, other, dst, v.port, v.protocol)
    return base.ref is not None and base.ref.action is TierAction.DENY


def _accept_final_case() -> list[dict[str, Any]]:
    """An explicit example (the derandomized draws depend on this file's source): an Admin
    Accept into namespace b is final over b's NetworkPolicy isolation."""
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in NAMESPACES
    ]
    for name, ip, zone in (("n1", NODE_WITH_HOST_POD, "1"), ("n2", NODE_ALONE, "2")):
        docs.append({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"zone": zone}},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]},
        })  # fmt: skip
    docs += [_pod("p0", "a", {"app": "x"}, "10.7.0.1", 80), _pod("p1", "b", {"app": "y"}, "10.7.1.2", 80)]
    docs.append(_pod("h", "a", {"app": "x"}, NODE_WITH_HOST_POD, 80, host=True))
    docs.append({
        "apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy", "metadata": {"name": "c0"},
        "spec": {"tier": "Admin", "priority": 1,
                 "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}},
                 "ingress": [{"name": "r0", "action": "Accept", "from": [{"namespaces": {}}]}]},
    })  # fmt: skip
    docs.append({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n0", "namespace": "b"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    })  # fmt: skip
    return docs


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(docs=cluster())
@example(docs=_accept_final_case())
def test_lab_agrees_with_engine_on_tiers(tiers_lab, docs: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    text = goyaml.dump_all(docs)  # quotes "y": kubectl reads a bare y as true
    src = [SourceText("generated.yaml", text)]
    if tiers_lab.exists():
        tiers_lab.apply(src)
    else:
        tiers_lab.up(src)
    lc, plan = tiers_lab.loaded()
    assert lc.cluster.tier_policies and len(plan.hosts) == 2
    keys = [p.key for p in plan.pods] + [k for k, _ in plan.host_of]
    pairs = [(a, b) for a in keys for b in keys if a != b]
    probes = [
        Probe(src=a, dst=b, port=port, protocol=proto)
        for a, b in pairs
        for port, proto in ((80, Protocol.TCP), (81, Protocol.TCP), (53, Protocol.UDP), (80, Protocol.UDP))
    ]
    sctp_sources = (keys[0], keys[-1])
    probes += [Probe(src=a, dst=b, port=80, protocol=Protocol.SCTP) for a, b in pairs if a in sctp_sources]
    probes += [Probe(src=a, dst=NODE_ALONE, port=80, protocol=Protocol.TCP) for a in keys]
    results = run_probes(lc, plan, probes, timeout=0.5, parallel=128)
    s = summary(results)
    assert s.compared == len(probes)
    bad = [shown(r) | {"why": r.reason} for r in results if r.agrees is False]
    assert bad == [], text + "\n" + yaml.safe_dump(bad[:3])
    TOTAL["examples"] += 1
    TOTAL["compared"] += s.compared
    TOTAL["disagree"] += s.disagree
    TOTAL["allowed"] += sum(1 for r in results if r.kernel)
    TOTAL["denied"] += sum(1 for r in results if r.kernel is False)
    TOTAL["refused_denies"] += sum(1 for r in results if r.kernel is False and r.outcome != "timeout")

    # coverage of what upstream never probes, from the engine's reasons (the kernel agreed on each)
    engine = lc.engine
    host = next(e for e in lc.cluster.endpoints if e.host_network)
    as_pod = dataclasses.replace(host, host_network=False)
    variant = Engine(
        dataclasses.replace(lc.cluster, endpoints=tuple(as_pod if e is host else e for e in lc.cluster.endpoints)),
        lc.engine.options,
    )
    verdicts: dict[tuple[str, str, int, Protocol], bool] = {}
    for r in results:
        p = r.probe
        a, b = lc.resolve(p.src), lc.resolve(p.dst)
        port = int(p.port)
        v = engine.verdict(a, b, port, p.protocol)
        verdicts[(p.src, p.dst, port, p.protocol)] = v.allowed
        for d, direction in ((v.egress, Direction.EGRESS), (v.ingress, Direction.INGRESS)):
            if _admin_accept(d) and isinstance(a, Endpoint) and _lower_would_deny(engine, v, direction, a, b):
                TOTAL["accept_final"] += 1
        if _admin_accept(v.egress) and not v.ingress.allowed:
            TOTAL["egress_accept_ingress_deny"] += 1
        if host in (a, b):
            va = as_pod if a is host else a
            vb = as_pod if b is host else b
            vv = variant.verdict(va, vb, port, p.protocol)
            if vv.allowed != v.allowed and any(d.decided_by in ("Admin", "Baseline") for d in (vv.egress, vv.ingress)):
                TOTAL["hostnet_unselected"] += 1
    for (sa, sb, port, proto), ok in verdicts.items():
        if proto is Protocol.TCP and port in (53, 80):
            other = verdicts.get((sa, sb, port, Protocol.UDP))
            if other is not None and other != ok:
                TOTAL["protocol_only"] += 1
    TOTAL["seconds"] += time.monotonic() - t0


def test_differential_tier_totals() -> None:
    """Runs after the property: both verdicts, the four gaps of the upstream suite covered, no disagreement."""
    if TOTAL["examples"] == 0:
        pytest.skip("the differential test did not run")
    print(f"tier differential: {TOTAL}")
    assert TOTAL["disagree"] == 0 and TOTAL["refused_denies"] == 0
    assert TOTAL["allowed"] > 100 and TOTAL["denied"] > 100
    for key in ("accept_final", "egress_accept_ingress_deny", "protocol_only", "hostnet_unselected"):
        assert TOTAL[key] > 0, (key, TOTAL)
