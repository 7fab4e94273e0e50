"""The lint rules: ids (a stable public interface), severities, and what each one is about.

``--list-rules`` and ``docs/lint.md`` are generated from this table, so the explanation, the
bad example and the fix live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from podwall.errors import Severity

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


class RuleId(StrEnum):
    """Every lint rule id. A ``StrEnum``: members compare equal to their id strings, so
    ``--enable``, annotations and JSON keep using the plain ids. New rules (tiers, ...) add a
    member here and a :class:`RuleInfo` to the table below."""

    NO_DEFAULT_DENY = "no-default-deny"
    UNPROTECTED_POD = "unprotected-pod"
    DNS_EGRESS_BLOCKED = "dns-egress-blocked"
    DNS_TCP_MISSING = "dns-tcp-missing"
    RULES_IGNORED = "rules-ignored"
    SELECTS_NOTHING = "selects-nothing"
    PEER_MATCHES_NOTHING = "peer-matches-nothing"
    NAMED_PORT_UNRESOLVED = "named-port-unresolved"
    PORT_PROTOCOL_MISMATCH = "port-protocol-mismatch"
    AND_OR_CONFUSION = "and-or-confusion"
    ALLOW_ALL = "allow-all"
    IPBLOCK_COVERS_PODS = "ipblock-covers-pods"
    NONCANONICAL_CIDR = "noncanonical-cidr"
    SHADOWED_RULE = "shadowed-rule"
    HOSTNETWORK_SELECTED = "hostnetwork-selected"
    MISSING_NAMESPACE = "missing-namespace"
    CNI_DOES_NOT_ENFORCE = "cni-does-not-enforce"
    TIER_PRIORITY_OVERLAP = "tier-priority-overlap"
    TIER_RULE_SHADOWED = "tier-rule-shadowed"
    TIER_PASS_NOOP = "tier-pass-noop"
    TIER_MASKS_NETWORKPOLICY = "tier-masks-networkpolicy"
    BASELINE_DENY_WITHOUT_DNS = "baseline-deny-without-dns"


@dataclass(frozen=True, kw_only=True)
class RuleInfo:
    id: RuleId
    severity: Severity
    summary: str
    why: str
    bad: str
    fixed: str


_RULES = (
    RuleInfo(
        id=RuleId.NO_DEFAULT_DENY,
        severity=WARN,
        summary="a namespace with pods but no policy that isolates all of its pods for ingress",
        why="Without a policy selecting every pod, any pod nobody remembered to protect (and every "
        "pod added later) accepts connections from the whole cluster: zero network segmentation.",
        bad="# namespace production: pods, and only policies for some of them\n"
        "spec:\n  podSelector:\n    matchLabels:\n      app: postgres\n  policyTypes: [Ingress]",
        fixed="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
        "  name: default-deny-ingress\n  namespace: production\nspec:\n  podSelector: {}\n"
        "  policyTypes:\n  - Ingress",
    ),
    RuleInfo(
        id=RuleId.UNPROTECTED_POD,
        severity=WARN,
        summary="a pod (or workload) that no policy isolates for ingress",
        why="A pod that no policy selects for ingress accepts every connection, from every pod and "
        "from outside the cluster. One finding per pod or workload, so each can be tracked.",
        bad="# ci/runner: no NetworkPolicy in namespace ci selects it",
        fixed="# a default deny for its namespace (see no-default-deny), then allow what it needs",
    ),
    RuleInfo(
        id=RuleId.DNS_EGRESS_BLOCKED,
        severity=ERR,
        summary="an egress-isolated pod that cannot reach DNS on UDP 53 (kube-dns / CoreDNS pods "
        "where present, else any destination on 53)",
        why="Once a pod is isolated for egress, everything not allowed is dropped, DNS included: "
        "names stop resolving and the application breaks in ways that rarely point at the policy.",
        bad="spec:\n  podSelector:\n    matchLabels:\n      app: backend\n  policyTypes: [Egress]\n"
        "  egress:\n  - to:\n    - podSelector:\n        matchLabels:\n          app: postgres\n"
        "    ports:\n    - port: 5432",
        fixed="  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n"
        "          kubernetes.io/metadata.name: kube-system\n      podSelector:\n"
        "        matchLabels:\n          k8s-app: kube-dns\n    ports:\n    - port: 53\n"
        "      protocol: UDP\n    - port: 53\n      protocol: TCP",
    ),
    RuleInfo(
        id=RuleId.DNS_TCP_MISSING,
        severity=WARN,
        summary="DNS on UDP 53 allowed but TCP 53 blocked (large answers fail)",
        why="DNS falls back to TCP when an answer does not fit in a UDP packet (many records, "
        "DNSSEC, long search lists). With only UDP allowed, those lookups fail intermittently.",
        bad="    ports:\n    - port: 53\n      protocol: UDP",
        fixed="    ports:\n    - port: 53\n      protocol: UDP\n    - port: 53\n      protocol: TCP",
    ),
    RuleInfo(
        id=RuleId.RULES_IGNORED,
        severity=ERR,
        summary="ingress rules in a policy whose explicit policyTypes lacks Ingress (or the same "
        "for egress): the rules are silently inert",
        why="policyTypes decides which directions a policy governs. Rules for a direction it does "
        "not list are accepted by the API server and then ignored.",
        bad="spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  egress:\n  - to:\n"
        "    - podSelector: {}",
        fixed="spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  egress:\n  - to:\n"
        "    - podSelector: {}",
    ),
    RuleInfo(
        id=RuleId.SELECTS_NOTHING,
        severity=WARN,
        summary="a policy whose podSelector matches no pod in its namespace",
        why="A policy that selects nothing protects nothing; usually a label typo, or the policy "
        "sits in the wrong namespace.",
        bad="spec:\n  podSelector:\n    matchLabels:\n      app: postgress",
        fixed="spec:\n  podSelector:\n    matchLabels:\n      app: postgres",
    ),
    RuleInfo(
        id=RuleId.PEER_MATCHES_NOTHING,
        severity=WARN,
        summary="a rule peer whose selectors match no pod or namespace (a typo in a label, say)",
        why="A peer that matches nothing allows nothing: the traffic it was written for is "
        "blocked. A typo in a label or a namespace name is the usual cause.",
        bad="  - from:\n    - podSelector:\n        matchLabels:\n          app: bakend",
        fixed="  - from:\n    - podSelector:\n        matchLabels:\n          app: backend",
    ),
    RuleInfo(
        id=RuleId.NAMED_PORT_UNRESOLVED,
        severity=WARN,
        summary="a named port that no destination pod declares for that protocol",
        why="A named port is looked up on the pod receiving the connection. If none of them "
        "declares the name (for that protocol), the port entry matches nothing.",
        bad="    ports:\n    - port: metrics   # the pods name it http-metrics",
        fixed="    ports:\n    - port: http-metrics",
    ),
    RuleInfo(
        id=RuleId.PORT_PROTOCOL_MISMATCH,
        severity=WARN,
        summary="a port entry (TCP by default) whose destination pods declare that port only for "
        "another protocol, e.g. port: 53 without protocol: UDP",
        why="protocol defaults to TCP. A port entry for a UDP service without protocol: UDP "
        "allows TCP only, and the UDP traffic stays blocked.",
        bad="    ports:\n    - port: 53",
        fixed="    ports:\n    - port: 53\n      protocol: UDP",
    ),
    RuleInfo(
        id=RuleId.AND_OR_CONFUSION,
        severity=WARN,
        summary="a rule with a namespaceSelector-only peer and a podSelector-only peer side by "
        "side, where the podSelector matches no pod of the policy's namespace but pods of the "
        "selected namespaces: one peer with both (AND) was almost certainly meant",
        why="Two list items are ORed: all pods of the selected namespaces, plus the selected pods of "
        "the policy's own namespace. One item with both selectors means those pods in those "
        "namespaces. Both forms are legitimate (the Kubernetes documentation's test-network-policy "
        "lists three separate sources on purpose), so the rule speaks only when the pods say the "
        "OR cannot be what was meant. Merging the peers changes who may connect, so there is no "
        "automatic fix: the hint shows the one-item form.",
        bad="  - from:\n    - namespaceSelector:\n        matchLabels:\n"
        "          kubernetes.io/metadata.name: monitoring\n    - podSelector:\n"
        "        matchLabels:\n          app: prometheus   # only monitoring has such pods",
        fixed="  - from:\n    - namespaceSelector:\n        matchLabels:\n"
        "          kubernetes.io/metadata.name: monitoring\n      podSelector:\n"
        "        matchLabels:\n          app: prometheus",
    ),
    RuleInfo(
        id=RuleId.ALLOW_ALL,
        severity=WARN,
        summary="a rule that admits every source (or destination) on every port, undoing the "
        "isolation",
        why="A rule with no from/to and no ports allows everything; the pods it applies to are as "
        "open as without any policy, whatever the other rules say.",
        bad="  ingress:\n  - {}",
        fixed="  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n"
        "          app: frontend\n    ports:\n    - port: 8080",
    ),
    RuleInfo(
        id=RuleId.IPBLOCK_COVERS_PODS,
        severity=WARN,
        summary="an ipBlock that contains pod IPs: whether it matches pods depends on the CNI",
        why="Kubernetes leaves it to the implementation whether ipBlock matches pod traffic "
        "(Calico and kube-network-policies do, Cilium does not). A rule that relies on either "
        "reading breaks on the other CNI.",
        bad="  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0",
        fixed="  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0\n        except:\n"
        "        - 10.244.0.0/16   # the pod CIDR",
    ),
    RuleInfo(
        id=RuleId.NONCANONICAL_CIDR,
        severity=WARN,
        summary="a CIDR with host bits set or leading zeros",
        why="10.0.0.5/24 means 10.0.0.0/24: the API server masks the host bits (and reads 010 as "
        "10) without a word, so the rule covers more (or other) addresses than it says.",
        bad="        cidr: 10.0.0.5/24",
        fixed="        cidr: 10.0.0.0/24",
    ),
    RuleInfo(
        id=RuleId.SHADOWED_RULE,
        severity=INFO,
        summary="a rule whose every allowed connection is already allowed by another rule for the "
        "same pods",
        why="The rule has no effect: removing it changes nothing. Often a leftover, or a sign that "
        "the other rule is broader than intended.",
        bad="  ingress:\n  - from:\n    - podSelector: {}\n  - from:\n    - podSelector:\n"
        "        matchLabels:\n          app: frontend\n    ports:\n    - port: 8080",
        fixed="  ingress:\n  - from:\n    - podSelector: {}",
    ),
    RuleInfo(
        id=RuleId.HOSTNETWORK_SELECTED,
        severity=INFO,
        summary="a policy selects hostNetwork pods, on which it has no effect",
        why="Pods with hostNetwork: true share the node's network; most CNIs do not apply "
        "NetworkPolicy to them, and selectors never match them as peers.",
        bad="# a policy selecting app=ingress-nginx, whose pods run with hostNetwork: true",
        fixed="# protect the node instead, or run the pods without hostNetwork",
    ),
    RuleInfo(
        id=RuleId.MISSING_NAMESPACE,
        severity=WARN,
        summary="a NetworkPolicy without metadata.namespace: it lands wherever it is applied",
        why="kubectl apply puts it in the current context's namespace, which differs between "
        "people and pipelines; the policy then protects the wrong pods, or none.",
        bad="metadata:\n  name: backend-egress",
        fixed="metadata:\n  name: backend-egress\n  namespace: production",
    ),
    RuleInfo(
        id=RuleId.CNI_DOES_NOT_ENFORCE,
        severity=ERR,
        summary="the input shows a CNI that does not enforce NetworkPolicy (Flannel without Canal, "
        "kubenet), or --cni names one: the policies do nothing",
        why="NetworkPolicy has no status: the API server accepts policies whether or not anything "
        "enforces them. On Flannel alone or kubenet, every policy is silently ignored.",
        bad="# a kube-flannel DaemonSet, no Canal/Calico/Cilium/...",
        fixed="# install a CNI that enforces NetworkPolicy (Calico, Cilium, Canal = Flannel + "
        "Calico policy, kube-router, ...)",
    ),
)

_TIER_RULES = (
    RuleInfo(
        id=RuleId.TIER_PRIORITY_OVERLAP,
        severity=WARN,
        summary="two cluster-wide policies of one tier with the same priority apply to the same pods",
        why="Upstream leaves the order of same-priority policies undefined: one implementation may apply "
        "one policy's Deny, another the other's Accept. podwall orders them by name, as "
        "kube-network-policies does, but no one should have to rely on that.",
        bad="# ClusterNetworkPolicy allow-monitoring: tier Admin, priority 10, subject namespaces {}\n"
        "# ClusterNetworkPolicy isolate-tenants:  tier Admin, priority 10, subject namespaces {}",
        fixed="spec:\n  tier: Admin\n  priority: 20",
    ),
    RuleInfo(
        id=RuleId.TIER_RULE_SHADOWED,
        severity=WARN,
        summary="a cluster-wide rule that an earlier rule (same policy, or a policy evaluated before it "
        "in the tier for the same pods) always matches first",
        why="The first matching rule decides, so the later rule never does anything: often a rule placed "
        "below a broader Deny or Pass by mistake.",
        bad="  ingress:\n  - action: Deny\n    from:\n    - namespaces: {}\n  - action: Accept\n    from:\n"
        "    - namespaces:\n        matchLabels:\n          kubernetes.io/metadata.name: monitoring",
        fixed="  ingress:\n  - action: Accept\n    from:\n    - namespaces:\n        matchLabels:\n"
        "          kubernetes.io/metadata.name: monitoring\n  - action: Deny\n    from:\n    - namespaces: {}",
    ),
    RuleInfo(
        id=RuleId.TIER_PASS_NOOP,
        severity=INFO,
        summary="a Pass rule with no later rule of its tier that could match: it changes nothing",
        why="Pass skips the rest of the tier; when nothing follows that could match, the traffic goes to "
        "the next stage anyway. The rule suggests a decision that is not there.",
        bad="  egress:\n  - action: Pass\n    to:\n    - namespaces: {}",
        fixed="# remove the rule, or add after it the rules it is meant to skip",
    ),
    RuleInfo(
        id=RuleId.TIER_MASKS_NETWORKPOLICY,
        severity=WARN,
        summary="the Admin tier accepts or denies every in-cluster connection of the pods a NetworkPolicy "
        "selects, in one direction: that NetworkPolicy never decides it",
        why="Admin Accept and Deny are final. A namespace owner's NetworkPolicy under such a rule looks "
        "effective but is dead for in-cluster traffic, which misleads whoever reads or edits it.",
        bad="# Admin: ingress Deny from namespaces {} for every namespace\n"
        "# NetworkPolicy production/allow-frontend: ingress from app=frontend",
        fixed="  ingress:\n  - action: Pass\n    from:\n    - namespaces:\n        matchLabels:\n"
        "          kubernetes.io/metadata.name: production",
    ),
    RuleInfo(
        id=RuleId.BASELINE_DENY_WITHOUT_DNS,
        severity=ERR,
        summary="a Baseline Deny decides pods' DNS egress (UDP 53 to the DNS pods): names stop resolving",
        why="A baseline default-deny applies to every pod that no NetworkPolicy isolates; unless DNS is "
        "accepted first, each of them loses name resolution.",
        bad="  egress:\n  - action: Deny\n    to:\n    - networks: [0.0.0.0/0, ::/0]",
        fixed="  egress:\n  - action: Accept\n    to:\n    - pods:\n        namespaceSelector:\n"
        "          matchLabels:\n            kubernetes.io/metadata.name: kube-system\n        podSelector:\n"
        "          matchLabels:\n            k8s-app: kube-dns\n    protocols:\n"
        "    - udp: {destinationPort: {number: 53}}\n    - tcp: {destinationPort: {number: 53}}\n"
        "  - action: Deny\n    to:\n    - networks: [0.0.0.0/0, ::/0]",
    ),
)

RULES: dict[RuleId, RuleInfo] = {r.id: r for r in (*_RULES, *_TIER_RULES)}
"""Every rule by id, in documentation order."""
