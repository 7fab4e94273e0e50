"""A semantic diff of two versions of a cluster: what connections open and close, and why.

The diff is *semantic*: it compares the allowed connections of every pair of endpoints (over
the whole port space, :mod:`podwall.core.matrix_ports`), never the YAML. Reformatting, reordering,
renaming a policy with the same content, or splitting a policy into equivalent ones changes no
connection, so it reports nothing. Only then are *causes* attributed to the pairs that changed:

* policies are matched by key (``ns/name``) and sorted into added, removed and edited; an
  edited policy's rules are matched by content, then by position (see :func:`rule_fields`);
* a connection opened in a direction (egress at the source, ingress at the destination) is
  caused by a rule of the new version that allows it and is new there (its policy added, the
  rule added or edited, or the policy newly selecting the endpoint), or, when the endpoint is no
  longer isolated for that direction, by the old policies that isolated it and no longer do;
* a closed connection, the mirror image: an old rule that allowed it and is gone or edited, or a
  policy that newly isolates the endpoint;
* what no policy explains is put down to the endpoints themselves (labels, ports, addresses)
  or their namespace's labels.

Causes name a *policy key* and a *rule label* (``ingress rule #1``, ``egress isolation``), so
that other policy kinds (cluster-wide tiers) fit the same shape with a ``tier``.

This module holds the result types and the policy-level analysis (pure, stdlib only); the
all-pairs comparison is :func:`podwall.core.matrix_diff.compute_diff`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import field as _field

from podwall.core.model import Direction, Endpoint, Peer, Policy, PortSpec, Rule, TierPolicy, TierRule
from podwall.core.portsets import PortSet

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
NEW_ENDPOINT, REMOVED_ENDPOINT = "new endpoint", "removed endpoint"
CHANGE_ORDER = (CHANGED, ADDED, REMOVED, NEW_ENDPOINT, REMOVED_ENDPOINT)
"""The order changes are listed in (as netpol-analyzer does: changed, added, removed)."""


@dataclass(frozen=True, kw_only=True)
class Cause:
    """A policy change (or an endpoint change) that makes a pair's connections differ."""

    policy: str | None
    """The policy key, ``ns/name`` (``None`` when the cause is an endpoint or namespace)."""
    rule: str | None
    """``ingress rule #1``, ``egress rule #2``, or ``ingress isolation`` / ``egress isolation``
    (the policy selecting, or no longer selecting, the endpoint for that direction)."""
    change: str
    """``added``, ``removed`` or ``edited``."""
    field: str | None = None
    """For an edit: the fields that differ, e.g. ``from[0].podSelector``, ``ports[0].port``,
    ``to[1].ipBlock.except``, ``podSelector`` (the policy's own)."""
    tier: str | None = None
    """For cluster-wide policies: the tier (``None`` for a NetworkPolicy)."""
    object: str | None = None
    """When no policy explains the change: the endpoint (``ns/kind/name``) or ``namespace
    NAME`` whose labels, ports or addresses changed."""
    opens: PortSet = _field(default_factory=PortSet.none)
    """The part of the pair's opened connections this change accounts for."""
    closes: PortSet = _field(default_factory=PortSet.none)
    """The part of the pair's closed connections this change accounts for."""

    @property
    def base(self) -> tuple[str, ...]:
        """Everything but the ports: what :func:`merge_causes` merges on."""
        return (self.policy or "", self.rule or "", self.change, self.field or "", self.tier or "", self.object or "")

    def __str__(self) -> str:
        if self.policy is None:
            head = f"{self.object} {self.change}" + (f" ({self.field})" if self.field else "")
        else:
            head = f"{self.policy} {self.rule} {self.change}"
            if self.tier:
                head = f"[{self.tier}] {head}"
            head += f" ({self.field})" if self.field else ""
        effects = [f"{word} {ps}" for word, ps in (("opens", self.opens), ("closes", self.closes)) if ps]
        return head + (": " + ", ".join(effects) if effects else "")


def merge_causes(causes: Sequence[Cause]) -> tuple[Cause, ...]:
    """One cause per policy rule and change (their ports united), sorted."""
    by: dict[tuple[str, ...], Cause] = {}
    for c in causes:
        prev = by.get(c.base)
        by[c.base] = c if prev is None else replace(prev, opens=prev.opens | c.opens, closes=prev.closes | c.closes)
    return tuple(by[k] for k in sorted(by))


@dataclass(frozen=True, kw_only=True)
class PairChange:
    """One endpoint pair (or group pair) whose allowed connections differ."""

    change: str
    """``added`` (nothing before), ``removed`` (nothing after), ``changed``, or ``new
    endpoint`` / ``removed endpoint`` when one end exists on one side only."""
    src: str
    dst: str
    before: PortSet
    after: PortSet
    causes: tuple[Cause, ...] = ()

    @property
    def opened(self) -> PortSet:
        return self.after - self.before

    @property
    def closed(self) -> PortSet:
        return self.before - self.after


@dataclass(frozen=True, kw_only=True)
class Diff:
    """Every pair whose connections differ, and counts."""

    by: str
    """``pod``, ``workload`` or ``namespace``: what a pair's ends are."""
    changes: tuple[PairChange, ...]
    summary: Mapping[str, int] = field(default_factory=dict)
    """``added``, ``removed``, ``changed``, ``unchanged`` (pairs present on both sides), and
    ``new endpoint`` / ``removed endpoint`` (pairs with an end on one side only)."""

    @property
    def opened(self) -> bool:
        """Whether a pair present on both sides gained a connection."""
        return any(c.change in (ADDED, CHANGED) and not c.opened.is_empty for c in self.changes)

    @property
    def closed(self) -> bool:
        """Whether a pair present on both sides lost a connection."""
        return any(c.change in (REMOVED, CHANGED) and not c.closed.is_empty for c in self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)


def change_kind(before: PortSet, after: PortSet) -> str:
    if before.is_empty:
        return ADDED
    if after.is_empty:
        return REMOVED
    return CHANGED


def mirror(d: Diff) -> Diff:
    """The diff the other way round (new to old): what :func:`compute_diff` with the sides
    swapped must return."""
    flip = {ADDED: REMOVED, REMOVED: ADDED, NEW_ENDPOINT: REMOVED_ENDPOINT, REMOVED_ENDPOINT: NEW_ENDPOINT}
    changes = tuple(
        PairChange(
            change=flip.get(c.change, c.change),
            src=c.src,
            dst=c.dst,
            before=c.after,
            after=c.before,
            causes=merge_causes(
                [replace(x, change=flip.get(x.change, x.change), opens=x.closes, closes=x.opens) for x in c.causes]
            ),
        )
        for c in d.changes
    )
    summary = {flip.get(k, k): v for k, v in d.summary.items()}
    return Diff(by=d.by, changes=sort_changes(changes), summary=summary)


def sort_changes(changes: Sequence[PairChange]) -> tuple[PairChange, ...]:
    return tuple(sorted(changes, key=lambda c: (CHANGE_ORDER.index(c.change), c.src, c.dst)))


# -- policies and rules ------------------------------------------------------------------------
def policy_content(p: Policy) -> tuple[object, ...]:
    """What a policy means, without its name, spans or how its defaults were reached."""
    return (p.namespace, p.pod_selector, p.policy_types, p.ingress, p.egress)


@dataclass(frozen=True, kw_only=True)
class PolicyChanges:
    """Policies matched by key between two versions."""

    old: Mapping[str, Policy]
    new: Mapping[str, Policy]
    added: frozenset[str]
    removed: frozenset[str]
    edited: frozenset[str]

    @property
    def changed(self) -> frozenset[str]:
        return self.added | self.removed | self.edited


def policy_changes(old: Sequence[Policy], new: Sequence[Policy]) -> PolicyChanges:
    om: dict[str, Policy] = {}
    for p in old:
        om.setdefault(p.key, p)
    nm: dict[str, Policy] = {}
    for p in new:
        nm.setdefault(p.key, p)
    edited = frozenset(k for k in om.keys() & nm.keys() if policy_content(om[k]) != policy_content(nm[k]))
    return PolicyChanges(
        old=om, new=nm, added=frozenset(nm.keys() - om.keys()), removed=frozenset(om.keys() - nm.keys()), edited=edited
    )


def policy_fields(old: Policy, new: Policy) -> str | None:
    """The policy-level fields that differ (what decides which endpoints it selects)."""
    out = []
    if old.pod_selector != new.pod_selector:
        out.append("podSelector")
    if old.policy_types != new.policy_types:
        out.append("policyTypes")
    return ", ".join(out) or None


def _peer_fields(prefix: str, a: Peer, b: Peer) -> list[str]:
    out = []
    if a.pod_selector != b.pod_selector:
        out.append(f"{prefix}.podSelector")
    if a.namespace_selector != b.namespace_selector:
        out.append(f"{prefix}.namespaceSelector")
    if (a.ip_block is None) != (b.ip_block is None):
        out.append(f"{prefix}.ipBlock")
    elif a.ip_block is not None and b.ip_block is not None:
        if a.ip_block.network != b.ip_block.network:
            out.append(f"{prefix}.ipBlock.cidr")
        if a.ip_block.except_networks != b.ip_block.except_networks:
            out.append(f"{prefix}.ipBlock.except")
    return out


def _port_fields(prefix: str, a: PortSpec, b: PortSpec) -> list[str]:
    out = []
    if a.protocol is not b.protocol:
        out.append(f"{prefix}.protocol")
    if a.port != b.port:
        out.append(f"{prefix}.port")
    if a.end_port != b.end_port:
        out.append(f"{prefix}.endPort")
    return out


def rule_fields(old: Rule, new: Rule, direction: Direction) -> str:
    """The fields of a rule that differ, as paths inside the rule (``from[0].podSelector``,
    ``from[1]`` for an entry on one side only, ``ports[0].port``)."""
    word = "from" if direction is Direction.INGRESS else "to"
    out: list[str] = []
    if (not old.peers) != (not new.peers):
        out.append(word)
    else:
        for i in range(max(len(old.peers), len(new.peers))):
            if i >= len(old.peers) or i >= len(new.peers):
                out.append(f"{word}[{i}]")
            else:
                out.extend(_peer_fields(f"{word}[{i}]", old.peers[i], new.peers[i]))
    if (not old.ports) != (not new.ports):
        out.append("ports")
    else:
        for i in range(max(len(old.ports), len(new.ports))):
            if i >= len(old.ports) or i >= len(new.ports):
                out.append(f"ports[{i}]")
            else:
                out.extend(_port_fields(f"ports[{i}]", old.ports[i], new.ports[i]))
    return ", ".join(out) or "order"


# -- cluster-wide policies -----------------------------------------------------------------------
def tier_policy_content(p: TierPolicy) -> tuple[object, ...]:
    """What a cluster-wide policy means, without its spans (its name orders same-priority ties)."""
    return (p.api_kind, p.name, p.tier, p.priority, p.subject, p.ingress, p.egress)


@dataclass(frozen=True, kw_only=True)
class TierChanges:
    """Cluster-wide policies matched by key (``ClusterNetworkPolicy/name``) between two versions."""

    old: Mapping[str, TierPolicy]
    new: Mapping[str, TierPolicy]
    changed: frozenset[str]
    """Added, removed or edited."""


def tier_changes(old: Sequence[TierPolicy], new: Sequence[TierPolicy]) -> TierChanges:
    om = {p.key: p for p in reversed(old)}
    nm = {p.key: p for p in reversed(new)}
    changed = {k for k in om.keys() ^ nm.keys()}
    changed |= {k for k in om.keys() & nm.keys() if tier_policy_content(om[k]) != tier_policy_content(nm[k])}
    return TierChanges(old=om, new=nm, changed=frozenset(changed))


def tier_policy_fields(old: TierPolicy, new: TierPolicy) -> list[str]:
    """The policy-level fields that differ: what decides where its rules stand and whom they apply to."""
    out = []
    if old.priority != new.priority:
        out.append("priority")
    if old.subject != new.subject:
        out.append("subject")
    return out


def tier_rule_fields(old: TierRule, new: TierRule, direction: Direction, api_kind: str) -> list[str]:
    """The fields of a cluster-wide rule that differ (``action``, ``to[1]``, ``protocols``)."""
    word = "from" if direction is Direction.INGRESS else "to"
    out = []
    if old.name != new.name:
        out.append("name")
    if old.action is not new.action:
        out.append("action")
    for i in range(max(len(old.peers), len(new.peers))):
        if i >= len(old.peers) or i >= len(new.peers) or old.peers[i] != new.peers[i]:
            out.append(f"{word}[{i}]")
    if old.ports != new.ports:
        out.append("protocols" if api_kind == "ClusterNetworkPolicy" else "ports")
    return out


def rule_label(direction: Direction, index: int) -> str:
    return f"{direction.value.lower()} rule #{index + 1}"


def isolation_label(direction: Direction) -> str:
    return f"{direction.value.lower()} isolation"


def endpoint_fields(old: Endpoint, new: Endpoint) -> str | None:
    """What differs between two versions of an endpoint, as far as policies can tell."""
    out = []
    if dict(old.labels) != dict(new.labels):
        out.append("labels")
    if old.ports != new.ports:
        out.append("ports")
    if old.ips != new.ips:
        out.append("addresses")
    if old.host_network != new.host_network:
        out.append("hostNetwork")
    return ", ".join(out) or None


__all__ = [
    "ADDED",
    "CHANGED",
    "NEW_ENDPOINT",
    "REMOVED",
    "REMOVED_ENDPOINT",
    "Cause",
    "Diff",
    "PairChange",
    "PolicyChanges",
    "TierChanges",
    "change_kind",
    "endpoint_fields",
    "isolation_label",
    "merge_causes",
    "mirror",
    "policy_changes",
    "policy_fields",
    "rule_fields",
    "rule_label",
    "sort_changes",
    "tier_changes",
    "tier_policy_fields",
    "tier_rule_fields",
]
