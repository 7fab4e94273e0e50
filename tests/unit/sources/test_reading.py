"""What kubectl reads: scalars as go-yaml v2 and the API server's decoder read them, messages that
show what was written."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.sources.source_helpers import decode, errors, netpol


def _pod(extra_meta: str = "", ports: str = "") -> str:
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: prod\n" + extra_meta
    if ports:
        text += "spec:\n  containers:\n  - name: c\n    ports:\n" + ports
    return text


def test_a_name_read_as_an_octal_number_is_quoted_as_written() -> None:
    r = decode("apiVersion: v1\nkind: Pod\nmetadata:\n  name: 0123\n")
    assert errors(r) == ['metadata.name: Invalid type: expected a string, got an integer (quote it: "0123")']


def test_yaml_1_1_booleans_are_booleans_in_labels_as_in_kubectl() -> None:
    r = decode(_pod("  labels:\n    canary: y\n    tier: On\n"))
    assert errors(r) == [
        'metadata.labels.canary: Invalid type: expected a string, got a boolean (quote it: "y")',
        'metadata.labels.tier: Invalid type: expected a string, got a boolean (quote it: "On")',
    ]


def test_a_pod_template_hash_go_reads_as_a_float_must_be_quoted() -> None:
    r = decode(_pod("  labels:\n    pod-template-hash: 2372039e9\n"))
    assert errors(r) == [
        'metadata.labels.pod-template-hash: Invalid type: expected a string, got a number (quote it: "2372039e9")'
    ]
    quoted = decode(_pod('  labels:\n    pod-template-hash: "2372039e9"\n'))
    assert quoted.errors == []
    assert dict(quoted.cluster.endpoints[0].labels) == {"pod-template-hash": "2372039e9"}


def test_ports_in_every_form_go_accepts() -> None:
    ports = "".join(f"    - containerPort: {p}\n      name: p{i}\n" for i, p in enumerate(
        ["0080", "0o120", "0x50", "0b1010000", "+80", "80.0", "8e1", "1_0_0"]))
    r = decode(_pod(ports=ports))
    assert r.errors == []
    assert [p.port for p in r.cluster.endpoints[0].ports] == [80, 80, 80, 80, 80, 80, 80, 100]


def test_a_fractional_or_out_of_range_port_is_a_type_error() -> None:
    r = decode(_pod(ports="    - containerPort: 80.5\n    - containerPort: 5e10\n"))
    assert errors(r) == [
        "spec.containers[0].ports[0].containerPort: Invalid type: expected an integer (int32), got 80.5",
        "spec.containers[0].ports[1].containerPort: Invalid type: expected an integer (int32), got 5e10",
    ]


def test_int_or_string_policy_port_accepts_integral_numbers() -> None:
    r = decode(netpol("podSelector: {}\ningress:\n- ports:\n  - port: 1e3\n  - port: 80.0\n  - port: 0x50\n"))
    assert r.errors == []
    assert [p.port for p in r.cluster.policies[0].ingress[0].ports] == [1000, 80, 80]


def test_infinity_cannot_become_json() -> None:
    r = decode(_pod(ports="    - containerPort: .inf\n"))
    (e,) = r.errors
    assert e.code == "yaml" and e.line == 10 and "json: unsupported value: +Inf" in e.message


def test_yes_as_a_key_becomes_the_string_true_as_in_sigs_k8s_io_yaml() -> None:
    r = decode(_pod("  labels:\n    yes: x\n    80: y1\n"))
    assert r.errors == []
    assert dict(r.cluster.endpoints[0].labels) == {"true": "x", "80": "y1"}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
       | st.sampled_from(["y", "N", "on", "0123", "0080", "1e3", "2372039e9", ".inf", "~", "", "<<", "0x1F", "1_0"]))
def test_what_the_kubectl_safe_dumper_writes_reads_back_as_the_same_string(value: str) -> None:
    from podwall.sources import goyaml
    from podwall.sources.manifests import SourceText, parse_source

    text = goyaml.dump_all([{"apiVersion": "v1", "kind": "ConfigMap", "data": {"v": value}}])
    docs, diags = parse_source(SourceText("r.yaml", text))
    assert [d for d in diags if d.severity.value == "error"] == []
    assert docs[0].data["data"]["v"] == value
