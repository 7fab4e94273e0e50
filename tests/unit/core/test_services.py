"""Services as destinations: selector → backing pods, port → targetPort (number or name)."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from tests.unit.core.core_builders import addr, block, cluster, labels_sel, namespace, peer, pod, policy, port, rule

from podwall.core.evaluate import Engine
from podwall.core.model import (
    Cluster,
    Direction,
    EndpointAddress,
    EndpointPort,
    LabelSelector,
    Protocol,
    Service,
    ServicePort,
)
from podwall.core.services import evaluate_service, find_service_port, resolve_port, service_backends
from podwall.errors import QueryError

TCP, UDP = Protocol.TCP, Protocol.UDP

# Two backends that name the same port differently (8080 vs 8081), one that lacks the name.
B1 = pod("prod", "api-1", {"app": "api", "v": "1"}, ports=(("http", 8080, TCP),))
B2 = pod("prod", "api-2", {"app": "api", "v": "2"}, ports=(("http", 8081, TCP),))
B3 = pod("prod", "api-3", {"app": "api", "v": "3"})
ELSEWHERE = pod("dev", "api", {"app": "api"}, ports=(("http", 8080, TCP),))
CLIENT = pod("prod", "client", {"app": "client"})


def svc(target: int | str | None, selector: dict[str, str] | None = None, *, name: str = "api") -> Service:
    sel = {"app": "api"} if selector is None else selector
    return Service(
        namespace="prod",
        name=name,
        selector=MappingProxyType(sel),
        ports=(ServicePort(name="web", port=80, target_port=target), ServicePort(name="dns", port=53, protocol=UDP)),
    )


def make(*policies, endpoints=(B1, B2, B3, ELSEWHERE, CLIENT)) -> tuple[Engine, Cluster]:  # type: ignore[no-untyped-def]
    c = cluster(endpoints=endpoints, policies=policies, namespaces=(namespace("prod"), namespace("dev")))
    return Engine(c), c


def test_backends_are_selected_pods_of_the_service_namespace_only() -> None:
    _, c = make()
    assert [e.key for e in service_backends(c, svc(80))] == ["prod/api-1", "prod/api-2", "prod/api-3"]
    assert [e.key for e in service_backends(c, svc(80, {"app": "api", "v": "2"}))] == ["prod/api-2"]


def test_service_without_selector_and_without_endpoints_is_unknown_never_no() -> None:
    e, c = make()
    s = Service(namespace="prod", name="manual", selector=None, ports=(ServicePort(name=None, port=80),))
    assert service_backends(c, s) == []
    v = evaluate_service(e, c, CLIENT, s, 80, TCP)
    assert (v.answer, v.allowed, v.backends) == ("unknown", False, ())
    assert v.reason() == ("prod/service/manual has no selector: its backends are in Endpoints or EndpointSlices, "
                          "and the input holds neither for it")


def _manual(*addresses: EndpointAddress) -> Service:
    return Service(namespace="prod", name="manual", selector=None, addresses=addresses,
                   ports=(ServicePort(name="web", port=80), ServicePort(name="dns", port=53, protocol=UDP)))


WEB = (EndpointPort(name="web", port=8080), EndpointPort(name="dns", port=5353, protocol=UDP))


def test_service_without_selector_goes_to_its_endpoint_addresses() -> None:
    b2 = pod("prod", "api-2", {"app": "api", "v": "2"}, ports=(("http", 8081, TCP),), ips=("10.0.0.2",))
    deny_external = policy("prod", "egress", labels_sel(app="client"),
                           egress=(rule((peer(ip_block=block("10.0.0.0/8")),)),))
    b1 = pod("prod", "api-1", {"app": "api", "v": "1"}, ports=(("http", 8080, TCP),), ips=("10.9.9.9",))
    e, c = make(deny_external, endpoints=(b1, b2, CLIENT))
    s = _manual(
        EndpointAddress(ip="10.9.9.9", target="prod/api-1", ports=WEB),  # by targetRef
        EndpointAddress(ip="10.0.0.2", ports=WEB),  # by IP
        EndpointAddress(ip="203.0.113.5", ports=WEB),  # outside the cluster
    )
    assert [x.key for x in service_backends(c, s)] == ["prod/api-1", "prod/api-2"]
    v = evaluate_service(e, c, CLIENT, s, 80, TCP)
    assert [(b.endpoint, b.port) for b in v.backends] == [("prod/api-1", 8080), ("prod/api-2", 8080),
                                                          ("203.0.113.5", 8080)]
    assert v.reachable == ("prod/api-1", "prod/api-2") and v.answer == "no"
    udp = evaluate_service(e, c, CLIENT, s, 53, UDP)
    assert {b.port for b in udp.backends} == {5353}


def _external() -> Service:
    return Service(namespace="prod", name="ext", selector=MappingProxyType({"app": "api"}), type="ExternalName",
                   external_name="db.example.com", ports=(ServicePort(name="pg", port=5432),))


@pytest.mark.parametrize(
    ("egress", "answer"),
    [
        (None, "yes"),  # not isolated for egress
        ((), "no"),  # default deny
        ((rule(ports=(port(5432),)),), "yes"),  # every destination on 5432
        ((rule(ports=(port(443),)),), "no"),  # another port only
        ((rule((peer(labels_sel(app="api")),)),), "no"),  # a pod selector never matches an outside address
        ((rule((peer(ip_block=block("10.0.0.0/8")),)),), "unknown"),  # depends on what the name resolves to
        ((rule((peer(ip_block=block("0.0.0.0/0")), peer(ip_block=block("::/0")))),), "yes"),
    ],
)
def test_external_name_only_the_clients_egress_decides(egress: tuple | None, answer: str) -> None:  # type: ignore[type-arg]
    pols = () if egress is None else (
        policy("prod", "eg", labels_sel(app="client"), egress=egress, types=(Direction.EGRESS,)),
    )
    e, c = make(*pols)
    s = _external()
    assert service_backends(c, s) == []  # its selector is ignored
    v = evaluate_service(e, c, CLIENT, s, 5432, TCP)
    assert v.answer == answer and v.backends == () and v.allowed is (answer == "yes")
    assert v.reason().startswith("prod/service/ext is an ExternalName Service (db.example.com, outside the cluster): "
                                 "only the egress of prod/client decides; ")


def test_named_target_port_resolves_per_backend() -> None:
    e, c = make()
    v = evaluate_service(e, c, CLIENT, svc("http"), 80, TCP)
    got = {b.endpoint: b.port for b in v.backends}
    assert got == {"prod/api-1": 8080, "prod/api-2": 8081, "prod/api-3": None}
    assert not v.allowed  # api-3 has no port named http
    assert v.reachable == ("prod/api-1", "prod/api-2")
    assert "prod/api-3: has no matching target port" in v.reason()


def test_numeric_and_missing_target_port() -> None:
    e, c = make()
    assert {b.port for b in evaluate_service(e, c, CLIENT, svc(9000), 80, TCP).backends} == {9000}
    assert {b.port for b in evaluate_service(e, c, CLIENT, svc(None), 80, TCP).backends} == {80}
    assert {b.port for b in evaluate_service(e, c, CLIENT, svc("9000"), 80, TCP).backends} == {9000}


def test_policy_applies_to_the_translated_pod_port() -> None:
    # Only 8080 is allowed into the api pods: api-1 (http=8080) is reachable through the
    # Service, api-2 (http=8081) is not.
    allow_8080 = policy("prod", "api", labels_sel(app="api"), ingress=(rule(ports=(port(8080),)),))
    e, c = make(allow_8080, endpoints=(B1, B2, CLIENT))
    v = evaluate_service(e, c, CLIENT, svc("http"), 80, TCP)
    assert v.reachable == ("prod/api-1",)
    assert not v.allowed
    assert v.reason().startswith("1 of 2 backing pods reachable")
    # and the Service port number itself (80) is not what the policy sees
    allow_80 = policy("prod", "api80", labels_sel(app="api"), ingress=(rule(ports=(port(80),)),))
    e, c = make(allow_80, endpoints=(B1, B2, CLIENT))
    assert evaluate_service(e, c, CLIENT, svc("http"), 80, TCP).reachable == ()


def test_allowed_when_every_backend_is_reachable() -> None:
    from_client = policy(
        "prod", "api", labels_sel(app="api"), ingress=(rule(peers=(peer(labels_sel(app="client")),)),)
    )
    e, c = make(from_client, endpoints=(B1, B2, CLIENT))
    v = evaluate_service(e, c, CLIENT, svc("http"), 80, TCP)
    assert v.allowed
    assert "every backing pod is reachable" in v.reason()
    assert not evaluate_service(e, c, addr("198.51.100.1"), svc("http"), 80, TCP).allowed


def test_find_service_port_by_number_name_and_protocol() -> None:
    s = svc("http")
    assert find_service_port(s, 80, TCP).name == "web"
    assert find_service_port(s, "web", TCP).port == 80
    assert find_service_port(s, "80", TCP).port == 80
    assert find_service_port(s, 53, UDP).name == "dns"
    with pytest.raises(QueryError, match="has no TCP port 53"):
        find_service_port(s, 53, TCP)
    with pytest.raises(QueryError, match="has no UDP port 80"):
        find_service_port(s, 80, UDP)


def test_resolve_port_for_queries() -> None:
    assert resolve_port(443, TCP, B1) == 443
    assert resolve_port("443", TCP, B1) == 443
    assert resolve_port("http", TCP, B1) == 8080
    assert resolve_port("http", TCP, B2) == 8081
    for bad in (0, 65536, -1):
        with pytest.raises(QueryError, match="out of range"):
            resolve_port(bad, TCP, B1)
    with pytest.raises(QueryError, match="no UDP container port named 'http'"):
        resolve_port("http", UDP, B1)
    with pytest.raises(QueryError):
        resolve_port("http", TCP, addr("1.2.3.4"))


def test_empty_label_selector_is_not_a_service_selector() -> None:
    # An empty (or absent) Service selector selects nothing: such Services get their
    # endpoints by hand. (An empty NetworkPolicy podSelector, by contrast, selects all.)
    _, c = make()
    assert service_backends(c, svc(80, {})) == []
    assert LabelSelector().is_empty


def test_an_external_name_service_needs_no_ports() -> None:
    e, c = make()
    s = Service(namespace="prod", name="ext", type="ExternalName", external_name="db.example.com")
    v = evaluate_service(e, c, CLIENT, s, 5432, TCP)
    assert (v.answer, v.service_port) == ("yes", 5432)
