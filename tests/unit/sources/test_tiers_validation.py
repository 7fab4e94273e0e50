"""Reading and validating ClusterNetworkPolicy (v1alpha2), AdminNetworkPolicy and
BaselineAdminNetworkPolicy (v1alpha1) and Nodes.

Messages are the CRD's (network-policy-api ``config/crd/experimental/*.yaml``: OpenAPI
constraints and ``x-kubernetes-validations`` messages, verbatim) in the API server's wording of
schema errors (``field.Error``: ``<path>: <Type>: <value>: <detail>``). They are transcribed
here, not produced by podwall.
"""

from __future__ import annotations

import textwrap

import pytest
from tests.unit.sources.source_helpers import decode, errors, warnings

from podwall.core.model import Protocol, Tier, TierAction, TierPort

CNP_API = "policy.networking.k8s.io/v1alpha2"
ANP_API = "policy.networking.k8s.io/v1alpha1"
SUBJECT = "subject:\n  namespaces: {}\n"


def obj(kind: str, spec: str, *, name: str = "p", api: str = CNP_API) -> str:
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n"
        + textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
        + "\n"
    )


def cnp(spec: str, **kw: str) -> str:
    return obj("ClusterNetworkPolicy", spec, **kw)


def anp(spec: str, **kw: str) -> str:
    return obj("AdminNetworkPolicy", spec, api=ANP_API, **kw)


def banp(spec: str, name: str = "default") -> str:
    return obj("BaselineAdminNetworkPolicy", spec, api=ANP_API, name=name)


def admin(rest: str = "") -> str:
    return "tier: Admin\npriority: 5\n" + SUBJECT + textwrap.dedent(rest)


def egress_rule(body: str) -> str:
    return admin("egress:\n- action: Accept\n" + textwrap.indent(textwrap.dedent(body), "  "))


def test_a_valid_cnp_is_read_with_every_field():
    r = decode(
        cnp(
            """
            tier: Baseline
            priority: 7
            subject:
              pods:
                namespaceSelector: {matchLabels: {team: a}}
                podSelector: {matchLabels: {app: web}}
            ingress:
            - name: from-b
              action: Deny
              from:
              - namespaces: {matchLabels: {team: b}}
              protocols:
              - tcp: {destinationPort: {number: 80}}
              - udp: {destinationPort: {range: {start: 53, end: 54}}}
            egress:
            - action: Pass
              to:
              - networks: [10.0.0.0/8]
              - nodes: {}
              - domainNames: ["*.example.com"]
            - action: Accept
              to:
              - pods: {podSelector: {}}
              protocols:
              - destinationNamedPort: web
            """
        )
    )
    assert errors(r) == []
    (p,) = r.cluster.tier_policies
    assert (p.key, p.tier, p.priority) == ("ClusterNetworkPolicy/p", Tier.BASELINE, 7)
    assert str(p.subject) == "pods namespaceSelector team=a AND podSelector app=web"
    (rule,) = p.ingress
    assert (rule.index, rule.name, rule.action) == (0, "from-b", TierAction.DENY)
    assert rule.ports == (
        TierPort(protocol=Protocol.TCP, port=80),
        TierPort(protocol=Protocol.UDP, port=53, end_port=54),
    )
    assert [pe.kind for pe in p.egress[0].peers] == ["networks", "nodes", "domainNames"]
    assert p.egress[0].ports is None
    assert p.egress[1].ports == (TierPort(protocol=None, named="web"),)
    assert str(p.egress[1].peers[0].namespace_selector) == "{}"  # absent namespaceSelector = all


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "tier: Tenant\npriority: 1\n" + SUBJECT,
            'spec.tier: Unsupported value: "Tenant": supported values: "Admin", "Baseline"',
        ),
        ("priority: 1\n" + SUBJECT, "spec.tier: Required value"),
        ("tier: Admin\n" + SUBJECT, "spec.priority: Required value"),
        (
            "tier: Admin\npriority: 1001\n" + SUBJECT,
            "spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000",
        ),
        (
            "tier: Admin\npriority: -1\n" + SUBJECT,
            "spec.priority: Invalid value: -1: spec.priority in body should be greater than or equal to 0",
        ),
        ("tier: Admin\npriority: 1\n", "spec.subject: Required value"),
        (
            "tier: Admin\npriority: 1\nsubject: {namespaces: {}, pods: {podSelector: {}}}",
            "spec.subject: Too many: 2: must have at most 1 items",
        ),
        (
            "tier: Admin\npriority: 1\nsubject: {}",
            "spec.subject: Invalid value: 0: spec.subject in body should have at least 1 properties",
        ),
        ("tier: Admin\npriority: 1\nsubject: {pods: {}}", "spec.subject.pods.podSelector: Required value"),
        (
            admin("egress:\n- action: Allow\n  to: [{namespaces: {}}]"),
            'spec.egress[0].action: Unsupported value: "Allow": supported values: "Accept", "Deny", "Pass"',
        ),
        (admin("egress:\n- to: [{namespaces: {}}]"), "spec.egress[0].action: Required value"),
        (admin("ingress:\n- action: Deny"), "spec.ingress[0].from: Required value"),
        (
            admin("ingress:\n- action: Deny\n  from: []"),
            "spec.ingress[0].from: Invalid value: 0: spec.ingress[0].from in body should have at least 1 items",
        ),
        (
            admin("ingress:\n- action: Deny\n  from: [{}]"),
            "spec.ingress[0].from[0]: Invalid value: 0: spec.ingress[0].from[0]"
            " in body should have at least 1 properties",
        ),
        (
            admin("ingress:\n- action: Deny\n  from: [{namespaces: {}, pods: {podSelector: {}}}]"),
            "spec.ingress[0].from[0]: Too many: 2: must have at most 1 items",
        ),
        (
            admin("ingress:\n- action: Deny\n  from: [{networks: [10.0.0.0/8]}]"),
            'spec.ingress[0].from[0].networks: unknown field "spec.ingress[0].from[0].networks"'
            ' (the API server rejects it)',
        ),
        (
            egress_rule(f"name: {'x' * 101}\nto: [{{namespaces: {{}}}}]"),
            "spec.egress[0].name: Too long: may not be more than 100 bytes",
        ),
        (
            egress_rule("to: [{namespaces: {}}]\nprotocols: [{tcp: {destinationPort: {range: {start: 80, end: 80}}}}]"),
            'spec.egress[0].protocols[0].tcp.destinationPort.range: Invalid value: "object": '
            "Start port must be less than End port",
        ),
        (
            egress_rule("to: [{namespaces: {}}]\nprotocols: [{tcp: {destinationPort: {number: 0}}}]"),
            "spec.egress[0].protocols[0].tcp.destinationPort.number: Invalid value: 0: "
            "spec.egress[0].protocols[0].tcp.destinationPort.number in body should be greater than or equal to 1",
        ),
        (
            egress_rule("to: [{namespaces: {}}]\nprotocols: [{tcp: {}}]"),
            "spec.egress[0].protocols[0].tcp: Invalid value: 0: spec.egress[0].protocols[0].tcp in body "
            "should have at least 1 properties",
        ),
        (
            egress_rule(
                "to: [{namespaces: {}}]\n"
                "protocols: [{tcp: {destinationPort: {number: 80}}, udp: {destinationPort: {number: 53}}}]"
            ),
            "spec.egress[0].protocols[0]: Too many: 2: must have at most 1 items",
        ),
        (
            egress_rule("to: [{networks: [10.0.0.0]}]"),
            'spec.egress[0].to[0].networks[0]: Invalid value: "string": Invalid CIDR format provided',
        ),
        (
            egress_rule("to: [{networks: [010.0.0.0/8]}]"),
            'spec.egress[0].to[0].networks[0]: Invalid value: "string": Invalid CIDR format provided',
        ),
        (
            egress_rule("to: [{networks: [10.0.0.0/8, 10.0.0.0/8]}]"),
            'spec.egress[0].to[0].networks[1]: Duplicate value: "10.0.0.0/8"',
        ),
        (
            egress_rule("to: [{networks: []}]"),
            "spec.egress[0].to[0].networks: Invalid value: 0: spec.egress[0].to[0].networks"
            " in body should have at least 1 items",
        ),
        (
            egress_rule("to: [{networks: [10.0.0.0/8]}]\nprotocols: [{destinationNamedPort: web}]"),
            'spec.egress[0]: Invalid value: "object": networks/nodes/domainNames peer cannot be set with '
            "namedPorts since there are no namedPorts for networks/nodes/domainNames",
        ),
        (
            egress_rule("to: [{domainNames: ['*.*.example.com']}]"),
            'spec.egress[0].to[0].domainNames[0]: Invalid value: "*.*.example.com": '
            'spec.egress[0].to[0].domainNames[0] '
            "in body should match '^(\\*\\.)?([a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\\.)+[a-zA-z0-9]"
            "([-a-zA-Z0-9_]*[a-zA-Z0-9])?\\.?$'",
        ),
    ],
)
def test_cnp_validation(spec: str, expected: str):
    r = decode(cnp(spec))
    assert expected in errors(r)
    assert r.cluster.tier_policies == ()  # the API server would reject it: it does not exist


def test_rule_and_peer_counts():
    rules = "".join("- action: Deny\n  to: [{namespaces: {}}]\n" for _ in range(26))
    r = decode(cnp(admin("egress:\n" + rules)))
    assert errors(r) == ["spec.egress: Too many: 26: must have at most 25 items"]
    rules_v1 = "".join("- action: Deny\n  to: [{namespaces: {}}]\n" for _ in range(100))
    assert errors(decode(anp("priority: 1\n" + SUBJECT + "egress:\n" + rules_v1))) == []
    r = decode(anp("priority: 1\n" + SUBJECT + "egress:\n" + rules_v1 + "- action: Deny\n  to: [{namespaces: {}}]\n"))
    assert errors(r) == ["spec.egress: Too many: 101: must have at most 100 items"]
    peers = ", ".join("{namespaces: {}}" for _ in range(26))
    r = decode(cnp(admin(f"ingress:\n- action: Deny\n  from: [{peers}]")))
    assert errors(r) == ["spec.ingress[0].from: Too many: 26: must have at most 25 items"]


def test_v1alpha1_admin_network_policy():
    r = decode(
        anp(
            """
            priority: 3
            subject: {namespaces: {matchLabels: {a: b}}}
            egress:
            - name: x
              action: Allow
              to: [{pods: {namespaceSelector: {}, podSelector: {}}}]
              ports:
              - portNumber: {protocol: UDP, port: 53}
              - portRange: {start: 1000, end: 2000}
              - namedPort: web
            - action: Pass
              to: [{networks: [0.0.0.0/0]}]
            """
        )
    )
    assert errors(r) == []
    (p,) = r.cluster.tier_policies
    assert (p.key, p.tier, p.priority, p.api_version) == ("AdminNetworkPolicy/p", Tier.ADMIN, 3, ANP_API)
    assert [x.action for x in p.egress] == [TierAction.ACCEPT, TierAction.PASS]
    assert p.egress[0].ports == (
        TierPort(protocol=Protocol.UDP, port=53),
        TierPort(protocol=Protocol.TCP, port=1000, end_port=2000),  # portRange protocol defaults to TCP
        TierPort(protocol=None, named="web"),
    )


def test_v1alpha1_validation():
    assert errors(decode(anp("priority: 3\n" + SUBJECT + "egress:\n- action: Accept\n  to: [{namespaces: {}}]"))) == [
        'spec.egress[0].action: Unsupported value: "Accept": supported values: "Allow", "Deny", "Pass"'
    ]
    r = decode(
        anp(
            "priority: 3\n"
            + SUBJECT
            + "egress:\n- action: Allow\n  to: [{namespaces: {}}]\n  ports: [{portNumber: {port: 80}}]"
        )
    )
    assert errors(r) == ["spec.egress[0].ports[0].portNumber.protocol: Required value"]
    r = decode(
        anp("priority: 3\n" + SUBJECT + "egress:\n- action: Allow\n  to: [{nodes: {}}]\n  ports: [{namedPort: web}]")
    )
    assert errors(r) == [
        'spec.egress[0]: Invalid value: "object": networks/nodes/domainNames peer cannot be set with namedPorts '
        "since there are no namedPorts for networks/nodes/domainNames"
    ]
    r = decode(banp(SUBJECT + "egress:\n- action: Allow\n  to: [{nodes: {}}]\n  ports: [{namedPort: web}]"))
    assert errors(r) == [
        'spec.egress[0]: Invalid value: "object": networks/nodes peer cannot be set with namedPorts '
        "since there are no namedPorts for networks/nodes"
    ]
    # v1alpha1 has no start < end rule: accepted, with a warning that the range is empty
    r = decode(
        anp(
            "priority: 3\n"
            + SUBJECT
            + "egress:\n- action: Deny\n  to: [{namespaces: {}}]\n  ports: [{portRange: {start: 9, end: 8}}]"
        )
    )
    assert errors(r) == [] and [w.code for w in warnings(r)] == ["tier-empty-range"]


def test_baseline_admin_network_policy():
    r = decode(banp(SUBJECT + "ingress:\n- action: Deny\n  from: [{namespaces: {}}]"))
    assert errors(r) == []
    (p,) = r.cluster.tier_policies
    assert (p.key, p.tier, p.priority) == ("BaselineAdminNetworkPolicy/default", Tier.BASELINE, 0)
    r = decode(banp(SUBJECT, name="other"))
    assert errors(r) == [
        'Invalid value: "object": Only one baseline admin network policy with metadata.name="default" can be '
        "created in the cluster"
    ]
    r = decode(banp(SUBJECT + "ingress:\n- action: Pass\n  from: [{namespaces: {}}]"))
    assert errors(r) == ['spec.ingress[0].action: Unsupported value: "Pass": supported values: "Allow", "Deny"']
    r = decode(banp("priority: 1\n" + SUBJECT))
    assert errors(r) == ['spec.priority: unknown field "spec.priority" (the API server rejects it)']
    r = decode(banp(SUBJECT + "egress:\n- action: Deny\n  to: [{domainNames: [a.example.com]}]"))
    assert errors(r) == [
        'spec.egress[0].to[0].domainNames: unknown field "spec.egress[0].to[0].domainNames" (the API server rejects it)'
    ]


def test_errors_carry_file_and_line():
    text = cnp(admin("egress:\n- action: Deny\n  to: [{networks: [nope]}]"))
    r = decode(text, name="cnp.yaml")
    (d,) = r.errors
    assert (d.file, d.line, d.field) == (
        "cnp.yaml",
        text.splitlines().index("  - action: Deny") + 2,
        "spec.egress[0].to[0].networks[0]",
    )


def test_unparseable_selector_is_a_warning_and_matches_nothing():
    r = decode(cnp("tier: Admin\npriority: 1\nsubject: {namespaces: {matchExpressions: [{key: a, operator: Maybe}]}}"))
    assert errors(r) == []
    assert [w.code for w in warnings(r)] == ["tier-selector"]
    (p,) = r.cluster.tier_policies
    from podwall.core.selectors import matches

    assert not matches(p.subject.namespace_selector, {"a": "x"}) and not matches(p.subject.namespace_selector, {})


def test_noncanonical_network_warns():
    r = decode(cnp(egress_rule("to: [{networks: [10.0.0.1/8]}]")))
    assert errors(r) == [] and [w.code for w in warnings(r)] == ["noncanonical-cidr"]
    assert str(r.cluster.tier_policies[0].egress[0].peers[0].networks[0].network) == "10.0.0.0/8"


def test_nodes_are_read():
    r = decode(
        """
        apiVersion: v1
        kind: Node
        metadata: {name: n1, labels: {role: worker}}
        status:
          addresses:
          - {type: InternalIP, address: 192.168.0.1}
          - {type: ExternalIP, address: 2001:db8::1}
          - {type: Hostname, address: n1}
          - {type: InternalIP, address: bogus}
        """
    )
    (n,) = r.cluster.nodes
    assert (n.name, dict(n.labels), n.addresses) == ("n1", {"role": "worker"}, ("192.168.0.1", "2001:db8::1"))
    assert len(warnings(r)) == 1


def test_other_versions_are_skipped_not_misread():
    r = decode(obj("ClusterNetworkPolicy", admin(), api="policy.networking.k8s.io/v1beta1"))
    assert r.cluster.tier_policies == () and len(r.skipped) == 1
