"""The tier model: ordering, keys and how rules and ports print."""

from __future__ import annotations

from podwall.core.model import (
    Cluster,
    Direction,
    LabelSelector,
    Options,
    Protocol,
    Tier,
    TierAction,
    TierPolicy,
    TierPort,
    TierRule,
    TierSubject,
    TierTieBreak,
)


def _policy(name: str, tier: Tier, priority: int) -> TierPolicy:
    rule = TierRule(index=1, name="allow-dns", action=TierAction.ACCEPT, peers=(), ports=None)
    return TierPolicy(
        api_kind="ClusterNetworkPolicy",
        api_version="policy.networking.k8s.io/v1alpha2",
        name=name,
        tier=tier,
        priority=priority,
        subject=TierSubject(namespace_selector=LabelSelector(), pod_selector=None),
        ingress=(),
        egress=(rule,),
    )


def test_sort_key_orders_admin_before_baseline_then_priority_then_name() -> None:
    policies = [
        _policy("b", Tier.BASELINE, 0),
        _policy("z", Tier.ADMIN, 5),
        _policy("a", Tier.ADMIN, 5),
        _policy("m", Tier.ADMIN, 1),
    ]
    assert [p.name for p in sorted(policies, key=TierPolicy.sort_key)] == ["m", "a", "z", "b"]


def test_key_rules_and_labels() -> None:
    policy = _policy("tenants", Tier.ADMIN, 3)
    assert policy.key == "ClusterNetworkPolicy/tenants"
    assert policy.rules(Direction.EGRESS)[0].label == "rule #2 (allow-dns)"
    assert policy.rules(Direction.INGRESS) == ()
    assert str(TierAction.PASS) == "Pass" and str(Tier.BASELINE) == "Baseline"


def test_port_text() -> None:
    assert str(TierPort(protocol=Protocol.UDP, port=53)) == "UDP/53"
    assert str(TierPort(protocol=Protocol.TCP, port=80, end_port=90)) == "TCP/80-90"
    assert str(TierPort(protocol=None, named="web")) == "named web"


def test_defaults_are_empty() -> None:
    cluster = Cluster(namespaces={})
    assert cluster.tier_policies == () and cluster.nodes == ()
    options = Options()
    assert dict(options.domain_addresses) == {} and options.tier_tie_break is TierTieBreak.NAME
    assert hash(options) == hash(Options())
