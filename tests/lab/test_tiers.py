"""Cluster-wide tiers with real packets: the kernel agrees with the engine and with upstream.

* every step of every case of ``tests/conformance/cnp`` (the ClusterNetworkPolicy conformance
  suite, standard and experimental: 301 TCP, UDP and SCTP probes) in one lab changed in place,
  as ``podwall lab apply`` does. Every probe upstream expects to be denied must be seen as a
  **timeout** (a silent drop), never a refusal: upstream's ``PokeServer`` fails on ``REFUSED``;
* ``data/tiers-properties``: what the upstream suite never probes (an Admin Accept is final
  over a lower tier's deny; an egress Accept still needs ingress at the destination; a port
  number matches only with its protocol; hostNetwork pods are never selected; a baseline never
  overrides a NetworkPolicy), and that the drop counters name the rule that dropped.

The centaur pods of the conformance cluster are hostNetwork: they live in the host namespaces
of their nodes (``host:node-1``, ``host:node-2``), which carry the Node addresses.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from podwall.lab.probe import ProbeResult, parse_expectations, run_probes, summary

from .conftest import REPO, new_lab, shown, sources

CNP = REPO / "tests" / "conformance" / "cnp"
PROPS = Path(__file__).resolve().parent / "data" / "tiers-properties"


def _steps() -> list[tuple[str, Path]]:
    cases = [p for p in CNP.iterdir() if p.is_dir() and p.name != "experimental"]
    cases += [p for p in (CNP / "experimental").iterdir() if p.is_dir()]
    out = []
    for case in sorted(cases):
        steps = sorted(p for p in case.iterdir() if p.is_dir() and p.name.startswith("step"))
        for d in steps or [case]:
            out.append((str(d.relative_to(CNP)), d))
    return out


STEPS = _steps()


@pytest.fixture(scope="module")
def cnp_lab():  # type: ignore[no-untyped-def]
    lab = new_lab("t")
    yield lab
    lab.down()


def _check(results: list[ProbeResult], n_probes: int) -> None:
    s = summary(results)
    not_run = [shown(r) for r in results if r.kernel is None and not r.advisory]
    assert not_run == [], not_run[:3]
    bad = [shown(r) | {"why": r.reason} for r in results if r.failed]
    assert bad == [], bad[:3]
    assert s.disagree == 0 and s.unexpected == 0
    assert s.compared == n_probes
    refused = [shown(r) for r in results if r.probe.expect is False and r.outcome != "timeout"]
    assert refused == [], refused[:3]


def test_there_are_all_cases() -> None:
    assert len(STEPS) == 62
    assert sum(len(parse_expectations((d / "expected.yaml").read_text())) for _, d in STEPS) == 301


@pytest.mark.parametrize("name,path", STEPS, ids=[s[0] for s in STEPS])
def test_cnp_kernel_agrees_with_engine_and_upstream(cnp_lab, name: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    src = sources(path / "cluster.yaml", path / "policies.yaml")
    if cnp_lab.exists():
        cnp_lab.apply(src)
    else:
        cnp_lab.up(src)
    lc, plan = cnp_lab.loaded()
    assert lc.cluster.tier_policies, "the tier policies were not read"
    probes = parse_expectations((path / "expected.yaml").read_text(), str(path))
    results = run_probes(lc, plan, probes, timeout=1.0, parallel=96)
    _check(results, len(probes))


def test_tier_properties_upstream_never_probes(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab("p")
    lab.up(sources(PROPS / "cluster.yaml", PROPS / "policies.yaml"))
    lc, plan = lab.loaded()
    assert [h.key for h in plan.hosts] == ["host:node-1"]
    assert dict(plan.host_of) == {"edge/agent": "host:node-1"}
    probes = parse_expectations((PROPS / "expected.yaml").read_text())
    results = run_probes(lc, plan, probes, timeout=1.0)
    _check(results, len([p for p in probes if not p.advisory]))
    by = {(r.probe.src, r.probe.dst, r.probe.protocol.value, r.probe.port): r for r in results}
    # the engine's reasons are the ones the scenario is about
    assert "[Admin] allow-monitoring" in by[("monitoring/prom", "tenant-a/web", "TCP", 80)].reason
    why = by[("tenant-a/web", "tenant-b/api", "TCP", 80)].reason
    assert "[Admin] a-to-b" not in why and "tenant-b/same-namespace" in why  # egress was accepted; ingress denied
    # each drop is counted on the rule that made it, named in its comment
    counters = {r["comment"]: r["packets"] for r in lab.nft().counters("podwall")}
    assert counters["[Admin] ClusterNetworkPolicy/monitoring-not-to-agents egress rule #1 Deny (no-agent-metrics)"] > 0
    assert counters["[Admin] ClusterNetworkPolicy/b-web-from-monitoring ingress rule #1 Deny (no-udp-80)"] > 0
    assert counters["[Baseline] ClusterNetworkPolicy/default ingress rule #1 Deny (not-from-tenant-b)"] > 0
    assert counters["[Admin] ClusterNetworkPolicy/a-to-b egress rule #1 Accept (to-tenant-b)"] > 0
    status = lab.status()
    assert status.healthy, status.problems
    assert any("no-agent-metrics" in d.comment for d in status.drops)
    assert not any("Accept" in d.comment for d in status.drops)
    assert status.pods == 5 and status.hosts == (("host:node-1", ("10.9.0.1",)),)
    # the hostNetwork pod edge/agent lives in the host namespace (no eth0 of its own): healthy
    # above; the host namespace itself is checked like a pod's
    victim = plan.hosts[0].netns
    subprocess.run(["ip", "netns", "del", victim], check=True)
    damaged = lab.status()
    assert not damaged.healthy and damaged.namespaces_missing == (victim,)
    assert any("1 host namespace(s) missing" in p and victim in p for p in damaged.problems), damaged.problems
    assert not any("pod namespace(s) missing" in p for p in damaged.problems), damaged.problems


DUAL = """
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {team: b}}
""" + "".join(
    f"""---
apiVersion: v1
kind: Pod
metadata: {{name: "{name}", namespace: {ns}, labels: {{app: "{name[0]}"}}}}
spec:
  containers:
  - {{name: c, ports: [{{name: web, containerPort: {port}}}, {{name: dns, containerPort: 53, protocol: UDP}}]}}
status: {{podIPs: [{{ip: 10.6.0.{i}}}, {{ip: "fd00:6::{i}"}}], podIP: 10.6.0.{i}}}
"""
    for i, (name, ns, port) in enumerate(
        (("x", "a", 80), ("y", "a", 8080), ("z", "b", 80), ("x2", "b", 80)), start=1
    )
) + """---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: z-in}
spec:
  tier: Admin
  priority: 1
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: z}}}}
  ingress:
  - {name: from-x-web, action: Accept, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: x}}}}],
     protocols: [{destinationNamedPort: web}]}
  - {name: rest, action: Deny, from: [{namespaces: {}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: no-v6-out}
spec:
  tier: Baseline
  priority: 1
  subject: {namespaces: {matchLabels: {team: a}}}
  egress:
  - {name: v6, action: Deny, to: [{networks: ["fd00:6::3/128"]}]}
"""


def test_tiers_over_ipv6_and_ipv4(make_lab) -> None:  # type: ignore[no-untyped-def]
    """Dual-stack pods: the same verdicts over each family (named port, networks that are
    IPv6-only: the engine matches the pod, so its IPv4 address is denied too)."""
    from podwall.core.model import Protocol
    from podwall.lab.probe import Probe
    from podwall.sources.manifests import SourceText

    lab = make_lab("6")
    lab.up([SourceText("dual.yaml", DUAL)])
    lc, plan = lab.loaded()
    probes = [
        # the Baseline denies z's IPv6 address: the engine matches the pod, so IPv4 too
        Probe(src="a/x", dst="b/z", port=80, protocol=Protocol.TCP, expect=False),
        Probe(src="b/z", dst="a/y", port=8080, protocol=Protocol.TCP, expect=True),
        Probe(src="a/y", dst="a/x", port=80, protocol=Protocol.TCP, expect=True),
        Probe(src="b/x2", dst="b/z", port=80, protocol=Protocol.TCP, expect=True),  # named port web = TCP/80 on z
        Probe(src="b/x2", dst="b/z", port=8080, protocol=Protocol.TCP, expect=False),
        Probe(src="b/x2", dst="b/z", port=80, protocol=Protocol.UDP, expect=False),
    ]
    text = lab.nft().run("list table inet podwall")
    assert "ip6 saddr @tpeer6_" in text and "ip6 daddr @tpeer6_" in text
    for family in (4, 6):
        results = run_probes(lc, plan, probes, family=family, timeout=1.0)
        _check(results, len(probes))
        assert all((":" in r.attempts[0].ip) == (family == 6) for r in results)


def test_hostnetwork_pods_as_lab_pods_in_pod_mode(make_lab) -> None:  # type: ignore[no-untyped-def]
    """``--host-network pod``: the centaur pods get namespaces of their own (the Node hosts,
    whose addresses they took, are reported and skipped); the tiers still never select them,
    and ``nodes`` peers still match their addresses."""
    from podwall.core.model import HostNetworkMode, Options

    d = CNP / "experimental" / "cnp-admin-tier-egress-node-peers"
    lab = make_lab("h")
    ch = lab.up(sources(d / "cluster.yaml", d / "policies.yaml"), options=Options(host_network=HostNetworkMode.POD))
    lc, plan = lab.loaded()
    assert plan.hosts == () and {k for k, _ in ch.skipped} == {"host:node-1", "host:node-2"}
    assert plan.pod("network-policy-conformance-forbidden-forrest/centaur-1") is not None
    probes = parse_expectations((d / "expected.yaml").read_text())
    _check(run_probes(lc, plan, probes, timeout=1.0), len(probes))


def test_examples_tiers_in_the_lab(make_lab) -> None:  # type: ignore[no-untyped-def]
    """The platform team's tier set over the seed (examples/tiers): kernel = engine = its expectations."""
    seed, tiers = REPO / "examples" / "seed", REPO / "examples" / "tiers"
    lab = make_lab("x")
    lab.up(sources(seed / "manifests", tiers / "policies.yaml"), namespace="production")
    lc, plan = lab.loaded()
    probes = parse_expectations((tiers / "expect.yaml").read_text())
    results = run_probes(lc, plan, probes, timeout=1.0)
    in_lab = [r for r in results if not r.advisory]
    assert len(in_lab) >= 10
    _check(in_lab, len(in_lab))
