"""Tier lint checks beyond their scenarios: coverage logic, and a run over every upstream CNP state."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import podwall
from podwall.core.lint import lint
from podwall.core.lint.tiers import TIER_RULES, rule_covers
from podwall.core.model import IPBlock, LabelSelector, Protocol, TierAction, TierPeer, TierPort, TierRule

CNP = Path(__file__).resolve().parent.parent / "conformance" / "cnp"
ALL = LabelSelector()
MON = LabelSelector(match_labels=(("team", "mon"),))


def _rule(*peers: TierPeer, ports: tuple[TierPort, ...] | None = None) -> TierRule:
    return TierRule(index=0, name="", action=TierAction.DENY, peers=peers, ports=ports)


def _net(*cidrs: str) -> TierPeer:
    return TierPeer(kind="networks", networks=tuple(IPBlock(cidr=c, network=ipaddress.ip_network(c)) for c in cidrs))


def test_rule_covers():
    every_ns = TierPeer(kind="namespaces", namespace_selector=ALL)
    mon_pods = TierPeer(kind="pods", namespace_selector=MON, pod_selector=ALL)
    assert rule_covers(_rule(every_ns), _rule(mon_pods))
    assert not rule_covers(_rule(mon_pods), _rule(every_ns))
    assert rule_covers(_rule(_net("10.0.0.0/8")), _rule(_net("10.1.0.0/16", "10.2.0.0/16")))
    assert not rule_covers(_rule(_net("10.0.0.0/8")), _rule(_net("10.1.0.0/16", "192.168.0.0/16")))
    assert not rule_covers(_rule(_net("0.0.0.0/0")), _rule(every_ns))  # pods' IPs are not known syntactically
    tcp80 = TierPort(protocol=Protocol.TCP, port=80)
    tcp_range = TierPort(protocol=Protocol.TCP, port=1, end_port=1024)
    udp80 = TierPort(protocol=Protocol.UDP, port=80)
    assert rule_covers(_rule(every_ns, ports=(tcp_range,)), _rule(every_ns, ports=(tcp80,)))
    assert not rule_covers(_rule(every_ns, ports=(tcp_range,)), _rule(every_ns, ports=(udp80,)))
    assert not rule_covers(_rule(every_ns, ports=(tcp80,)), _rule(every_ns))
    assert rule_covers(_rule(every_ns), _rule(every_ns, ports=(udp80,)))


def test_lint_runs_on_every_upstream_state():
    seen: set[str] = set()
    for policies in sorted(CNP.rglob("policies.yaml")):
        loaded = podwall.load([str(policies.parent / "cluster.yaml"), str(policies)])
        for f in lint(loaded.cluster, loaded.engine):
            assert f.message and f.locations
            seen.add(f.rule)
    # the suite's deliberately redundant rule lists (accept/deny/pass to the same peers) are found
    assert "tier-rule-shadowed" in seen
    assert seen & TIER_RULES
