"""Write fixes as YAML manifests, without a YAML library (``core`` stays pure).

The emitter covers what a NetworkPolicy needs: mappings, lists, strings and integers. Strings
that YAML would read as something else (numbers, booleans, ``null``, leading symbols) are
double-quoted; the output of :func:`to_yaml` always round-trips through a YAML parser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from podwall.core.model import (
    Direction,
    LabelSelector,
    Operator,
    Peer,
    Policy,
    PortSpec,
    Rule,
)

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$|^[0-9][0-9A-Za-z.]*/[0-9]+$|^[0-9a-fA-F:]+::?[0-9a-fA-F:]*/[0-9]+$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    s = str(value)
    if _PLAIN.match(s) and s.lower() not in _RESERVED:
        return s
    return json.dumps(s)


def _emit(value: Any, indent: int, out: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, Mapping):
        for k, v in value.items():
            key = _scalar(k)
            if isinstance(v, Mapping) and v:
                out.append(f"{pad}{key}:")
                _emit(v, indent + 1, out)
            elif isinstance(v, list) and v:
                out.append(f"{pad}{key}:")
                _emit(v, indent, out)
            else:
                out.append(f"{pad}{key}: {_inline(v)}")
    elif isinstance(value, list):
        for item in value:
            sub: list[str] = []
            if isinstance(item, Mapping | list) and item:
                _emit(item, indent + 1, sub)
            else:
                sub.append("  " * (indent + 1) + _inline(item))
            first = sub[0][len("  " * (indent + 1)) :]
            out.append(f"{pad}- {first}")
            out.extend(sub[1:])
    else:
        out.append(pad + _inline(value))


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}" if not value else json.dumps(value)
    if isinstance(value, list):
        return "[]" if not value else json.dumps(value)
    return _scalar(value)


def to_yaml(doc: Mapping[str, Any]) -> str:
    """One YAML document (without ``---``), ending in a newline."""
    if not doc:
        return "{}\n"
    out: list[str] = []
    _emit(doc, 0, out)
    return "\n".join(out) + "\n"


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


def policy_yaml(policy: Policy) -> str:
    return to_yaml(policy_doc(policy))


def default_deny_ingress(namespace: str) -> str:
    return to_yaml(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-ingress", "namespace": namespace},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        }
    )


def dns_egress(
    namespace: str, name: str, pod_selector: LabelSelector, dns_namespace: str, dns_labels: Sequence[tuple[str, str]]
) -> str:
    """A policy allowing UDP and TCP 53 to the DNS pods, for the pods of ``pod_selector``.

    It selects the same pods as the policy that isolates them, so it adds the DNS rule without
    isolating any pod that was not isolated already.
    """
    peer: dict[str, Any] = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": dns_namespace}},
    }
    if dns_labels:
        peer["podSelector"] = {"matchLabels": dict(dns_labels)}
    return to_yaml(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "podSelector": selector_doc(pod_selector),
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [peer],
                        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                    }
                ],
            },
        }
    )
