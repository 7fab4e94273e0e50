"""Port matching (``NetworkPolicyPort`` in ``networking/v1/types.go``)."""

from __future__ import annotations

import pytest
from tests.unit.core.core_builders import addr, pod, port

from podwall.core.model import Protocol
from podwall.core.ports import describe_port_miss, named_port_numbers, ports_match, spec_matches

TCP, UDP, SCTP = Protocol.TCP, Protocol.UDP, Protocol.SCTP

WEB = pod("a", "web", ports=(("http", 8080, TCP), ("dns", 53, UDP), ("metrics", 9090, TCP)))
OTHER_WEB = pod("a", "web2", ports=(("http", 80, TCP),))
NO_PORTS = pod("a", "bare")
OUTSIDE = addr("203.0.113.9")


@pytest.mark.parametrize(
    ("spec", "number", "proto", "dst", "expected"),
    [
        # numeric port: exact number and protocol
        (port(80), 80, TCP, WEB, True),
        (port(80), 81, TCP, WEB, False),
        (port(80), 80, UDP, WEB, False),  # protocol must match too
        (port(53, UDP), 53, UDP, WEB, True),
        (port(53, UDP), 53, TCP, WEB, False),
        (port(5000, SCTP), 5000, SCTP, WEB, True),
        # no port: every port of that protocol only
        (port(None), 1, TCP, WEB, True),
        (port(None), 65535, TCP, WEB, True),
        (port(None), 80, UDP, WEB, False),
        (port(None, UDP), 80, UDP, WEB, True),
        # endPort: inclusive range
        (port(1000, end=2000), 999, TCP, WEB, False),
        (port(1000, end=2000), 1000, TCP, WEB, True),
        (port(1000, end=2000), 1500, TCP, WEB, True),
        (port(1000, end=2000), 2000, TCP, WEB, True),
        (port(1000, end=2000), 2001, TCP, WEB, False),
        (port(1000, end=2000), 1500, UDP, WEB, False),
        (port(1000, end=1000), 1000, TCP, WEB, True),
        # numbers apply to addresses too
        (port(443), 443, TCP, OUTSIDE, True),
        (port(1, end=65535), 8080, TCP, OUTSIDE, True),
        # named ports resolve on the receiving pod, by name and protocol
        (port("http"), 8080, TCP, WEB, True),
        (port("http"), 80, TCP, WEB, False),
        (port("http"), 80, TCP, OTHER_WEB, True),
        (port("http"), 8080, TCP, OTHER_WEB, False),
        (port("dns"), 53, TCP, WEB, False),  # "dns" is declared for UDP only
        (port("dns", UDP), 53, UDP, WEB, True),
        (port("http", UDP), 8080, UDP, WEB, False),  # no UDP port named http
        (port("http"), 8080, TCP, NO_PORTS, False),
        # a named port never matches an address outside the cluster
        (port("http"), 8080, TCP, OUTSIDE, False),
        (port("http"), 80, TCP, OUTSIDE, False),
    ],
)
def test_spec_matches(spec, number: int, proto: Protocol, dst, expected: bool) -> None:  # type: ignore[no-untyped-def]
    assert spec_matches(spec, number, proto, dst) is expected


def test_empty_ports_list_admits_every_port_and_protocol() -> None:
    for proto in Protocol:
        assert ports_match((), 1, proto, WEB)
        assert ports_match((), 65535, proto, OUTSIDE)


def test_ports_list_is_ored() -> None:
    specs = (port(80), port(53, UDP), port("metrics"))
    assert ports_match(specs, 80, TCP, WEB)
    assert ports_match(specs, 53, UDP, WEB)
    assert ports_match(specs, 9090, TCP, WEB)
    assert not ports_match(specs, 53, TCP, WEB)
    assert not ports_match(specs, 9090, TCP, OTHER_WEB)


def test_named_port_numbers_by_protocol_and_destination() -> None:
    p = pod("a", "multi", ports=(("web", 80, TCP), ("web", 81, TCP), ("web", 80, UDP)))
    assert named_port_numbers("web", TCP, p) == (80, 81)
    assert named_port_numbers("web", UDP, p) == (80,)
    assert named_port_numbers("web", SCTP, p) == ()
    assert named_port_numbers("web", TCP, OUTSIDE) == ()


def test_describe_port_miss_explains_named_ports() -> None:
    assert describe_port_miss((port(80), port(53, UDP)), TCP, WEB) == "allows only TCP/80, UDP/53"
    assert describe_port_miss((port("http"),), TCP, WEB) == "allows only TCP/http (= TCP/8080 on a/web)"
    assert describe_port_miss((port("http"),), TCP, NO_PORTS) == "allows only TCP/http (not declared by a/bare)"
    assert "never matches an address outside the cluster" in describe_port_miss((port("http"),), TCP, OUTSIDE)
    assert describe_port_miss((port(1000, end=2000),), TCP, WEB) == "allows only TCP/1000-2000"
