"""Kinds and versions as a current API server serves them."""

from __future__ import annotations

import pytest
from tests.unit.sources.source_helpers import decode, errors, netpol

from podwall.sources import kinds


def _np(api: str, kind: str = "NetworkPolicy") -> str:
    return netpol("podSelector: {}").replace("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy",
                                             f"apiVersion: {api}\nkind: {kind}")


@pytest.mark.parametrize(
    ("api", "kind", "message"),
    [
        ("extensions/v1beta1", "NetworkPolicy",
         'no matches for kind "NetworkPolicy" in version "extensions/v1beta1": extensions/v1beta1 NetworkPolicy '
         "was removed in Kubernetes 1.16: use networking.k8s.io/v1"),
        ("networking.k8s.io/v1beta1", "NetworkPolicy",
         'no matches for kind "NetworkPolicy" in version "networking.k8s.io/v1beta1": networking.k8s.io/v1beta1 '
         "NetworkPolicy never existed: use networking.k8s.io/v1"),
        ("networking.k8s.io/v1", "networkpolicy",
         'no matches for kind "networkpolicy" in version "networking.k8s.io/v1": kinds are case-sensitive '
         "(did you mean NetworkPolicy?)"),
        ("apps/v1", "Pod", 'no matches for kind "Pod" in version "apps/v1": Pod is served as v1'),
        ("batch/v1beta1", "CronJob",
         'no matches for kind "CronJob" in version "batch/v1beta1": batch/v1beta1 CronJob was removed in '
         "Kubernetes 1.25: use batch/v1"),
    ],
)
def test_a_version_the_server_does_not_serve_is_an_error_with_a_hint(api: str, kind: str, message: str) -> None:
    r = decode(_np(api, kind))
    assert [(d.code, d.line, d.message) for d in r.errors] == [("kind", 1, message)]
    assert r.cluster.policies == ()


def test_a_known_kind_of_another_group_is_a_crd_and_skipped() -> None:
    r = decode(_np("projectcalico.org/v3"))
    assert r.diagnostics == [] and r.skipped == ["p.yaml:1: projectcalico.org/v3 NetworkPolicy"]


def test_unknown_kinds_are_skipped_and_listed() -> None:
    r = decode("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert r.diagnostics == [] and r.skipped == ["p.yaml:1: v1 ConfigMap"]


def test_typed_list_items_get_the_lists_kind_and_version() -> None:
    text = (
        "apiVersion: v1\nkind: PodList\nitems:\n"
        "- metadata: {name: a, namespace: prod}\n"
        "- metadata: {name: b, namespace: prod}\n"
        "---\napiVersion: v1\nkind: NamespaceList\nitems:\n- metadata: {name: prod, labels: {team: t}}\n"
    )
    r = decode(text)
    assert r.diagnostics == []
    assert [e.key for e in r.cluster.endpoints] == ["prod/a", "prod/b"]
    assert r.cluster.namespaces["prod"].labels["team"] == "t"


def test_generic_list_items_still_need_a_kind() -> None:
    r = decode("apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n")
    assert errors(r) == ["kind: Required value: every object needs a kind"]


def _deploy(selector: str, labels: str = "{app: web}") -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec:\n"
        + (f"  selector: {selector}\n" if selector else "")
        + f"  template:\n    metadata:\n      labels: {labels}\n"
    )


def test_an_apps_v1_workload_needs_a_selector_matching_its_template() -> None:
    assert decode(_deploy("{matchLabels: {app: web}}")).errors == []
    assert errors(decode(_deploy(""))) == ["spec.selector: Required value"]
    assert errors(decode(_deploy("{}"))) == [
        "spec.selector: Invalid value: {}: empty selector is invalid for deployment"
    ]
    assert errors(decode(_deploy("{matchLabels: {app: api}}"))) == [
        'spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`'
    ]
    expr = "{matchExpressions: [{key: app, operator: In, values: [web, api]}]}"
    assert decode(_deploy(expr)).errors == []


def test_the_kind_table_is_data_others_can_extend() -> None:
    assert kinds.SERVED["NetworkPolicy"] == "networking.k8s.io/v1"
    assert kinds.check("discovery.k8s.io/v1", "EndpointSlice").kind == "EndpointSlice"
    assert kinds.item_kind("PodList") == "Pod" and kinds.item_kind("List") is None
