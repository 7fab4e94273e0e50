"""NetworkPolicy validation: every rule of the API server's validation, with its exact text.

Field paths and messages come from ``kubernetes/kubernetes``
``pkg/apis/networking/validation/validation.go`` (``ValidateNetworkPolicySpec``,
``ValidateNetworkPolicyPort``, ``ValidateNetworkPolicyPeer``, ``ValidateIPBlock``),
``staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation`` (label selectors),
``staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go`` and
``.../api/validate/content/{kube,dns}.go`` (the value validators), and
``.../util/validation/field/errors.go`` (``<path>: <Type>: <value>: <detail>``; plain strings
with ``%q``, other values through ``json.Marshal``). The strings below are transcribed from
those sources, not produced by podwall.
"""

from __future__ import annotations

import pytest
from tests.unit.sources.source_helpers import decode, errors, netpol, warnings

from podwall.sources import validation as v

# -- upstream message texts ----------------------------------------------------------------
QNAME = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS_LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
RANGE = "must be between 1 and 65535, inclusive"
PROTOCOLS = 'supported values: "TCP", "UDP", "SCTP"'

ING0 = "spec.ingress[0]"
PORT0 = f"{ING0}.ports[0]"
FROM0 = f"{ING0}.from[0]"
EXPR0 = "spec.podSelector.matchExpressions[0]"


def ingress_port(body: str) -> str:
    return f"podSelector: {{}}\ningress:\n- ports:\n  - {body}\n"


def ingress_from(body: str) -> str:
    return f"podSelector: {{}}\ningress:\n- from:\n  - {body}\n"


def expression(body: str) -> str:
    return f"podSelector:\n  matchExpressions:\n  - {body}\n"


# (row, document, [expected "field: message", ...]) — the complete list of errors.
ROWS = [
    # 1 metadata.name missing
    ("1", netpol("podSelector: {}", metadata="namespace: prod"),
     ["metadata.name: Required value: name or generateName is required"]),
    # 2 metadata.name not a DNS-1123 subdomain, or too long
    ("2", netpol("podSelector: {}", metadata="name: Bad_Name\nnamespace: prod"),
     [f'metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN}']),
    ("2-length", netpol("podSelector: {}", metadata=f"name: {'a' * 254}\nnamespace: prod"),
     [f'metadata.name: Invalid value: "{"a" * 254}": must be no more than 253 characters']),
    # 3 metadata.namespace: ValidateNamespaceName is a DNS-1123 label (missing: see test_defaulting)
    ("3-invalid", netpol("podSelector: {}", metadata="name: p\nnamespace: Prod"),
     [f'metadata.namespace: Invalid value: "Prod": {DNS_LABEL}']),
    ("3-dots", netpol("podSelector: {}", metadata="name: p\nnamespace: a.b"),
     ['metadata.namespace: Invalid value: "a.b": must not contain dots']),
    # 4 spec.podSelector goes through ValidateLabelSelector (rows 20-26)
    ("4", netpol("podSelector:\n  matchLabels:\n    'bad key!': x"),
     [f'spec.podSelector.matchLabels: Invalid value: "bad key!": {QNAME}']),
    # 5 protocol (case-sensitive; a named Go type, so rendered through json.Marshal)
    ("5", netpol(ingress_port("protocol: ICMP")), [f'{PORT0}.protocol: Unsupported value: "ICMP": {PROTOCOLS}']),
    ("5-case", netpol(ingress_port("protocol: tcp")), [f'{PORT0}.protocol: Unsupported value: "tcp": {PROTOCOLS}']),
    ("5-empty", netpol(ingress_port("protocol: ''")), [f'{PORT0}.protocol: Unsupported value: "": {PROTOCOLS}']),
    ("5-html", netpol(ingress_port("protocol: '<TCP>'")),
     [f'{PORT0}.protocol: Unsupported value: "\\u003cTCP\\u003e": {PROTOCOLS}']),
    # 6 numeric port range
    ("6-zero", netpol(ingress_port("port: 0")), [f"{PORT0}.port: Invalid value: 0: {RANGE}"]),
    ("6-high", netpol(ingress_port("port: 65536")), [f"{PORT0}.port: Invalid value: 65536: {RANGE}"]),
    ("6-negative", netpol(ingress_port("port: -1")), [f"{PORT0}.port: Invalid value: -1: {RANGE}"]),
    # 7 endPort < port: the value shown is endPort's (validation.go: field.Invalid(..., *port.EndPort, ...))
    ("7", netpol(ingress_port("{port: 90, endPort: 80}")),
     [f"{PORT0}.endPort: Invalid value: 80: must be greater than or equal to `port`"]),
    # 8 endPort range
    ("8", netpol(ingress_port("{port: 80, endPort: 70000}")), [f"{PORT0}.endPort: Invalid value: 70000: {RANGE}"]),
    ("8-zero-both", netpol(ingress_port("{port: 80, endPort: 0}")),
     [f"{PORT0}.endPort: Invalid value: 0: must be greater than or equal to `port`",
      f"{PORT0}.endPort: Invalid value: 0: {RANGE}"]),
    # 9 endPort with a named port
    ("9", netpol(ingress_port("{port: http, endPort: 90}")),
     [f"{PORT0}.endPort: Invalid value: 90: may not be specified when `port` is non-numeric"]),
    # 10 endPort without port
    ("10", netpol(ingress_port("{protocol: UDP, endPort: 90}")),
     [f"{PORT0}.endPort: Invalid value: 90: may not be specified when `port` is not specified"]),
    # 11-15 port names (IsValidPortName)
    ("11", netpol(ingress_port("port: abcdefghijklmnop")),
     [f'{PORT0}.port: Invalid value: "abcdefghijklmnop": must be no more than 15 characters']),
    ("12", netpol(ingress_port("port: Http")),
     [f'{PORT0}.port: Invalid value: "Http": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)']),
    ("12-upper-only", netpol(ingress_port("port: HTTP")),
     [f'{PORT0}.port: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      f'{PORT0}.port: Invalid value: "HTTP": must contain at least one letter (a-z)']),
    ("13", netpol(ingress_port("port: '8080'")),
     [f'{PORT0}.port: Invalid value: "8080": must contain at least one letter (a-z)']),
    ("14", netpol(ingress_port("port: a--b")), [f'{PORT0}.port: Invalid value: "a--b": must not contain consecutive '
        f'hyphens']),
    ("15-start", netpol(ingress_port("port: -ab")), [f'{PORT0}.port: Invalid value: "-ab": must not begin or end with '
        f'a hyphen']),
    ("15-end", netpol(ingress_port("port: ab-")), [f'{PORT0}.port: Invalid value: "ab-": must not begin or end with a '
        f'hyphen']),
    ("15-empty", netpol(ingress_port("port: ''")),
     [f'{PORT0}.port: Invalid value: "": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      f'{PORT0}.port: Invalid value: "": must contain at least one letter (a-z)']),
    # 16 a peer with nothing in it
    ("16", netpol(ingress_from("{}")), [f"{FROM0}: Required value: must specify a peer"]),
    ("16-egress", netpol("podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - {}\n"),
     ["spec.egress[0].to[0]: Required value: must specify a peer"]),
    # 17 ipBlock with a selector
    ("17", netpol(ingress_from("{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}")),
     [f"{FROM0}: Forbidden: may not specify both ipBlock and another peer"]),
    ("17-ns", netpol(ingress_from("{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}")),
     [f"{FROM0}: Forbidden: may not specify both ipBlock and another peer"]),
    # 18 empty cidr
    ("18", netpol(ingress_from("ipBlock: {cidr: ''}")), [f"{FROM0}.ipBlock.cidr: Required value"]),
    ("18-missing", netpol(ingress_from("ipBlock: {except: [10.0.0.0/8]}")), [f"{FROM0}.ipBlock.cidr: Required value"]),
    # 19 unparsable CIDRs
    ("19-no-prefix", netpol(ingress_from("ipBlock: {cidr: 10.0.0.0}")),
     [f'{FROM0}.ipBlock.cidr: Invalid value: "10.0.0.0": {CIDR}']),
    ("19-prefix", netpol(ingress_from("ipBlock: {cidr: 10.0.0.0/33}")),
     [f'{FROM0}.ipBlock.cidr: Invalid value: "10.0.0.0/33": {CIDR}']),
    ("19-octet", netpol(ingress_from("ipBlock: {cidr: 10.0.0.256/32}")),
     [f'{FROM0}.ipBlock.cidr: Invalid value: "10.0.0.256/32": {CIDR}']),
    ("19-v6-prefix", netpol(ingress_from("ipBlock: {cidr: '2001:db8::/129'}")),
     [f'{FROM0}.ipBlock.cidr: Invalid value: "2001:db8::/129": {CIDR}']),
    ("19-zone", netpol(ingress_from("ipBlock: {cidr: 'fe80::%eth0/64'}")),
     [f'{FROM0}.ipBlock.cidr: Invalid value: "fe80::%eth0/64": {CIDR}']),
    ("19-space", netpol(ingress_from("ipBlock: {cidr: ' 10.0.0.0/8'}")),
     [f'{FROM0}.ipBlock.cidr: Invalid value: " 10.0.0.0/8": {CIDR}']),
    ("19-newline", netpol(ingress_from('ipBlock: {cidr: "10.0.0.0/8\\n"}')),
     [f'{FROM0}.ipBlock.cidr: Invalid value: "10.0.0.0/8\\n": {CIDR}']),
    ("19-except", netpol(ingress_from("ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, nonsense]}")),
     [f'{FROM0}.ipBlock.except[1]: Invalid value: "nonsense": {CIDR}']),
    # 19b except must be a strict subset of cidr
    ("19b-outside", netpol(ingress_from("ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}")),
     [f'{FROM0}.ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`']),
    ("19b-equal", netpol(ingress_from("ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}")),
     [f'{FROM0}.ipBlock.except[0]: Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`']),
    ("19b-wider", netpol(ingress_from("ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/8]}")),
     [f'{FROM0}.ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`']),
    ("19b-family", netpol(ingress_from("ipBlock: {cidr: 0.0.0.0/0, except: ['2001:db8::/64']}")),
     [f'{FROM0}.ipBlock.except[0]: Invalid value: "2001:db8::/64": must be a strict subset of `cidr`']),
    ("19b-v6", netpol(ingress_from("ipBlock: {cidr: '2001:db8::/64', except: ['2001:db9::/80']}")),
     [f'{FROM0}.ipBlock.except[0]: Invalid value: "2001:db9::/80": must be a strict subset of `cidr`']),
    # 20 label keys, in every selector position
    ("20-peer-pod", netpol(ingress_from("podSelector: {matchLabels: {'bad key!': x}}")),
     [f'{FROM0}.podSelector.matchLabels: Invalid value: "bad key!": {QNAME}']),
    ("20-peer-ns", netpol("podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - namespaceSelector: "
        "{matchLabels: {'-x': y}}\n"),
     [f'spec.egress[0].to[0].namespaceSelector.matchLabels: Invalid value: "-x": {QNAME}']),
    ("20-long", netpol(f"podSelector: {{matchLabels: {{{'k' * 64}: x}}}}"),
     [f'spec.podSelector.matchLabels: Invalid value: "{"k" * 64}": name part must be no more than 63 characters']),
    ("20-prefix", netpol("podSelector: {matchLabels: {'Example.com/app': x}}"),
     [f'spec.podSelector.matchLabels: Invalid value: "Example.com/app": prefix part {SUBDOMAIN}']),
    ("20-empty-prefix", netpol("podSelector: {matchLabels: {'/app': x}}"),
     ['spec.podSelector.matchLabels: Invalid value: "/app": prefix part must be non-empty']),
    ("20-empty-name", netpol("podSelector: {matchLabels: {'example.com/': x}}"),
     ['spec.podSelector.matchLabels: Invalid value: "example.com/": name part must be non-empty',
      f'spec.podSelector.matchLabels: Invalid value: "example.com/": {QNAME}']),
    # 21 label values
    ("21", netpol("podSelector: {matchLabels: {app: 'bad value!'}}"),
     [f'spec.podSelector.matchLabels: Invalid value: "bad value!": {LABEL_VALUE}']),
    ("21-long", netpol(f"podSelector: {{matchLabels: {{app: {'v' * 64}}}}}"),
     [f'spec.podSelector.matchLabels: Invalid value: "{"v" * 64}": must be no more than 63 characters']),
    ("21-newline", netpol('podSelector: {matchLabels: {app: "web\\n"}}'),
     [f'spec.podSelector.matchLabels: Invalid value: "web\\n": {LABEL_VALUE}']),
    ("21-invisible", netpol('podSelector: {matchLabels: {app: "web\\u200b"}}'),
     [f'spec.podSelector.matchLabels: Invalid value: "web\\u200b": {LABEL_VALUE}']),
    # 22 In/NotIn need values
    ("22", netpol(expression("{key: app, operator: In}")),
     [f"{EXPR0}.values: Required value: must be specified when `operator` is 'In' or 'NotIn'"]),
    ("22-notin", netpol(expression("{key: app, operator: NotIn, values: []}")),
     [f"{EXPR0}.values: Required value: must be specified when `operator` is 'In' or 'NotIn'"]),
    # 23 Exists/DoesNotExist take none
    ("23", netpol(expression("{key: app, operator: Exists, values: [x]}")),
     [f"{EXPR0}.values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"]),
    ("23-dne", netpol(expression("{key: app, operator: DoesNotExist, values: [x]}")),
     [f"{EXPR0}.values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"]),
    # 24 other operators
    ("24", netpol(expression("{key: app, operator: in, values: [x]}")),
     [f'{EXPR0}.operator: Invalid value: "in": not a valid selector operator']),
    ("24-gt", netpol(expression("{key: app, operator: Gt, values: ['1']}")),
     [f'{EXPR0}.operator: Invalid value: "Gt": not a valid selector operator']),
    # 25 expression keys
    ("25", netpol(expression("{key: 'bad key!', operator: Exists}")),
     [f'{EXPR0}.key: Invalid value: "bad key!": {QNAME}']),
    ("25-missing", netpol(expression("{operator: Exists}")),
     [f'{EXPR0}.key: Invalid value: "": name part must be non-empty', f'{EXPR0}.key: Invalid value: "": {QNAME}']),
    # 26 expression values, indexed
    ("26", netpol(expression("{key: app, operator: In, values: [ok, 'bad value!']}")),
     [f'{EXPR0}.values[1]: Invalid value: "bad value!": {LABEL_VALUE}']),
    # 27 more than two policyTypes (validation of policyTypes stops there)
    ("27", netpol("podSelector: {}\npolicyTypes: [Ingress, Egress, Bogus]"),
     ['spec.policyTypes: Invalid value: ["Ingress","Egress","Bogus"]: may not specify more than two policyTypes']),
    # 28 unknown policy type
    ("28", netpol("podSelector: {}\npolicyTypes: [ingress]"),
     ['spec.policyTypes[0]: Unsupported value: "ingress": supported values: "Ingress", "Egress"']),
    ("28-second", netpol("podSelector: {}\npolicyTypes: [Ingress, '']"),
     ['spec.policyTypes[1]: Unsupported value: "": supported values: "Ingress", "Egress"']),
    # null in a list of strings decodes to "" in Go, and "" is validated like any other value
    ("28-null", netpol("podSelector: {}\npolicyTypes: [Egress, null]"),
     ['spec.policyTypes[1]: Unsupported value: "": supported values: "Ingress", "Egress"']),
    ("19-null-except", netpol(ingress_from("ipBlock: {cidr: 10.0.0.0/8, except: [null]}")),
     [f'{FROM0}.ipBlock.except[0]: Invalid value: "": {CIDR}']),
    # ValidateObjectMeta also checks the policy's own labels (path without the key)
    ("meta-labels", netpol("podSelector: {}", metadata="name: p\nnamespace: prod\nlabels: {app: 'x y'}"),
     [f'metadata.labels: Invalid value: "x y": {LABEL_VALUE}']),
]


@pytest.mark.parametrize(("row", "doc", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_validation_rows(row: str, doc: str, expected: list[str]) -> None:
    result = decode(doc)
    assert errors(result) == expected
    assert {d.code for d in result.errors} == {"invalid"}
    assert result.cluster.policies == ()  # the API server would not store it


def test_several_errors_are_all_reported_in_api_server_order() -> None:
    doc = netpol(
        """
        podSelector: {matchLabels: {'bad key!': x}}
        ingress:
        - ports:
          - {protocol: ICMP, port: 0}
          from:
          - {}
        policyTypes: [Ingress, Sideways]
        """
    )
    assert errors(decode(doc)) == [
        f'spec.podSelector.matchLabels: Invalid value: "bad key!": {QNAME}',
        f'{PORT0}.protocol: Unsupported value: "ICMP": {PROTOCOLS}',
        f"{PORT0}.port: Invalid value: 0: {RANGE}",
        f"{FROM0}: Required value: must specify a peer",
        'spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
    ]


def test_unknown_fields_are_refused_like_kubectl_strict_validation() -> None:
    doc = netpol("podSelector: {}\ningress:\n- form:\n  - podSelector: {}\n")
    result = decode(doc)
    assert [(d.code, d.field, d.message) for d in result.errors] == [
        ("unknown-field", "spec.ingress[0].form", 'unknown field "spec.ingress[0].form" (the API server rejects it)')
    ]


def test_rendered_line_of_a_validation_error() -> None:
    doc = netpol(ingress_port("port: 0"))
    (d,) = decode(doc).errors
    assert d.render() == f"p.yaml:10: {PORT0}.port: Invalid value: 0: {RANGE}"
    assert doc.splitlines()[9].strip() == "- port: 0"


# -- what the API server accepts, podwall accepts ---------------------------------------------------


def ipblock_of(doc: str):  # type: ignore[no-untyped-def]
    result = decode(doc)
    assert result.errors == [], errors(result)
    (pol,) = result.cluster.policies
    return pol.ingress[0].peers[0].ip_block, result


@pytest.mark.parametrize(
    ("cidr", "network", "canonical"),
    [
        ("10.0.0.0/24", "10.0.0.0/24", True),
        ("10.0.0.5/24", "10.0.0.0/24", False),  # host bits: masked, warning only
        ("010.000.000.000/8", "10.0.0.0/8", False),  # leading zeros are decimal, not octal
        ("0010.0.0.0/8", "10.0.0.0/8", False),  # the forked dtoi takes any number of digits
        ("10.0.0.0/08", "10.0.0.0/8", False),
        ("10.0.0.0/0008", "10.0.0.0/8", False),
        ("0.0.0.0/0", "0.0.0.0/0", True),
        ("2001:db8::/32", "2001:db8::/32", True),
        ("2001:db8::1/32", "2001:db8::/32", False),
        ("::ffff:10.0.0.0/104", "::ffff:a00:0/104", True),  # IPv4-mapped IPv6: accepted
        ("::ffff:010.0.0.0/104", "::ffff:a00:0/104", False),
    ],
)
def test_sloppy_cidrs_accepted(cidr: str, network: str, canonical: bool) -> None:
    blk, result = ipblock_of(netpol(ingress_from(f"ipBlock: {{cidr: '{cidr}'}}")))
    assert str(blk.network) == network
    assert blk.cidr == cidr
    found = [d for d in warnings(result) if d.code == "noncanonical-cidr"]
    assert bool(found) is (not canonical)
    if found:
        assert found[0].field == f"{FROM0}.ipBlock.cidr"
        assert network in found[0].message


def test_except_with_host_bits_and_leading_zeros_accepted() -> None:
    blk, _ = ipblock_of(netpol(ingress_from("ipBlock: {cidr: 10.0.0.0/8, except: [10.1.2.3/16, 010.2.0.0/16]}")))
    assert [str(n) for n in blk.except_networks] == ["10.1.0.0/16", "10.2.0.0/16"]


def test_ipv4_mapped_except_inside_an_ipv4_cidr_is_accepted() -> None:
    # Go's IPNet.Contains reads ::ffff:a.b.c.d as IPv4 and the mask lengths compare 8 < 112.
    ipblock_of(netpol(ingress_from("ipBlock: {cidr: 10.0.0.0/8, except: ['::ffff:10.1.0.0/112']}")))


def test_duplicate_policy_types_accepted() -> None:
    result = decode(netpol("podSelector: {}\npolicyTypes: [Ingress, Ingress]"))
    assert result.errors == []
    (pol,) = result.cluster.policies
    assert {t.value for t in pol.policy_types} == {"Ingress"}


def test_null_expression_value_is_the_empty_label_value() -> None:
    result = decode(netpol("podSelector: {matchExpressions: [{key: a, operator: In, values: [null]}]}"))
    assert result.errors == []
    (pol,) = result.cluster.policies
    assert pol.pod_selector.match_expressions[0].values == ("",)


def test_upper_and_mixed_case_label_keys_and_values_are_fine() -> None:
    doc = netpol("podSelector: {matchLabels: {App.Kubernetes.io_Name: My-Value_1, 'example.com/x': ''}}")
    assert decode(doc).errors == []


def test_sixty_three_character_limits_are_inclusive() -> None:
    doc = netpol(
        f"podSelector: {{matchLabels: {{{'k' * 63}: {'v' * 63}}}}}\ningress:\n- ports:\n  - port: {'p' * 15}\n"
    )
    assert decode(doc).errors == []


def test_lengths_count_bytes_like_go() -> None:
    # 32 two-byte characters: 64 bytes, so Go reports the length as well as the character set.
    value = "é" * 32
    doc = netpol(f"podSelector: {{matchLabels: {{app: {value}}}}}")
    assert errors(decode(doc)) == [
        f'spec.podSelector.matchLabels: Invalid value: "{value}": must be no more than 63 characters',
        f'spec.podSelector.matchLabels: Invalid value: "{value}": {LABEL_VALUE}',
    ]


# -- the value validators directly ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", []),
        ("my-name", []),
        ("123-abc", []),
        ("a.b", ["must not contain dots"]),
        ("A", [DNS_LABEL]),
        ("-a", [DNS_LABEL]),
        ("a_b", [DNS_LABEL]),
        ("a" * 63, []),
        ("a" * 64, ["must be no more than 63 characters"]),
        ("a\n", [DNS_LABEL]),
    ],
)
def test_is_dns1123_label(value: str, expected: list[str]) -> None:
    assert v.is_dns1123_label(value) == expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        # from apimachinery validation_test.go TestIsQualifiedName
        ("simple", True), ("now-with-dashes", True), ("1-starts-with-num", True), ("1234", True),
        ("simple/simple", True), ("now-with-dashes/simple", True), ("now-with-dashes/now-with-dashes", True),
        ("now.with.dots/simple", True), ("now-with.dashes-and.dots/simple", True),
        ("1-num.2-num/3-num", True), ("1234/5678", True), ("1.2.3.4/5678", True),
        ("Uppercase_Is_OK_123", True), ("example.com/Uppercase_Is_OK_123", True),
        ("requests.storage-foo", True), ("a" * 63, True), ("a" * 253 + "/" + "b" * 63, True),
        ("nospecialchars%^=@", False), ("cantendwithadash-", False), ("-cantstartwithadash-", False),
        ("only/one/slash", False), ("Example.com/abc", False), ("example_com/abc", False),
        ("example.com/", False), ("/simple", False), ("a" * 64, False), ("a" * 254 + "/abc", False),
    ],
)
def test_is_qualified_name(value: str, ok: bool) -> None:
    assert (v.is_qualified_name(value) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        # from apimachinery validation_test.go TestIsValidLabelValue
        ("simple", True), ("now-with-dashes", True), ("1-starts-with-num", True), ("end-with-num-1", True),
        ("1234", True), ("a" * 63, True), ("", True),
        ("nospecialchars%^=@", False), ("Tama-nui-te-rā.is.Māori.sun", False), ("\\backslashes\\are\\bad", False),
        ("-starts-with-dash", False), ("ends-with-dash-", False), (".starts.with.dot", False),
        ("ends.with.dot.", False), ("a" * 64, False),
    ],
)
def test_is_valid_label_value(value: str, ok: bool) -> None:
    assert (v.is_valid_label_value(value) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        # from apimachinery validation_test.go TestIsValidPortName
        ("telnet", True), ("re-mail-ck", True), ("pop3", True), ("a", True), ("a-1", True),
        ("1-a", True), ("a-1-b-2-c-3-d-4", True),
        ("", False), ("aaaaaaaaaaaaaaaa", False), ("a_b", False), ("a-", False), ("-a", False),
        ("a--b", False), ("1-2", False), ("12", False), ("http\n", False),
    ],
)
def test_is_valid_port_name(value: str, ok: bool) -> None:
    assert (v.is_valid_port_name(value) == []) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ('q"uote', '"q\\"uote"'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\there", '"tab\\there"'),
        ("ctl\x01", '"ctl\\x01"'),
        ("del\x7f", '"del\\x7f"'),
        ("zero\u200bwidth", '"zero\\u200bwidth"'),
        ("nbsp\u00a0", '"nbsp\\u00a0"'),
        ("ünïcode", '"ünïcode"'),
        ("<&>", '"<&>"'),  # %q leaves HTML characters alone; json.Marshal would not
    ],
)
def test_render_value_quotes_strings_like_go(value: str, expected: str) -> None:
    assert v.render_value(value) == expected


def test_render_value_of_other_types() -> None:
    assert v.render_value(0) == "0"
    assert v.render_value(True) == "true"
    assert v.render_value(["Ingress", "Egress", "<x>"]) == '["Ingress","Egress","\\u003cx\\u003e"]'
    assert v.render_value(v.Named("a&b")) == '"a\\u0026b"'
    long = v.render_value(["x" * 50] * 10)
    assert len(long) == 203 and long.endswith("...")


@pytest.mark.parametrize(
    ("net", "ip", "expected"),
    [
        # Go's (*net.IPNet).Contains: IPv4-mapped IPv6 is IPv4 on both sides, the mask keeps its
        # last 32 bits; an IPv6 network that is not mapped never contains an IPv4 address.
        ("10.0.0.0/8", "10.1.2.3", True),
        ("10.0.0.0/8", "11.1.2.3", False),
        ("10.0.0.0/8", "::ffff:10.1.2.3", True),
        ("::ffff:10.0.0.0/104", "10.1.2.3", True),
        ("::ffff:10.0.0.0/104", "11.0.0.1", False),
        ("::ffff:0.0.0.0/96", "8.8.8.8", True),
        ("::/0", "::ffff:1.2.3.4", False),
        ("::/0", "1.2.3.4", False),
        ("0.0.0.0/0", "2001:db8::1", False),
        ("2001:db8::/32", "2001:db8::1", True),
        ("2001:db8::/32", "2001:db9::1", False),
    ],
)
def test_cidr_contains_like_go(net: str, ip: str, expected: bool) -> None:
    import ipaddress

    assert v.cidr_contains(ipaddress.ip_network(net), ipaddress.ip_address(ip)) is expected
