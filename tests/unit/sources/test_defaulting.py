"""API-server defaulting (``pkg/apis/networking/v1/defaults.go``).

* ``ports[].protocol`` <- ``TCP`` when absent (or null);
* ``policyTypes`` empty or absent <- ``[Ingress]``, plus ``Egress`` iff ``spec.egress`` is non-empty;
* a missing ``metadata.namespace`` <- the namespace kubectl would use (``default``, or the one given).
"""

from __future__ import annotations

import pytest
from tests.unit.sources.source_helpers import decode, errors, netpol

import podwall
from podwall.core.model import Direction, Protocol

ING, EGR = Direction.INGRESS, Direction.EGRESS


def only_policy(doc: str, **kw: str):  # type: ignore[no-untyped-def]
    result = decode(doc, **kw)
    assert result.errors == [], errors(result)
    (pol,) = result.cluster.policies
    return pol


@pytest.mark.parametrize(
    ("entry", "protocol"),
    [
        ("port: 80", Protocol.TCP),
        ("{port: 80, protocol: null}", Protocol.TCP),
        ("{port: 53, protocol: UDP}", Protocol.UDP),
        ("{protocol: SCTP}", Protocol.SCTP),
        ("{}", Protocol.TCP),
    ],
)
def test_protocol_defaults_to_tcp(entry: str, protocol: Protocol) -> None:
    pol = only_policy(netpol(f"podSelector: {{}}\ningress:\n- ports:\n  - {entry}\n"))
    assert pol.ingress[0].ports[0].protocol is protocol


def test_null_ports_entry_is_every_tcp_port() -> None:
    pol = only_policy(netpol("podSelector: {}\ningress:\n- ports:\n  -\n"))
    (spec,) = pol.ingress[0].ports
    assert spec.protocol is Protocol.TCP and spec.port is None


@pytest.mark.parametrize(
    ("spec", "types", "explicit"),
    [
        # absent: Ingress, plus Egress iff egress is non-empty
        ("podSelector: {}", {ING}, False),
        ("podSelector: {}\ningress: [{}]", {ING}, False),
        ("podSelector: {}\negress: [{}]", {ING, EGR}, False),
        ("podSelector: {}\negress: []", {ING}, False),  # an empty egress list adds nothing
        ("podSelector: {}\negress:\n-", {ING, EGR}, False),  # one (null) rule: non-empty
        # explicit empty list is defaulted the same way (len == 0)
        ("podSelector: {}\npolicyTypes: []", {ING}, False),
        ("podSelector: {}\npolicyTypes: []\negress: [{}]", {ING, EGR}, False),
        # explicit lists are kept as they are
        ("podSelector: {}\npolicyTypes: [Egress]", {EGR}, True),
        ("podSelector: {}\npolicyTypes: [Egress]\ningress: [{}]", {EGR}, True),
        ("podSelector: {}\npolicyTypes: [Ingress]\negress: [{}]", {ING}, True),
        ("podSelector: {}\npolicyTypes: [Ingress, Egress]", {ING, EGR}, True),
    ],
)
def test_policy_types_inference(spec: str, types: set[Direction], explicit: bool) -> None:
    pol = only_policy(netpol(spec))
    assert set(pol.policy_types) == types
    assert pol.policy_types_explicit is explicit


def test_egress_only_policy_without_policy_types_also_isolates_ingress() -> None:
    # The classic trap: an "allow DNS egress" policy without policyTypes is defaulted to
    # [Ingress, Egress], so it also denies all ingress to the pods it selects.
    docs = "---\n".join(
        [
            netpol(
                "podSelector: {matchLabels: {app: web}}\negress:\n- ports:\n  - {port: 53, protocol: UDP}\n",
                metadata="name: dns\nnamespace: prod",
            ),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: prod, labels: {app: web}}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: prod}\n",
        ]
    )
    result = decode(docs)
    (pol,) = result.cluster.policies
    assert set(pol.policy_types) == {ING, EGR}
    eng = podwall.Engine(result.cluster)
    web, client = sorted(result.cluster.endpoints, key=lambda e: e.name, reverse=True)
    assert web.name == "web"
    assert not eng.verdict(client, web, 80).allowed  # ingress isolated, no ingress rules
    assert eng.verdict(client, web, 80).ingress.policies == ("prod/dns",)


def test_missing_pod_selector_selects_every_pod() -> None:
    pol = only_policy(netpol("ingress: [{}]"))
    assert pol.pod_selector.is_empty


def test_namespace_defaults_to_default() -> None:
    pol = only_policy(netpol("podSelector: {}", metadata="name: p"))
    assert pol.namespace == "default" and not pol.namespace_explicit


def test_namespace_default_can_be_chosen() -> None:
    pol = only_policy(netpol("podSelector: {}", metadata="name: p"), namespace="team-a")
    assert pol.namespace == "team-a"
    # an explicit namespace wins over the default
    pol = only_policy(netpol("podSelector: {}", metadata="name: p\nnamespace: prod"), namespace="team-a")
    assert pol.namespace == "prod" and pol.namespace_explicit


def test_empty_namespace_string_is_defaulted_like_kubectl() -> None:
    # anchors §6.1 row 3 (metadata.namespace Required) cannot fire for files: kubectl fills the
    # namespace in before the API server sees the object, and so does podwall.
    pol = only_policy(netpol("podSelector: {}", metadata="name: p\nnamespace: ''"))
    assert pol.namespace == "default"


def test_default_namespace_applies_to_every_namespaced_kind_and_creates_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "m.yaml"
    f.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {metadata: {labels: {x: y}}}}\n"
        "---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {x: y}, ports: [{port: 80}]}\n---\n"
        + netpol("podSelector: {}", metadata="name: p")
    )
    c = podwall.load([str(f)], namespace="ns1")
    assert {e.namespace for e in c.cluster.endpoints} == {"ns1"}
    assert {p.namespace for p in c.cluster.policies} == {"ns1"}
    assert {s.namespace for s in c.cluster.services} == {"ns1"}
    ns = c.cluster.namespaces["ns1"]
    assert not ns.declared and dict(ns.labels) == {"kubernetes.io/metadata.name": "ns1"}
    v = c.can("ns1/a", "ns1/deployment/d", 80)
    assert not v.allowed and v.ingress.policies == ("ns1/p",)  # type: ignore[union-attr]
