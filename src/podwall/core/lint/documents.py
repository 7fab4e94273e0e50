"""Fixes as manifests: the model turned back into plain NetworkPolicy mappings.

``core`` stays free of YAML: a :class:`~podwall.core.lint.findings.Fix` carries the mapping
built here, and ``report/fixes.py`` serialises it with PyYAML. The fixes that create an object
build a :class:`Policy` first (:func:`default_deny_ingress`, :func:`dns_egress`), so that the
fix checker can evaluate exactly what would be applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podwall.core.model import (
    Direction,
    LabelSelector,
    Operator,
    Peer,
    Policy,
    PortSpec,
    Protocol,
    Rule,
)

NS_NAME = "kubernetes.io/metadata.name"


# -- model → manifest ------------------------------------------------------------------------
def selector_doc(sel: LabelSelector) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if sel.match_labels:
        doc["matchLabels"] = dict(sel.match_labels)
    if sel.match_expressions:
        exprs = []
        for r in sel.match_expressions:
            e: dict[str, Any] = {"key": r.key, "operator": r.operator.value}
            if r.operator in (Operator.IN, Operator.NOT_IN):
                e["values"] = list(r.values)
            exprs.append(e)
        doc["matchExpressions"] = exprs
    return doc


def peer_doc(peer: Peer) -> dict[str, Any]:
    if peer.ip_block is not None:
        block: dict[str, Any] = {"cidr": peer.ip_block.cidr}
        if peer.ip_block.excepts:
            block["except"] = list(peer.ip_block.excepts)
        return {"ipBlock": block}
    doc: dict[str, Any] = {}
    if peer.namespace_selector is not None:
        doc["namespaceSelector"] = selector_doc(peer.namespace_selector)
    if peer.pod_selector is not None:
        doc["podSelector"] = selector_doc(peer.pod_selector)
    return doc


def port_doc(spec: PortSpec) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if spec.port is not None:
        doc["port"] = spec.port
    if spec.end_port is not None:
        doc["endPort"] = spec.end_port
    doc["protocol"] = spec.protocol.value
    return doc


def rule_doc(rule: Rule, direction: Direction) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if rule.peers:
        doc["from" if direction is Direction.INGRESS else "to"] = [peer_doc(p) for p in rule.peers]
    if rule.ports:
        doc["ports"] = [port_doc(s) for s in rule.ports]
    return doc


def policy_doc(policy: Policy, *, annotations: bool = True) -> dict[str, Any]:
    """A policy as a manifest, with ``policyTypes`` always explicit (so editing rules never
    changes what the API server would default)."""
    meta: dict[str, Any] = {"name": policy.name, "namespace": policy.namespace}
    if annotations and policy.annotations:
        meta["annotations"] = dict(sorted(policy.annotations.items()))
    spec: dict[str, Any] = {"podSelector": selector_doc(policy.pod_selector)}
    spec["policyTypes"] = [d.value for d in (Direction.INGRESS, Direction.EGRESS) if d in policy.policy_types]
    if policy.ingress:
        spec["ingress"] = [rule_doc(r, Direction.INGRESS) for r in policy.ingress]
    if policy.egress:
        spec["egress"] = [rule_doc(r, Direction.EGRESS) for r in policy.egress]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec}


def identity_doc(policy: Policy) -> dict[str, Any]:
    """Just enough of a policy to name it (what ``kubectl delete -f`` needs)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": policy.name, "namespace": policy.namespace},
    }


def default_deny_ingress(namespace: str) -> Policy:
    """``default-deny-ingress``: every pod of ``namespace`` isolated for ingress, nothing allowed."""
    return Policy(
        namespace=namespace,
        name="default-deny-ingress",
        pod_selector=LabelSelector(),
        policy_types=frozenset({Direction.INGRESS}),
    )


def dns_egress(
    namespace: str, name: str, pod_selector: LabelSelector, dns_namespace: str, dns_labels: Sequence[tuple[str, str]]
) -> Policy:
    """A policy allowing UDP and TCP 53 to the DNS pods, for the pods of ``pod_selector``.

    It selects the same pods as the policy that isolates them, so it adds the DNS rule without
    isolating any pod that was not isolated already.
    """
    peer = Peer(
        namespace_selector=LabelSelector(match_labels=((NS_NAME, dns_namespace),)),
        pod_selector=LabelSelector(match_labels=tuple(sorted(dns_labels))) if dns_labels else None,
    )
    return Policy(
        namespace=namespace,
        name=name,
        pod_selector=pod_selector,
        policy_types=frozenset({Direction.EGRESS}),
        egress=(
            Rule(
                peers=(peer,),
                ports=(PortSpec(protocol=Protocol.UDP, port=53), PortSpec(protocol=Protocol.TCP, port=53)),
            ),
        ),
    )
