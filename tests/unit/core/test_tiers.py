"""Tier semantics (core/tiers.py through Engine): first match per tier, Admin -> NetworkPolicy ->
Baseline, and the cases the upstream conformance suite never exercises (its README, "What the
suite does not pin down"): Accept is final even when a lower tier would deny; an egress Accept
still needs ingress at the destination; a port number matches only with its protocol;
host-network pods are never selected.
"""

from __future__ import annotations

import ipaddress
import textwrap

from tests.unit.sources.source_helpers import decode

from podwall.core.evaluate import Engine, Verdict
from podwall.core.model import Address, Options, Protocol, TierAction

BASE = """
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {team: b}}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {role: worker}}
status: {addresses: [{type: InternalIP, address: 192.168.0.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 80}, {name: dns, containerPort: 53, protocol: UDP}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: b, labels: {app: client}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: b, labels: {app: agent}}
spec: {hostNetwork: true, containers: [{name: c, ports: [{containerPort: 9100}]}]}
status: {podIP: 192.168.0.1}
"""


def cnp(name: str, tier: str, priority: int, body: str, subject: str = "namespaces: {}") -> str:
    return (
        "---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
        f"metadata: {{name: {name}}}\nspec:\n  tier: {tier}\n  priority: {priority}\n"
        f"  subject: {{{subject}}}\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"
    )


DENY_ALL_INGRESS_NP = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: a}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""
ALLOW_ALL_INGRESS_NP = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow, namespace: a}
spec: {podSelector: {}, ingress: [{}]}
"""


def engine(*docs: str, options: Options | None = None) -> Engine:
    r = decode(BASE + "".join(docs))
    assert r.errors == [], [d.render() for d in r.errors]
    return Engine(r.cluster, options)


def verdict(e: Engine, src: str, dst: str, port: int, proto: Protocol = Protocol.TCP) -> Verdict:
    eps = {x.key: x for x in e.cluster.endpoints}
    s = eps.get(src) or Address(ip=ipaddress.ip_address(src))
    d = eps.get(dst) or Address(ip=ipaddress.ip_address(dst))
    return e.verdict(s, d, port, proto)


ACCEPT_FROM_B = "ingress:\n- {action: Accept, from: [{namespaces: {matchLabels: {team: b}}}]}"
DENY_FROM_B = "ingress:\n- {action: Deny, from: [{namespaces: {matchLabels: {team: b}}}]}"
PASS_FROM_B = "ingress:\n- {action: Pass, from: [{namespaces: {matchLabels: {team: b}}}]}"
A = "namespaces: {matchLabels: {team: a}}"


def test_admin_accept_is_final_even_when_networkpolicy_and_baseline_deny():
    e = engine(cnp("ok", "Admin", 1, ACCEPT_FROM_B, A), cnp("base", "Baseline", 1, DENY_FROM_B, A), DENY_ALL_INGRESS_NP)
    v = verdict(e, "b/client", "a/web", 80)
    assert v.allowed
    assert v.ingress.decided_by == "Admin" and v.ingress.tier_rule is not None
    assert v.ingress.tier_rule.action is TierAction.ACCEPT and v.ingress.tier_rule.policy == "ClusterNetworkPolicy/ok"
    # without the Admin policy the NetworkPolicy denies it
    assert not verdict(
        engine(cnp("base", "Baseline", 1, DENY_FROM_B, A), DENY_ALL_INGRESS_NP), "b/client", "a/web", 80
    ).allowed


def test_egress_accept_still_needs_ingress_at_the_destination():
    egress = "egress:\n- {action: Accept, to: [{namespaces: {}}]}"
    e = engine(cnp("out", "Admin", 1, egress, "namespaces: {matchLabels: {team: b}}"), DENY_ALL_INGRESS_NP)
    v = verdict(e, "b/client", "a/web", 80)
    assert v.egress.allowed and v.egress.decided_by == "Admin"
    assert not v.allowed and not v.ingress.allowed and v.ingress.decided_by == "NetworkPolicy"


def test_a_port_number_matches_only_with_its_protocol():
    body = "ingress:\n- action: Deny\n  from: [{namespaces: {}}]\n  protocols: [{tcp: {destinationPort: {number: 53}}}]"
    e = engine(cnp("no-tcp-53", "Admin", 1, body, A))
    assert not verdict(e, "b/client", "a/web", 53, Protocol.TCP).allowed
    assert verdict(e, "b/client", "a/web", 53, Protocol.UDP).allowed
    assert verdict(e, "b/client", "a/web", 53, Protocol.SCTP).allowed


def test_host_network_pods_are_never_selected():
    deny_all = "ingress:\n- {action: Deny, from: [{namespaces: {}}]}\negress:\n- {action: Deny, to: [{namespaces: {}}]}"
    e = engine(cnp("everything", "Admin", 1, deny_all))
    # not as subject: the agent's own ingress and egress are not governed by any tier
    v = verdict(e, "b/agent", "b/agent", 9100)
    assert v.self_traffic
    v = verdict(e, "a/web", "b/agent", 9100)
    assert v.allowed  # the namespaces peer of web's egress Deny does not match the agent ...
    assert v.egress.decided_by == "default"
    assert v.ingress.decided_by == ""  # ... and the agent, as subject, is never selected
    v = verdict(e, "b/agent", "a/web", 80)
    assert v.allowed and v.egress.decided_by == "" and v.ingress.decided_by == "default"
    # not as a namespaces/pods peer: web -> agent is not matched by `to: namespaces {}`
    e2 = engine(cnp("no-pods", "Admin", 1, "egress:\n- {action: Deny, to: [{namespaces: {}}]}", A))
    assert verdict(e2, "a/web", "b/agent", 9100).allowed
    assert not verdict(e2, "a/web", "b/client", 80).allowed
    # but a networks peer matches its (node) IP, and a nodes peer too
    for peer in ("networks: [192.168.0.0/24]", "nodes: {matchLabels: {role: worker}}"):
        e3 = engine(cnp("net", "Admin", 1, f"egress:\n- {{action: Deny, to: [{{{peer}}}]}}", A))
        assert not verdict(e3, "a/web", "b/agent", 9100).allowed
        assert verdict(e3, "a/web", "b/client", 80).allowed


def test_first_match_by_priority_then_rule_order_and_pass():
    # priority 1 passes, so the priority 2 Deny is never consulted; NetworkPolicy allows
    e = engine(cnp("p1", "Admin", 1, PASS_FROM_B, A), cnp("p2", "Admin", 2, DENY_FROM_B, A), ALLOW_ALL_INGRESS_NP)
    v = verdict(e, "b/client", "a/web", 80)
    assert v.allowed and v.ingress.decided_by == "NetworkPolicy"
    assert [p.policy for p in v.ingress.passed] == ["ClusterNetworkPolicy/p1"]
    assert "Pass -> [NetworkPolicy]" in v.ingress.summary()
    # priorities, not file order: the Deny at 1 beats the Accept at 2
    e = engine(cnp("later", "Admin", 2, ACCEPT_FROM_B, A), cnp("first", "Admin", 1, DENY_FROM_B, A))
    assert not verdict(e, "b/client", "a/web", 80).allowed
    # rule order within a policy
    two = "ingress:\n- {action: Deny, from: [{namespaces: {}}]}\n- {action: Accept, from: [{namespaces: {}}]}"
    e = engine(cnp("ordered", "Admin", 1, two, A))
    v = verdict(e, "b/client", "a/web", 80)
    assert not v.allowed and v.ingress.tier_rule is not None and v.ingress.tier_rule.rule == 0


def test_same_priority_is_broken_by_name():
    e = engine(cnp("zzz", "Admin", 5, ACCEPT_FROM_B, A), cnp("aaa", "Admin", 5, DENY_FROM_B, A))
    v = verdict(e, "b/client", "a/web", 80)
    assert (
        not v.allowed and v.ingress.tier_rule is not None and v.ingress.tier_rule.policy == "ClusterNetworkPolicy/aaa"
    )


def test_networkpolicy_decides_for_isolated_pods_and_baseline_never_overrides():
    base_accept = cnp("b", "Baseline", 1, ACCEPT_FROM_B, A)
    assert not verdict(engine(base_accept, DENY_ALL_INGRESS_NP), "b/client", "a/web", 80).allowed
    base_deny = cnp("b", "Baseline", 1, DENY_FROM_B, A)
    assert verdict(engine(base_deny, ALLOW_ALL_INGRESS_NP), "b/client", "a/web", 80).allowed
    v = verdict(engine(base_deny), "b/client", "a/web", 80)
    assert not v.allowed and v.ingress.decided_by == "Baseline"


def test_baseline_pass_and_no_match_allow():
    body = "ingress:\n- {action: Pass, from: [{namespaces: {}}]}\n- {action: Deny, from: [{namespaces: {}}]}"
    v = verdict(engine(cnp("b", "Baseline", 1, body, A)), "b/client", "a/web", 80)
    assert v.allowed and v.ingress.decided_by == "default" and len(v.ingress.passed) == 1
    v = verdict(engine(cnp("b", "Baseline", 1, DENY_FROM_B, A)), "a/web", "a/web", 80)
    assert v.allowed and v.self_traffic  # a pod to itself is exempt


def test_named_ports_resolve_on_the_destination_with_number_and_protocol():
    body = "ingress:\n- action: Deny\n  from: [{namespaces: {}}]\n  protocols: [{destinationNamedPort: dns}]"
    e = engine(cnp("dns", "Admin", 1, body, A))
    assert not verdict(e, "b/client", "a/web", 53, Protocol.UDP).allowed
    assert verdict(e, "b/client", "a/web", 53, Protocol.TCP).allowed  # dns is UDP/53 on web
    assert verdict(e, "b/client", "a/web", 80, Protocol.TCP).allowed
    egress = "egress:\n- action: Deny\n  to: [{pods: {podSelector: {}}}]\n  protocols: [{destinationNamedPort: http}]"
    e = engine(cnp("http", "Admin", 1, egress, "namespaces: {matchLabels: {team: b}}"))
    assert not verdict(e, "b/client", "a/web", 80).allowed
    assert verdict(e, "b/client", "a/web", 81).allowed


def test_networks_match_pod_ips_and_addresses():
    body = "egress:\n- {action: Deny, to: [{networks: [10.0.0.0/24, 203.0.113.0/24]}]}"
    e = engine(cnp("n", "Admin", 1, body, "namespaces: {matchLabels: {team: b}}"))
    assert not verdict(e, "b/client", "a/web", 80).allowed
    assert not verdict(e, "b/client", "203.0.113.9", 443).allowed
    assert verdict(e, "b/client", "198.51.100.1", 443).allowed


def test_domain_names_need_the_address_map():
    body = (
        "egress:\n- {action: Accept, to: [{domainNames: ['*.example.com']}]}\n"
        "- {action: Deny, to: [{networks: [0.0.0.0/0]}]}"
    )
    doc = cnp("dns", "Admin", 1, body, "namespaces: {matchLabels: {team: b}}")
    v = verdict(engine(doc), "b/client", "203.0.113.9", 443)
    assert not v.allowed and v.egress.tier_notes and "cannot be decided offline" in v.egress.tier_notes[0]
    opts = Options(domain_addresses={"api.example.com": ("203.0.113.9",)})
    v = verdict(engine(doc, options=opts), "b/client", "203.0.113.9", 443)
    assert v.allowed and v.egress.tier_notes == ()
    assert not verdict(engine(doc, options=opts), "b/client", "203.0.113.10", 443).allowed


def test_v1alpha1_policies_evaluate_alike():
    anp = (
        "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: x}\n"
        "spec:\n  priority: 1\n  subject: {namespaces: {matchLabels: {team: a}}}\n"
        "  ingress: [{action: Allow, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 80}}]}]\n"
    )
    banp = (
        "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n"
        "metadata: {name: default}\n"
        "spec:\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n"
    )
    e = engine(anp, banp)
    assert verdict(e, "b/client", "a/web", 80).allowed
    v = verdict(e, "b/client", "a/web", 81)
    assert not v.allowed and v.ingress.tier_rule is not None
    assert str(v.ingress.tier_rule) == "[Baseline] BaselineAdminNetworkPolicy/default priority 0 rule #1 Deny"
