"""Services as destinations: selector → backing pods, port → targetPort (number or name)."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from tests.unit.core.core_builders import addr, cluster, labels_sel, namespace, peer, pod, policy, port, rule

from podwall.core.evaluate import Engine
from podwall.core.model import Cluster, LabelSelector, Protocol, Service, ServicePort
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


def test_service_without_selector_has_no_backends() -> None:
    e, c = make()
    s = Service(namespace="prod", name="manual", selector=None, ports=(ServicePort(name=None, port=80),))
    assert service_backends(c, s) == []
    v = evaluate_service(e, c, CLIENT, s, 80, TCP)
    assert not v.allowed and v.backends == ()
    assert "no backing pods" in v.reason()


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
