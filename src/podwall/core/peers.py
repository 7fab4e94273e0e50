"""Does a rule's peer match the other end of a connection?

The seven shapes of a selector peer (``networking/v1/types.go``, ``NetworkPolicyPeer``; named as
in policy-assistant's ``podpeermatcher.go``), for a policy in namespace ``P``:

=========================  ============================  ==========================================
podSelector                namespaceSelector             matches
=========================  ============================  ==========================================
absent                     absent                        invalid ("must specify a peer")
set / empty                absent                        pods of namespace ``P`` matching podSelector
absent                     set / empty                   every pod of the matching namespaces
set / empty                set / empty                   pods matching podSelector **in** namespaces
                                                         matching namespaceSelector (AND, one peer)
=========================  ============================  ==========================================

An empty selector (``{}``) matches everything; separate list entries are ORed (``rules.py`` does
that). Selectors match pods only, never addresses outside the cluster.

``ipBlock`` (cidr minus except) matches addresses outside the cluster, and pods whose IP lies
in it when ``Options.ipblock_matches_pods`` is set (implementation-defined upstream). With
``HostNetworkMode.NODE`` a hostNetwork pod is node traffic: no selector matches it, and an
``ipBlock`` on its (node) address does.
"""

from __future__ import annotations

from collections.abc import Mapping

from podwall.core.model import Address, Endpoint, HostNetworkMode, Options, Peer, Target
from podwall.core.selectors import first_failure, matches


def is_node_traffic(ep: Endpoint, options: Options) -> bool:
    """Whether an endpoint's traffic counts as node traffic (hostNetwork, mode ``node``)."""
    return ep.host_network and options.host_network is HostNetworkMode.NODE


def _ipblock_matches(peer: Peer, other: Target, options: Options) -> bool:
    block = peer.ip_block
    assert block is not None
    if isinstance(other, Address):
        return block.contains(other.ip)
    if not (options.ipblock_matches_pods or is_node_traffic(other, options)):
        return False
    return any(block.contains(a) for a in other.addresses)


def peer_matches(
    peer: Peer,
    policy_namespace: str,
    other: Target,
    ns_labels: Mapping[str, str],
    options: Options,
) -> bool:
    """Whether ``peer`` (of a policy in ``policy_namespace``) matches ``other``.

    ``ns_labels`` are the labels of ``other``'s namespace (ignored for addresses).
    """
    if peer.ip_block is not None:
        return _ipblock_matches(peer, other, options)
    if isinstance(other, Address) or is_node_traffic(other, options):
        return False
    if peer.namespace_selector is None:
        if other.namespace != policy_namespace:
            return False
    elif not matches(peer.namespace_selector, ns_labels):
        return False
    return peer.pod_selector is None or matches(peer.pod_selector, other.labels)


def describe_peer_miss(
    peer: Peer,
    policy_namespace: str,
    other: Target,
    ns_labels: Mapping[str, str],
    options: Options,
) -> str:
    """Why ``peer`` does not match ``other``, naming the selector and the label at fault."""
    if peer.ip_block is not None:
        block = peer.ip_block
        if isinstance(other, Endpoint) and not (
            options.ipblock_matches_pods or is_node_traffic(other, options)
        ):
            return f"ipBlock {block} never matches pods (option ipblock-matches-pods is off)"
        if isinstance(other, Endpoint) and not other.ips:
            return f"ipBlock {block}: {other.key} has no known IP"
        ips = ", ".join(str(a) for a in (other.addresses if isinstance(other, Endpoint) else (other.ip,)))
        return f"ipBlock {block} does not contain {ips}"
    if isinstance(other, Address):
        return f"{peer} matches pods only, not the address {other.ip}"
    if is_node_traffic(other, options):
        return f"{peer}: {other.key} is a hostNetwork pod (node traffic) that selectors never match"
    if peer.namespace_selector is None:
        if other.namespace != policy_namespace:
            return (
                f"podSelector {peer.pod_selector} without namespaceSelector means namespace "
                f"{policy_namespace} only; {other.key} is in {other.namespace}"
            )
    else:
        why = first_failure(peer.namespace_selector, ns_labels)
        if why is not None:
            return f"namespaceSelector {peer.namespace_selector}: namespace {other.namespace} {why}"
    if peer.pod_selector is not None:
        why = first_failure(peer.pod_selector, other.labels)
        if why is not None:
            return f"podSelector {peer.pod_selector}: {other.key} {why}"
    return f"{peer} matches"  # pragma: no cover - only called on a miss
