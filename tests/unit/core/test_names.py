"""Endpoint names as kubectl shows them, resolved by core.names (pure)."""

from __future__ import annotations

import dataclasses

import pytest
from tests.unit.core.core_builders import cluster, namespace, pod

from podwall.core import names
from podwall.core.model import Address, Service
from podwall.errors import QueryError

WEB = dataclasses.replace(pod("prod", "web", {"app": "web"}), kind="Deployment",
                          folded=("ReplicaSet/web-7d4b9c8f6", "Pod/web-7d4b9c8f6-abcde"))
DB = dataclasses.replace(pod("prod", "db", {"app": "db"}), kind="StatefulSet")
MIRROR = pod("kube-system", "etcd-node1")
C = dataclasses.replace(
    cluster(endpoints=(WEB, DB, MIRROR), namespaces=(namespace("prod"), namespace("kube-system"))),
    services=(Service(namespace="prod", name="api"),),
)


def _r(name: str, allow_service: bool = False) -> names.Resolution:
    return names.resolve(C, name, default_namespace="prod", allow_service=allow_service)


def test_parse_splits_the_shapes() -> None:
    assert names.parse("web", default_namespace="prod") == names.ParsedName(text="web", namespace="prod", name="web")
    assert names.parse("prod/deploy/web", default_namespace="x").kind == "Deployment"
    assert names.parse("prod/svc/api", default_namespace="x").kind == "Service"
    assert names.parse(" 10.0.0.1 ", default_namespace="x").ip is not None
    with pytest.raises(QueryError, match="unknown kind 'widget'"):
        names.parse("prod/widget/x", default_namespace="x")
    with pytest.raises(QueryError, match="is not an endpoint"):
        names.parse("a/b/c/d", default_namespace="x")


def test_a_pod_folded_into_its_deployment_resolves_to_it_with_a_note() -> None:
    r = _r("prod/web-7d4b9c8f6-abcde")
    assert r.target is WEB and r.note == "pod prod/web-7d4b9c8f6-abcde is one of the pods of prod/deployment/web"
    assert _r("prod/rs/web-7d4b9c8f6").target is WEB


def test_a_pod_name_the_controller_would_generate_resolves_to_the_workload() -> None:
    r = _r("prod/web-5c98db65d4-x7k2p")
    assert r.target is WEB and r.note is not None and "is not in the input" in r.note
    assert _r("prod/db-0").target is DB
    with pytest.raises(QueryError):
        _r("prod/web-not-a-hash-with-dashes")


def test_mirror_pods_are_pods() -> None:
    r = _r("kube-system/etcd-node1")
    assert r.target is MIRROR and r.note is None and MIRROR.key == "kube-system/etcd-node1"


def test_services_only_as_destinations_and_ips_as_addresses() -> None:
    assert isinstance(_r("prod/api", allow_service=True).target, Service)
    with pytest.raises(QueryError, match="can only be a destination"):
        _r("prod/svc/api")
    assert isinstance(_r("192.0.2.7").target, Address)


def test_unknown_names_suggest_near_ones() -> None:
    with pytest.raises(QueryError, match=r"no endpoint .prod/wbe. in the input; did you mean prod/deployment/web, "):
        _r("prod/wbe")
    assert names.suggest(C, "prod/db")[0] == "prod/statefulset/db"
