"""Peer matching: the selector shapes of ``NetworkPolicyPeer`` and ``ipBlock``.

Semantics from ``networking/v1/types.go`` (``NetworkPolicyPeer``) and the NetworkPolicy concept page:
podSelector alone = pods of the policy's namespace; namespaceSelector alone = every pod of the
matching namespaces; both in one peer = AND; empty selector = all; ipBlock = cidr minus except.
"""

from __future__ import annotations

from types import MappingProxyType

import pytest
from tests.unit.core.core_builders import NS_LABEL, addr, block, labels_sel, peer, pod

from podwall.core.model import HostNetworkMode, LabelSelector, Options
from podwall.core.peers import describe_peer_miss, peer_matches

POLICY_NS = "prod"
PROD_LABELS = MappingProxyType({NS_LABEL: "prod", "env": "prod"})
DEV_LABELS = MappingProxyType({NS_LABEL: "dev", "env": "dev"})
DEFAULT = Options()

WEB_PROD = pod("prod", "web", {"app": "web"}, ips=("10.0.1.5",))
DB_PROD = pod("prod", "db", {"app": "db"}, ips=("10.0.1.6",))
WEB_DEV = pod("dev", "web", {"app": "web"}, ips=("10.0.2.5",))
DB_DEV = pod("dev", "db", {"app": "db"}, ips=("10.0.2.6",))
LABELS_OF = {"prod": PROD_LABELS, "dev": DEV_LABELS}

EMPTY = LabelSelector()
APP_WEB = labels_sel(app="web")
ENV_DEV = labels_sel(env="dev")

# The six valid selector shapes (podSelector x namespaceSelector, each empty or set, at least
# one present) against the four pods {web,db} x {same namespace, other namespace}.
SHAPES = [
    # name, peer, matches (web/prod, db/prod, web/dev, db/dev)
    ("pod empty, ns absent: all pods of the policy's namespace", peer(EMPTY, None), (True, True, False, False)),
    ("pod set, ns absent: matching pods of the policy's namespace", peer(APP_WEB, None), (True, False, False, False)),
    ("pod absent, ns empty: every pod of every namespace", peer(None, EMPTY), (True, True, True, True)),
    ("pod absent, ns set: every pod of matching namespaces", peer(None, ENV_DEV), (False, False, True, True)),
    ("pod empty, ns empty: every pod of every namespace", peer(EMPTY, EMPTY), (True, True, True, True)),
    ("pod set, ns empty: matching pods in every namespace", peer(APP_WEB, EMPTY), (True, False, True, False)),
    ("pod empty, ns set: every pod of matching namespaces", peer(EMPTY, ENV_DEV), (False, False, True, True)),
    (
        "pod set, ns set: matching pods in matching namespaces (AND)",
        peer(APP_WEB, ENV_DEV),
        (False, False, True, False),
    ),
]


@pytest.mark.parametrize(("name", "p", "expected"), SHAPES, ids=[s[0] for s in SHAPES])
def test_selector_shapes(name: str, p, expected: tuple[bool, ...]) -> None:  # type: ignore[no-untyped-def]
    got = tuple(
        peer_matches(p, POLICY_NS, ep, LABELS_OF[ep.namespace], DEFAULT) for ep in (WEB_PROD, DB_PROD, WEB_DEV, DB_DEV)
    )
    assert got == expected


def test_namespace_name_label_selects_a_namespace_by_name() -> None:
    p = peer(None, labels_sel(**{NS_LABEL: "dev"}))
    assert peer_matches(p, POLICY_NS, WEB_DEV, DEV_LABELS, DEFAULT)
    assert not peer_matches(p, POLICY_NS, WEB_PROD, PROD_LABELS, DEFAULT)


@pytest.mark.parametrize("shape", SHAPES, ids=[s[0] for s in SHAPES])
def test_selectors_never_match_an_address_outside_the_cluster(shape) -> None:  # type: ignore[no-untyped-def]
    assert not peer_matches(shape[1], POLICY_NS, addr("10.0.1.5"), {}, DEFAULT)


@pytest.mark.parametrize(
    ("cidr", "excepts", "ip", "expected"),
    [
        ("10.0.0.0/16", (), "10.0.1.5", True),
        ("10.0.0.0/16", (), "10.1.0.1", False),
        ("10.0.0.0/16", ("10.0.1.0/24",), "10.0.1.5", False),
        ("10.0.0.0/16", ("10.0.1.0/24",), "10.0.2.5", True),
        ("10.0.0.0/16", ("10.0.1.0/24", "10.0.2.0/24"), "10.0.2.5", False),
        ("10.0.0.0/16", ("10.0.1.5/32",), "10.0.1.5", False),
        ("10.0.0.0/16", ("10.0.1.5/32",), "10.0.1.4", True),
        ("0.0.0.0/0", (), "203.0.113.9", True),
        ("0.0.0.0/0", (), "2001:db8::1", False),  # the address families never mix
        ("2001:db8::/32", (), "2001:db8::1", True),
        ("2001:db8::/32", ("2001:db8:1::/48",), "2001:db8:1::1", False),
        ("2001:db8::/32", ("2001:db8:1::/48",), "2001:db8:2::1", True),
        ("::/0", (), "10.0.0.1", False),
        ("192.168.0.1/32", (), "192.168.0.1", True),
    ],
)
def test_ipblock_on_addresses(cidr: str, excepts: tuple[str, ...], ip: str, expected: bool) -> None:
    assert peer_matches(peer(ip_block=block(cidr, *excepts)), POLICY_NS, addr(ip), {}, DEFAULT) is expected


def test_ipblock_matches_pods_by_ip_by_default() -> None:
    p = peer(ip_block=block("10.0.1.0/24"))
    assert peer_matches(p, POLICY_NS, WEB_PROD, PROD_LABELS, DEFAULT)
    assert not peer_matches(p, POLICY_NS, WEB_DEV, DEV_LABELS, DEFAULT)


def test_ipblock_matches_a_pod_when_any_of_its_ips_is_inside() -> None:
    dual = pod("prod", "dual", ips=("10.9.0.1", "2001:db8::7"))
    assert peer_matches(peer(ip_block=block("2001:db8::/64")), POLICY_NS, dual, PROD_LABELS, DEFAULT)
    assert peer_matches(peer(ip_block=block("10.9.0.0/24")), POLICY_NS, dual, PROD_LABELS, DEFAULT)


def test_ipblock_never_matches_a_pod_without_ip() -> None:
    no_ip = pod("prod", "pending", {"app": "web"})
    p = peer(ip_block=block("0.0.0.0/0"))
    assert not peer_matches(p, POLICY_NS, no_ip, PROD_LABELS, DEFAULT)
    assert "has no known IP" in describe_peer_miss(p, POLICY_NS, no_ip, PROD_LABELS, DEFAULT)


def test_ipblock_matches_pods_option_off() -> None:
    off = Options(ipblock_matches_pods=False)
    p = peer(ip_block=block("10.0.0.0/8"))
    assert not peer_matches(p, POLICY_NS, WEB_PROD, PROD_LABELS, off)
    assert peer_matches(p, POLICY_NS, addr("10.0.1.5"), {}, off)  # addresses still match
    assert "option ipblock-matches-pods is off" in describe_peer_miss(p, POLICY_NS, WEB_PROD, PROD_LABELS, off)


HOST = pod("prod", "agent", {"app": "web"}, ips=("192.168.1.10",), host_network=True)


def test_host_network_node_mode_selectors_never_match() -> None:
    node = Options(host_network=HostNetworkMode.NODE)
    for _, p, _ in SHAPES:
        assert not peer_matches(p, POLICY_NS, HOST, PROD_LABELS, node)
    why = describe_peer_miss(peer(APP_WEB, None), POLICY_NS, HOST, PROD_LABELS, node)
    assert "hostNetwork" in why


def test_host_network_node_mode_ipblock_on_node_address_matches_even_with_option_off() -> None:
    node = Options(host_network=HostNetworkMode.NODE, ipblock_matches_pods=False)
    assert peer_matches(peer(ip_block=block("192.168.1.0/24")), POLICY_NS, HOST, PROD_LABELS, node)
    assert not peer_matches(peer(ip_block=block("10.0.0.0/8")), POLICY_NS, HOST, PROD_LABELS, node)


def test_host_network_pod_mode_is_a_pod_like_any_other() -> None:
    pod_mode = Options(host_network=HostNetworkMode.POD)
    assert peer_matches(peer(APP_WEB, None), POLICY_NS, HOST, PROD_LABELS, pod_mode)
    assert not peer_matches(peer(labels_sel(app="db"), None), POLICY_NS, HOST, PROD_LABELS, pod_mode)
    assert peer_matches(peer(ip_block=block("192.168.1.0/24")), POLICY_NS, HOST, PROD_LABELS, pod_mode)
    off = Options(host_network=HostNetworkMode.POD, ipblock_matches_pods=False)
    assert not peer_matches(peer(ip_block=block("192.168.1.0/24")), POLICY_NS, HOST, PROD_LABELS, off)


def test_describe_miss_names_the_selector_and_the_label() -> None:
    why = describe_peer_miss(peer(APP_WEB, None), POLICY_NS, DB_PROD, PROD_LABELS, DEFAULT)
    assert why == "podSelector app=web: prod/db needs app=web, has app=db"
    why = describe_peer_miss(peer(None, ENV_DEV), POLICY_NS, WEB_PROD, PROD_LABELS, DEFAULT)
    assert why == "namespaceSelector env=dev: namespace prod needs env=dev, has env=prod"
    why = describe_peer_miss(peer(APP_WEB, None), POLICY_NS, WEB_DEV, DEV_LABELS, DEFAULT)
    assert "without namespaceSelector means namespace prod only" in why and "dev/web is in dev" in why
    why = describe_peer_miss(peer(APP_WEB, EMPTY), POLICY_NS, addr("1.2.3.4"), {}, DEFAULT)
    assert "matches pods only, not the address 1.2.3.4" in why
    why = describe_peer_miss(
        peer(ip_block=block("10.0.0.0/16", "10.0.1.0/24")), POLICY_NS, WEB_PROD, PROD_LABELS, DEFAULT
    )
    assert why == "ipBlock 10.0.0.0/16 except 10.0.1.0/24 does not contain 10.0.1.5"
