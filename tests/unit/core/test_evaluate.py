"""``Engine.verdict``: isolation, additivity, rules, ports, and the explanation it carries.

Every expectation below is derived from the API's own documentation (the comments of
``kubernetes/api`` ``networking/v1/types.go``) and the NetworkPolicy concept page
(kubernetes.io/docs/concepts/services-networking/network-policies/), not from podwall's output.
"""

from __future__ import annotations

import pytest
from tests.unit.core.core_builders import (
    addr,
    block,
    cluster,
    labels_sel,
    namespace,
    peer,
    pod,
    policy,
    port,
    rule,
)

from podwall.core.evaluate import Engine, RuleRef
from podwall.core.model import Direction, HostNetworkMode, LabelSelector, Options, Protocol

TCP, UDP, SCTP = Protocol.TCP, Protocol.UDP, Protocol.SCTP
ING, EGR = Direction.INGRESS, Direction.EGRESS

WEB = pod("prod", "web", {"app": "web"}, ports=(("http", 8080, TCP),), ips=("10.0.0.1",))
API = pod("prod", "api", {"app": "api"}, ports=(("http", 9000, TCP), ("grpc", 9001, TCP)), ips=("10.0.0.2",))
DB = pod("prod", "db", {"app": "db"}, ports=(("sql", 5432, TCP),), ips=("10.0.0.3",))
DEV = pod("dev", "tool", {"app": "tool"}, ips=("10.0.9.9",))
OUT = addr("203.0.113.7")
NAMESPACES = (namespace("prod", env="prod"), namespace("dev", env="dev"))
ALL = (WEB, API, DB, DEV)


def engine(*policies, endpoints=ALL, options=None):  # type: ignore[no-untyped-def]
    return Engine(cluster(endpoints=endpoints, policies=policies, namespaces=NAMESPACES), options)


# -- isolation ---------------------------------------------------------------------------


def test_no_policy_allows_everything() -> None:
    e = engine()
    for src in (*ALL, OUT):
        for dst in (*ALL, OUT):
            if src is not dst:
                assert e.verdict(src, dst, 80).allowed
    v = e.verdict(WEB, API, 80)
    assert not v.egress.isolated and not v.ingress.isolated


def test_isolation_is_per_direction() -> None:
    deny_ingress = policy("prod", "deny-in", labels_sel(app="api"), types=(ING,))
    e = engine(deny_ingress)
    assert not e.verdict(WEB, API, 80).allowed  # ingress of api isolated
    assert e.verdict(API, WEB, 80).allowed  # egress of api is not
    assert e.verdict(API, OUT, 443).allowed
    v = e.verdict(API, WEB, 80)
    assert not v.egress.isolated


def test_egress_only_policy_isolates_egress_only() -> None:
    deny_egress = policy("prod", "deny-out", labels_sel(app="api"), types=(EGR,))
    e = engine(deny_egress)
    assert not e.verdict(API, WEB, 80).allowed
    assert not e.verdict(API, OUT, 53, UDP).allowed
    assert e.verdict(WEB, API, 80).allowed


def test_policy_isolates_only_pods_of_its_namespace() -> None:
    deny_all = policy("dev", "deny", LabelSelector(), types=(ING, EGR))
    e = engine(deny_all)
    assert e.verdict(WEB, API, 80).allowed
    assert not e.verdict(WEB, DEV, 80).allowed
    assert not e.verdict(DEV, WEB, 80).allowed


def test_policy_without_rules_isolates_and_explains_it() -> None:
    deny = policy("prod", "deny", labels_sel(app="db"), types=(ING,))
    v = engine(deny).verdict(API, DB, 5432)
    assert not v.allowed
    assert v.ingress.isolated and v.ingress.policies == ("prod/deny",)
    assert [(m.policy, m.rule, m.kind) for m in v.ingress.misses] == [("prod/deny", None, "no-rules")]
    assert "no ingress rules" in v.ingress.misses[0].reason
    assert "isolated by prod/deny and no rule allows it" in v.reason()


def test_listing_egress_in_policy_types_without_egress_rules_denies_egress() -> None:
    p = policy("prod", "p", labels_sel(app="web"), ingress=(rule(),), types=(ING, EGR))
    e = engine(p)
    assert e.verdict(API, WEB, 80).allowed
    assert not e.verdict(WEB, API, 80).allowed


def test_rules_of_a_direction_not_in_policy_types_are_inert() -> None:
    # egress rules present, but policyTypes only [Ingress]: egress stays unisolated
    p = policy("prod", "p", labels_sel(app="web"), egress=(rule(ports=(port(1),)),), types=(ING,))
    e = engine(p)
    assert e.verdict(WEB, API, 80).allowed
    assert not e.verdict(API, WEB, 80).allowed


def test_connection_needs_egress_at_source_and_ingress_at_destination() -> None:
    allow_out = policy(
        "prod", "web-out", labels_sel(app="web"), egress=(rule(peers=(peer(labels_sel(app="api")),)),), types=(EGR,)
    )
    deny_in = policy("prod", "api-in", labels_sel(app="api"), types=(ING,))
    e = engine(allow_out, deny_in)
    v = e.verdict(WEB, API, 80)
    assert v.egress.allowed and not v.ingress.allowed and not v.allowed
    allow_in = policy(
        "prod", "api-in-web", labels_sel(app="api"), ingress=(rule(peers=(peer(labels_sel(app="web")),)),)
    )
    assert engine(allow_out, deny_in, allow_in).verdict(WEB, API, 80).allowed
    assert not engine(allow_out, deny_in, allow_in).verdict(WEB, DB, 80).allowed  # web egress only to api


# -- additivity -----------------------------------------------------------------------------


def test_policies_are_a_union_and_order_does_not_matter() -> None:
    from_web = policy("prod", "from-web", labels_sel(app="db"), ingress=(rule(peers=(peer(labels_sel(app="web")),)),))
    from_api = policy("prod", "from-api", labels_sel(app="db"), ingress=(rule(peers=(peer(labels_sel(app="api")),)),))
    for order in ((from_web, from_api), (from_api, from_web)):
        e = engine(*order)
        assert e.verdict(WEB, DB, 5432).allowed
        assert e.verdict(API, DB, 5432).allowed
        assert not e.verdict(DEV, DB, 5432).allowed
    v = engine(from_web, from_api).verdict(API, DB, 5432)
    assert v.ingress.allowed_by == (RuleRef(policy="prod/from-api", direction=ING, rule=0),)
    assert set(v.ingress.policies) == {"prod/from-web", "prod/from-api"}


def test_allow_all_policy_wins_over_deny_all_policy() -> None:
    deny = policy("prod", "deny", LabelSelector(), types=(ING,))
    allow = policy("prod", "allow", LabelSelector(), ingress=(rule(),))
    assert engine(deny, allow).verdict(DEV, DB, 1).allowed


def test_rules_within_a_policy_are_ored() -> None:
    p = policy(
        "prod",
        "p",
        labels_sel(app="db"),
        ingress=(
            rule(peers=(peer(labels_sel(app="web")),), ports=(port(5432),)),
            rule(peers=(peer(None, labels_sel(env="dev")),)),
        ),
    )
    e = engine(p)
    assert e.verdict(WEB, DB, 5432).allowed
    assert not e.verdict(WEB, DB, 22).allowed
    assert e.verdict(DEV, DB, 22).allowed
    assert e.verdict(DEV, DB, 22).ingress.allowed_by == (RuleRef(policy="prod/p", direction=ING, rule=1),)


def test_rule_needs_both_port_and_peer() -> None:
    p = policy(
        "prod", "p", labels_sel(app="db"), ingress=(rule(peers=(peer(labels_sel(app="web")),), ports=(port(5432),)),)
    )
    e = engine(p)
    assert e.verdict(WEB, DB, 5432).allowed
    assert not e.verdict(WEB, DB, 5433).allowed
    assert not e.verdict(API, DB, 5432).allowed


# -- empty lists --------------------------------------------------------------------------


def test_empty_from_and_ports_allow_everything_including_outside() -> None:
    p = policy("prod", "p", labels_sel(app="db"), ingress=(rule(),))
    e = engine(p)
    for src in (WEB, DEV, OUT):
        for proto in Protocol:
            assert e.verdict(src, DB, 12345, proto).allowed


def test_empty_from_with_ports_allows_every_source_on_those_ports() -> None:
    p = policy("prod", "p", labels_sel(app="db"), ingress=(rule(ports=(port(5432),)),))
    e = engine(p)
    assert e.verdict(OUT, DB, 5432).allowed
    assert e.verdict(DEV, DB, 5432).allowed
    assert not e.verdict(DEV, DB, 5433).allowed


def test_empty_to_egress_allows_outside_addresses() -> None:
    p = policy("prod", "p", labels_sel(app="web"), egress=(rule(ports=(port(53, UDP),)),), types=(EGR,))
    e = engine(p)
    assert e.verdict(WEB, OUT, 53, UDP).allowed
    assert not e.verdict(WEB, OUT, 53, TCP).allowed


# -- ports ------------------------------------------------------------------------------


def test_named_port_resolves_on_each_destination_pod() -> None:
    # "http" is 8080 on web and 9000 on api: one egress rule, two numbers.
    p = policy("dev", "tool-out", labels_sel(app="tool"), egress=(rule(ports=(port("http"),)),), types=(EGR,))
    e = engine(p)
    assert e.verdict(DEV, WEB, 8080).allowed
    assert not e.verdict(DEV, WEB, 9000).allowed
    assert e.verdict(DEV, API, 9000).allowed
    assert not e.verdict(DEV, API, 8080).allowed
    assert not e.verdict(DEV, DB, 8080).allowed  # db declares no "http"


def test_named_port_on_ingress_resolves_on_the_selected_pod() -> None:
    p = policy("prod", "in", LabelSelector(), ingress=(rule(ports=(port("http"),)),))
    e = engine(p)
    assert e.verdict(DEV, WEB, 8080).allowed
    assert e.verdict(DEV, API, 9000).allowed
    assert not e.verdict(DEV, API, 8080).allowed


def test_named_port_never_matches_an_address() -> None:
    p = policy("prod", "out", labels_sel(app="web"), egress=(rule(ports=(port("http"),)),), types=(EGR,))
    v = engine(p).verdict(WEB, OUT, 8080)
    assert not v.allowed
    assert v.egress.misses[0].kind == "port"
    assert "never matches an address outside the cluster" in v.egress.misses[0].reason


@pytest.mark.parametrize(
    ("number", "expected"), [(7999, False), (8000, True), (8050, True), (8100, True), (8101, False)]
)
def test_end_port_range(number: int, expected: bool) -> None:
    p = policy("prod", "p", labels_sel(app="db"), ingress=(rule(ports=(port(8000, end=8100),)),))
    assert engine(p).verdict(WEB, DB, number).allowed is expected


@pytest.mark.parametrize(
    ("spec_proto", "conn_proto", "expected"),
    [(TCP, TCP, True), (TCP, UDP, False), (UDP, UDP, True), (UDP, SCTP, False), (SCTP, SCTP, True), (SCTP, TCP, False)],
)
def test_protocol_must_match(spec_proto: Protocol, conn_proto: Protocol, expected: bool) -> None:
    p = policy("prod", "p", labels_sel(app="db"), ingress=(rule(ports=(port(53, spec_proto),)),))
    assert engine(p).verdict(WEB, DB, 53, conn_proto).allowed is expected


# -- peers at the engine level --------------------------------------------------------------


def test_ingress_from_ipblock_and_outside_sources() -> None:
    p = policy(
        "prod",
        "p",
        labels_sel(app="db"),
        ingress=(rule(peers=(peer(ip_block=block("203.0.113.0/24", "203.0.113.128/25")),)),),
    )
    e = engine(p)
    assert e.verdict(OUT, DB, 1).allowed  # .7 is in the cidr, outside the except
    assert not e.verdict(addr("203.0.113.200"), DB, 1).allowed
    assert not e.verdict(WEB, DB, 1).allowed


def test_address_source_egress_is_not_governed() -> None:
    v = engine(policy("prod", "deny", LabelSelector(), types=(ING, EGR))).verdict(OUT, DB, 1)
    assert not v.egress.governed and v.egress.allowed
    assert not v.allowed  # db ingress is isolated


def test_options_ipblock_matches_pods_off_changes_the_verdict() -> None:
    p = policy("prod", "p", labels_sel(app="db"), ingress=(rule(peers=(peer(ip_block=block("10.0.0.0/24")),)),))
    assert engine(p).verdict(WEB, DB, 1).allowed
    assert not engine(p, options=Options(ipblock_matches_pods=False)).verdict(WEB, DB, 1).allowed


def test_host_network_node_mode_is_not_governed_and_not_selected() -> None:
    host = pod("prod", "node-agent", {"app": "db"}, ips=("192.168.0.10",), host_network=True)
    deny = policy("prod", "deny", LabelSelector(), types=(ING, EGR))
    e = engine(deny, endpoints=(*ALL, host))
    v = e.verdict(host, WEB, 80)
    assert not v.egress.governed  # a hostNetwork pod is node traffic, never a policy subject
    assert not v.allowed  # but web's ingress is isolated and nothing allows the node
    assert e.verdict(WEB, host, 80).ingress.governed is False
    allow_node = policy(
        "prod", "node", labels_sel(app="web"), ingress=(rule(peers=(peer(ip_block=block("192.168.0.0/24")),)),)
    )
    assert engine(deny, allow_node, endpoints=(*ALL, host)).verdict(host, WEB, 80).allowed
    selector_rule = policy("prod", "sel", labels_sel(app="web"), ingress=(rule(peers=(peer(labels_sel(app="db")),)),))
    assert not engine(deny, selector_rule, endpoints=(*ALL, host)).verdict(host, WEB, 80).allowed
    pod_mode = Options(host_network=HostNetworkMode.POD)
    assert engine(deny, selector_rule, endpoints=(*ALL, host), options=pod_mode).verdict(host, WEB, 80).ingress.allowed


# -- self and workloads ------------------------------------------------------------------------


def test_a_pod_can_always_reach_itself() -> None:
    deny = policy("prod", "deny", LabelSelector(), types=(ING, EGR))
    v = engine(deny).verdict(WEB, WEB, 8080)
    assert v.allowed and v.self_traffic
    assert "can always reach itself" in v.reason()


def test_another_pod_with_the_same_labels_is_not_self() -> None:
    twin = pod("prod", "web-2", {"app": "web"})
    deny = policy("prod", "deny", LabelSelector(), types=(ING,))
    v = engine(deny, endpoints=(*ALL, twin)).verdict(WEB, twin, 8080)
    assert not v.allowed and not v.self_traffic


def test_workload_replica_to_replica_is_governed_by_policy() -> None:
    deploy = pod("prod", "web", {"app": "web"}, kind="Deployment")
    deny = policy("prod", "deny", LabelSelector(), types=(ING,))
    v = engine(deny, endpoints=(deploy,)).verdict(deploy, deploy, 80)
    assert not v.allowed and not v.self_traffic
    same_app = policy("prod", "same", labels_sel(app="web"), ingress=(rule(peers=(peer(labels_sel(app="web")),)),))
    assert engine(deny, same_app, endpoints=(deploy,)).verdict(deploy, deploy, 80).allowed


# -- explanations ----------------------------------------------------------------------------


def test_explanation_names_the_allowing_policy_and_rule() -> None:
    p = policy(
        "prod",
        "db-in",
        labels_sel(app="db"),
        ingress=(rule(ports=(port(1),)), rule(peers=(peer(labels_sel(app="web")),))),
    )
    v = engine(p).verdict(WEB, DB, 5432)
    assert v.allowed
    assert v.ingress.allowed_by == (RuleRef(policy="prod/db-in", direction=ING, rule=1),)
    assert str(v.ingress.allowed_by[0]) == "prod/db-in ingress rule #2"
    assert v.ingress.misses == ()
    assert "ingress allowed by prod/db-in ingress rule #2" in v.reason()


def test_explanation_says_why_each_rule_missed() -> None:
    p = policy(
        "prod",
        "db-in",
        labels_sel(app="db"),
        ingress=(
            rule(peers=(peer(labels_sel(app="api")),)),
            rule(peers=(peer(None, labels_sel(env="dev")),), ports=(port(5432),)),
            rule(ports=(port(22),)),
        ),
    )
    v = engine(p).verdict(WEB, DB, 5432)
    assert not v.allowed
    misses = {m.rule: m for m in v.ingress.misses}
    assert set(misses) == {0, 1, 2}
    assert misses[0].kind == "peer"
    assert (
        misses[0].reason == "source prod/web matches no peer: podSelector app=api: prod/web needs app=api, has app=web"
    )
    assert misses[1].kind == "peer"
    assert "namespaceSelector env=dev: namespace prod needs env=dev, has env=prod" in misses[1].reason
    assert misses[2].kind == "port" and misses[2].reason == "allows only TCP/22"
    assert str(misses[2]) == "prod/db-in ingress rule #3: allows only TCP/22"


def test_explanation_for_egress_names_the_destination() -> None:
    p = policy(
        "prod", "web-out", labels_sel(app="web"), egress=(rule(peers=(peer(labels_sel(app="db")),)),), types=(EGR,)
    )
    v = engine(p).verdict(WEB, API, 80)
    assert not v.allowed
    assert v.egress.misses[0].reason.startswith("destination prod/api matches no peer: podSelector app=db")


def test_allowed_shortcut_agrees_with_verdict() -> None:
    pols = (
        policy(
            "prod",
            "a",
            labels_sel(app="db"),
            ingress=(rule(peers=(peer(labels_sel(app="web")),), ports=(port(5432),)),),
        ),
        policy("prod", "b", labels_sel(app="web"), egress=(rule(peers=(peer(None, LabelSelector()),)),), types=(EGR,)),
    )
    e = engine(*pols)
    for src in (*ALL, OUT):
        for dst in (*ALL, OUT):
            for n in (80, 5432):
                assert e.allowed(src, dst, n) == e.verdict(src, dst, n).allowed


def test_selection_cache_is_not_fooled_by_reused_object_ids() -> None:
    # Endpoints built on the fly and freed must not inherit each other's cached selection.
    deny_x = policy("prod", "deny-x", labels_sel(app="x"), types=(ING,))
    e = engine(deny_x)
    for i in range(100):
        label = "x" if i % 2 else "y"
        temp = pod("prod", f"tmp{i}", {"app": label})
        assert bool(e.selecting(temp, ING)) is (label == "x")
        del temp  # CPython frees it now: the next pod may get the same id()
