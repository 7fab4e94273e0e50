"""Equivalence classes of endpoints, and the all-pairs reachability computed once per class.

Why: a cluster has thousands of pods but far fewer *kinds* of pod. Two endpoints are equivalent
when nothing in the input can tell them apart:

* same namespace (policies select in their own namespace, and peers without a
  ``namespaceSelector`` mean "the policy's namespace"), hence the same namespace labels;
* the same answer to every pod selector: only label keys that some selector mentions count, and
  under such a key only values that some selector mentions (any other value behaves alike);
* the same declared container ports, in the same order (they are the checked ports, and named
  ports resolve on them);
* the same hostNetwork treatment, and IPs in the same ipBlock *atoms* (the intervals between
  consecutive cidr/except boundaries), so every ipBlock contains both or neither.

Verdicts are then computed per class pair, and per *column*: a (destination class, checked
port) pair. Everything is a boolean vector or matrix over classes (numpy), so no Python loop
runs per pod pair:

* a rule's peers become a vector over classes (selectors evaluated with an inverted label index);
* a rule's ``ports`` against a column depends only on the column's *port type* (protocol, number,
  and the container-port names that mean this number on the destination); a small table
  ``ports-list x port-type`` is filled with :func:`podwall.core.ports.ports_match` itself;
* egress at source class ``a`` allows column ``c`` iff ``a`` is not isolated for egress, or some
  rule of a policy selecting ``a`` matches ``c``'s class as a peer and admits ``c``'s port. Rows
  are shared by every class with the same set of selecting policies;
* ingress at column ``c`` allows source class ``a`` iff the destination class is not isolated for
  ingress, or some admitting rule of a policy selecting it has ``a`` among its peers. Columns with
  the same selecting policies and port type share one source vector.

Cluster-wide tiers (Admin and Baseline policies) add to the class signature and rewrite the
egress rows and ingress source vectors before they are combined: :mod:`podwall.core.tier_classes`.

The result is a bit matrix (classes x columns, packed 8 per byte) plus the endpoint-to-class
map: the complete pod-level answer in compressed form. :func:`podwall.core.reachability.matrix`
wraps it; :func:`podwall.core.reachability.reference_matrix` is the per-pair oracle it is tested
against. Pure computation: no I/O; progress is reported through an optional callback.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from podwall.core.columns import PortKey, Progress, checked_ports
from podwall.core.model import (
    Cluster,
    ContainerPort,
    Direction,
    Endpoint,
    IPBlock,
    LabelSelector,
    Operator,
    Options,
    Peer,
    Policy,
    PortSpec,
    Protocol,
    Rule,
)
from podwall.core.peers import is_node_traffic
from podwall.core.ports import ports_match
from podwall.core.selectors import matches
from podwall.core.tier_classes import TierAtoms, TierVectors, apply_tiers, tier_pod_selectors

BoolVec = npt.NDArray[np.bool_]

_OTHER = ("other",)  # a label value no selector mentions
_V6_OFFSET = 1 << 32  # IPv6 addresses are mapped above the IPv4 space
_BLOCK_CELLS = 1 << 24  # cells per row block when combining egress and ingress


def _ip_int(ip: str) -> int:
    parts = ip.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and (p == "0" or p[0] != "0") for p in parts):
        a, b, c, d = (int(p) for p in parts)  # IPv4, the common case, without ipaddress objects
        if max(a, b, c, d) <= 255:
            return (a << 24) | (b << 16) | (c << 8) | d
    addr = ipaddress.ip_address(ip)
    return int(addr) + (_V6_OFFSET if addr.version == 6 else 0)


def _net_range(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    off = _V6_OFFSET if net.version == 6 else 0
    return int(net.network_address) + off, int(net.broadcast_address) + off


class _Atoms:
    """The intervals between consecutive ipBlock boundaries; an IP's atom decides every ipBlock."""

    def __init__(self, blocks: Sequence[IPBlock]) -> None:
        bounds: set[int] = set()
        for b in blocks:
            for net in (b.network, *b.except_networks):
                lo, hi = _net_range(net)
                bounds.add(lo)
                bounds.add(hi + 1)
        self.bounds = sorted(bounds)

    def of(self, ip_value: int) -> int:
        return bisect.bisect_right(self.bounds, ip_value)

    def span(self, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
        """First and last atom (inclusive) inside ``net``."""
        lo, hi = _net_range(net)
        return bisect.bisect_right(self.bounds, lo), bisect.bisect_right(self.bounds, hi)


def _selectors(policies: Sequence[Policy]) -> tuple[list[LabelSelector], list[LabelSelector], list[IPBlock]]:
    pod_sels: dict[LabelSelector, None] = {}
    ns_sels: dict[LabelSelector, None] = {}
    blocks: dict[IPBlock, None] = {}
    for pol in policies:
        pod_sels[pol.pod_selector] = None
        for rule in (*pol.ingress, *pol.egress):
            for peer in rule.peers:
                if peer.pod_selector is not None:
                    pod_sels[peer.pod_selector] = None
                if peer.namespace_selector is not None:
                    ns_sels[peer.namespace_selector] = None
                if peer.ip_block is not None:
                    blocks[peer.ip_block] = None
    return list(pod_sels), list(ns_sels), list(blocks)


def _mentioned(selectors: Sequence[LabelSelector]) -> dict[str, frozenset[str]]:
    """Label keys that selectors look at, with the values they name under each key."""
    out: dict[str, set[str]] = {}
    for sel in selectors:
        for k, v in sel.match_labels:
            out.setdefault(k, set()).add(v)
        for req in sel.match_expressions:
            out.setdefault(req.key, set()).update(req.values)
    return {k: frozenset(v) for k, v in out.items()}


class Classes:
    """Endpoints grouped into equivalence classes (see the module docstring).

    ``extra_policies`` are policies that are not in the cluster but whose selectors must be
    told apart too (lint checks candidate fixes against classes that distinguish them).
    """

    def __init__(
        self,
        cluster: Cluster,
        options: Options,
        endpoints: Sequence[Endpoint],
        *,
        extra_policies: Sequence[Policy] = (),
    ) -> None:
        self.cluster = cluster
        self.options = options
        self.endpoints = tuple(endpoints)
        policies = (*cluster.policies, *extra_policies)
        pod_sels, ns_sels, blocks = _selectors(policies)
        self.ns_selectors = ns_sels
        self.blocks = blocks
        tier_atoms = TierAtoms(cluster, options) if cluster.tier_policies else None
        mentioned = _mentioned(pod_sels + tier_pod_selectors(cluster))
        self._mentioned = mentioned
        self._atoms = _Atoms(blocks) if blocks else None
        tier_keys = tier_atoms.class_keys(self.endpoints) if tier_atoms is not None else None
        rep_atoms, rep_tier = self._assign(mentioned, tier_keys)
        self._class_arrays(policies)
        self._label_index(mentioned)
        self._atom_index(rep_atoms)
        self._sel_cache: dict[LabelSelector, BoolVec] = {}
        self._ns_cache: dict[LabelSelector, BoolVec] = {}
        self._block_cache: dict[IPBlock, BoolVec] = {}
        self._ns_eq_cache: dict[str, BoolVec] = {}
        self.tiers = TierVectors(self, tier_atoms, rep_tier) if tier_atoms is not None else None
        """The cluster-wide tiers over classes (``None`` without them)."""

    def covers(self, policies: Sequence[Policy]) -> bool:
        """Whether these classes already tell apart everything ``policies`` can (so they need
        not be rebuilt with them as ``extra_policies``)."""
        pod_sels, _ns_sels, blocks = _selectors(policies)
        known = set(self.blocks)
        if any(b not in known for b in blocks):
            return False
        for k, values in _mentioned(pod_sels).items():
            if not values <= self._mentioned.get(k, frozenset()) or (k not in self._mentioned):
                return False
        return True

    # -- construction phases -------------------------------------------------------------------
    def _assign(
        self, mentioned: dict[str, frozenset[str]], tier_keys: Sequence[Any] | None
    ) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
        """Put every endpoint in its class by signature; returns the classes' ipBlock atoms and
        their tier keys (what the cluster-wide tiers can tell apart)."""
        options, atoms = self.options, self._atoms
        keys = sorted(mentioned)
        ip_atoms: dict[str, int] = {}
        index: dict[tuple[Any, ...], int] = {}
        cls = np.empty(len(self.endpoints), dtype=np.int32)
        reps: list[Endpoint] = []
        rep_atoms: list[tuple[int, ...]] = []
        rep_tier: list[tuple[int, ...]] = []
        members: list[int] = []
        for i, ep in enumerate(self.endpoints):
            node = is_node_traffic(ep, options)
            labels = ep.labels
            sig: list[object] = []
            for k in keys:
                v = labels.get(k)
                if v is not None and v not in mentioned[k]:
                    sig.append(_OTHER)
                else:
                    sig.append(v)
            eps_atoms: tuple[int, ...] = ()
            if atoms is not None and ep.ips and (options.ipblock_matches_pods or node):
                found = []
                for ip in ep.ips:
                    a = ip_atoms.get(ip)
                    if a is None:
                        a = ip_atoms[ip] = atoms.of(_ip_int(ip))
                    found.append(a)
                eps_atoms = tuple(sorted(set(found)))
            tier_key = tier_keys[i] if tier_keys is not None else ()
            key = (ep.namespace, node, tuple(sig), ep.ports, eps_atoms, tier_key)
            c = index.get(key)
            if c is None:
                c = index[key] = len(reps)
                reps.append(ep)
                rep_tier.append(tier_key[1] if tier_key else ())
                rep_atoms.append(eps_atoms)
                members.append(0)
            cls[i] = c
            members[c] += 1
        self.cls = cls
        """Class of each endpoint."""
        self.reps = reps
        """One endpoint per class (the first one met)."""
        self.sizes = np.asarray(members, dtype=np.int64)
        self.n = len(reps)
        return rep_atoms, rep_tier

    def _class_arrays(self, policies: Sequence[Policy]) -> None:
        """Per-class namespace and hostNetwork vectors."""
        reps = self.reps
        ns_names = sorted({r.namespace for r in reps} | {p.namespace for p in policies})
        self.ns_index = {name: k for k, name in enumerate(ns_names)}
        self.ns_names = ns_names
        self.class_ns = np.asarray([self.ns_index[r.namespace] for r in reps], dtype=np.int32)
        self.class_node = np.asarray([is_node_traffic(r, self.options) for r in reps], dtype=np.bool_)
        self.not_node = ~self.class_node

    def _label_index(self, mentioned: dict[str, frozenset[str]]) -> None:
        """The inverted label index over classes: ``(key, value) -> classes`` and ``key -> classes``."""
        keys = sorted(mentioned)
        self._eq: dict[tuple[str, str], list[int]] = {}
        self._has: dict[str, list[int]] = {}
        for c, r in enumerate(self.reps):
            for k in keys:
                v = r.labels.get(k)
                if v is None:
                    continue
                self._has.setdefault(k, []).append(c)
                if v in mentioned[k]:
                    self._eq.setdefault((k, v), []).append(c)

    def _atom_index(self, rep_atoms: list[tuple[int, ...]]) -> None:
        """The classes' ipBlock atoms, flattened into parallel (class, atom) arrays."""
        flat_c: list[int] = []
        flat_a: list[int] = []
        for c, at in enumerate(rep_atoms):
            for a in at:
                flat_c.append(c)
                flat_a.append(a)
        self._flat_cls = np.asarray(flat_c, dtype=np.int64)
        self._flat_atom = np.asarray(flat_a, dtype=np.int64)

    # -- vectors over classes ----------------------------------------------------------------
    def _vec(self, idx: list[int] | None) -> BoolVec:
        v = np.zeros(self.n, dtype=np.bool_)
        if idx:
            v[idx] = True
        return v

    def pod_selector(self, sel: LabelSelector) -> BoolVec:
        """Classes whose pod labels ``sel`` selects (ignoring namespaces and hostNetwork)."""
        hit = self._sel_cache.get(sel)
        if hit is not None:
            return hit
        v = np.ones(self.n, dtype=np.bool_)
        for k, val in sel.match_labels:
            v &= self._vec(self._eq.get((k, val)))
        for req in sel.match_expressions:
            if req.operator is Operator.IN or req.operator is Operator.NOT_IN:
                any_of = np.zeros(self.n, dtype=np.bool_)
                for val in req.values:
                    idx = self._eq.get((req.key, val))
                    if idx:
                        any_of[idx] = True
                v &= any_of if req.operator is Operator.IN else ~any_of
            else:
                has = self._vec(self._has.get(req.key))
                v &= has if req.operator is Operator.EXISTS else ~has
        self._sel_cache[sel] = v
        return v

    def namespace_selector(self, sel: LabelSelector) -> BoolVec:
        """Classes whose namespace ``sel`` selects."""
        hit = self._ns_cache.get(sel)
        if hit is not None:
            return hit
        labels = self.cluster.namespace_labels
        per_ns = np.asarray([matches(sel, labels(name)) for name in self.ns_names], dtype=np.bool_)
        v = per_ns[self.class_ns] if self.n else np.zeros(0, dtype=np.bool_)
        self._ns_cache[sel] = v
        return v

    def in_namespace(self, name: str) -> BoolVec:
        hit = self._ns_eq_cache.get(name)
        if hit is None:
            k = self.ns_index.get(name, -1)
            hit = self._ns_eq_cache[name] = self.class_ns == k
        return hit

    def ip_block(self, block: IPBlock) -> BoolVec:
        """Classes with an IP inside ``block`` (only IPs that ipBlocks may match are kept)."""
        hit = self._block_cache.get(block)
        if hit is not None:
            return hit
        v = np.zeros(self.n, dtype=np.bool_)
        if self._atoms is not None and len(self._flat_atom):
            fa = self._flat_atom
            p, q = self._atoms.span(block.network)
            m = (fa >= p) & (fa <= q)
            for exc in block.except_networks:
                if exc.version != block.network.version:
                    continue
                pe, qe = self._atoms.span(exc)
                m &= ~((fa >= pe) & (fa <= qe))
            v[self._flat_cls[m]] = True
        self._block_cache[block] = v
        return v

    def peer(self, peer: Peer, policy_namespace: str) -> BoolVec:
        """Classes that ``peer`` (of a policy in ``policy_namespace``) matches; as ``peer_matches``."""
        if peer.ip_block is not None:
            return self.ip_block(peer.ip_block)
        v = self.not_node.copy()
        if peer.namespace_selector is None:
            v &= self.in_namespace(policy_namespace)
        else:
            v &= self.namespace_selector(peer.namespace_selector)
        if peer.pod_selector is not None:
            v &= self.pod_selector(peer.pod_selector)
        return v

    def rule_peers(self, rule: Rule, policy_namespace: str) -> BoolVec:
        if not rule.peers:
            return np.ones(self.n, dtype=np.bool_)
        v = np.zeros(self.n, dtype=np.bool_)
        for p in rule.peers:
            v |= self.peer(p, policy_namespace)
        return v

    def selected(self, pol: Policy) -> BoolVec:
        """Classes that ``pol`` selects (its namespace, its pod selector, not node traffic)."""
        return self.in_namespace(pol.namespace) & self.not_node & self.pod_selector(pol.pod_selector)


class PortTable:
    """Whether a ``ports`` list admits a column, by the column's port type, via ``ports_match``."""

    def __init__(self) -> None:
        self.types: dict[tuple[Protocol, int, frozenset[str]], int] = {}
        self.type_eps: list[tuple[int, Protocol, Endpoint]] = []
        self.lists: dict[tuple[PortSpec, ...], int] = {}
        self._rows: dict[tuple[int, int], bool] = {}

    def type_of(self, pk: PortKey, dst: Endpoint) -> int:
        proto, num = pk
        names = frozenset(cp.name for cp in dst.ports if cp.name and cp.protocol is proto and cp.port == num)
        key = (proto, num, names)
        t = self.types.get(key)
        if t is None:
            t = self.types[key] = len(self.type_eps)
            fake = Endpoint(
                kind="Pod",
                namespace="",
                name="",
                ports=tuple(ContainerPort(port=num, protocol=proto, name=n) for n in sorted(names)),
            )
            self.type_eps.append((num, proto, fake))
        return t

    def list_id(self, specs: tuple[PortSpec, ...]) -> int:
        i = self.lists.get(specs)
        if i is None:
            i = self.lists[specs] = len(self.lists)
        return i

    def table(self) -> npt.NDArray[np.bool_]:
        """``[list_id, type_id]``: does the ports list admit the port type."""
        t = np.zeros((len(self.lists), len(self.type_eps)), dtype=np.bool_)
        for specs, i in self.lists.items():
            for j, (num, proto, fake) in enumerate(self.type_eps):
                t[i, j] = ports_match(specs, num, proto, fake)
        return t


class Compiled:
    """The whole reachability in class form: ``bits[class(src), column]`` (packed, big-endian bits).

    Column ``col_start[b] + k`` is the ``k``-th checked port (``checked[b][k]``) of class ``b``.
    """

    def __init__(
        self,
        classes: Classes,
        checked: list[tuple[PortKey, ...]],
        col_start: npt.NDArray[np.int64],
        bits: npt.NDArray[np.uint8],
    ) -> None:
        self.classes = classes
        self.checked = checked
        self.col_start = col_start
        self.bits = bits

    @property
    def n_columns(self) -> int:
        return int(self.col_start[-1])

    def row(self, a: int) -> npt.NDArray[np.bool_]:
        """All columns of source class ``a`` as booleans."""
        return np.unpackbits(self.bits[a], count=self.n_columns).astype(np.bool_)

    def allowed(self, a: int, b: int) -> tuple[PortKey, ...]:
        start = int(self.col_start[b])
        row = self.bits[a]
        out = []
        for k, pk in enumerate(self.checked[b]):
            c = start + k
            if (row[c >> 3] >> (7 - (c & 7))) & 1:
                out.append(pk)
        return tuple(out)

    def iter_counts(self) -> Iterator[tuple[int, npt.NDArray[np.int32]]]:
        """Row blocks ``(a0, block)`` of the class x class count matrix (see :meth:`counts`),
        so that callers can reduce it without holding all of it."""
        n = self.classes.n
        if n == 0:
            return
        widths = np.diff(self.col_start)
        nonempty = widths > 0
        starts = self.col_start[:-1][nonempty]
        step = max(1, _BLOCK_CELLS // max(1, self.n_columns, n))
        for a0 in range(0, n, step):
            a1 = min(n, a0 + step)
            out = np.zeros((a1 - a0, n), dtype=np.int32)
            if len(starts):
                block = np.unpackbits(self.bits[a0:a1], axis=1, count=self.n_columns)
                out[:, nonempty] = np.add.reduceat(block, starts, axis=1, dtype=np.int32)
            yield a0, out

    def counts(self) -> npt.NDArray[np.int32]:
        """``[a, b]``: how many checked ports of class ``b`` class ``a`` may reach."""
        n = self.classes.n
        out = np.zeros((n, n), dtype=np.int32)
        for a0, block in self.iter_counts():
            out[a0 : a0 + len(block)] = block
        return out

    def states(self) -> npt.NDArray[np.uint8]:
        """``[a, b]``: 1 all checked ports of ``b`` reachable, 2 none, 4 some, 0 nothing to check."""
        n = self.classes.n
        widths = np.diff(self.col_start)
        out = np.zeros((n, n), dtype=np.uint8)
        for a0, block in self.iter_counts():
            st = np.where(block == widths[None, :], 1, np.where(block == 0, 2, 4)).astype(np.uint8)
            st[:, widths == 0] = 0
            out[a0 : a0 + len(block)] = st
        return out


class Columns:
    """The columns of the class matrix: one per (destination class, checked port)."""

    def __init__(self, cl: Classes, pt: PortTable, port: int | None, protocol: Protocol) -> None:
        n = cl.n
        self.checked = [checked_ports(r, port, protocol) for r in cl.reps]
        """The checked ports of each class."""
        widths = np.asarray([len(k) for k in self.checked], dtype=np.int64)
        self.widths = widths
        self.start = np.zeros(n + 1, dtype=np.int64)
        """Column ``start[b] + k`` is the ``k``-th checked port of class ``b``."""
        np.cumsum(widths, out=self.start[1:])
        self.n = int(self.start[-1])
        self.cls = np.repeat(np.arange(n, dtype=np.int64), widths)
        """The destination class of each column."""
        self.type = np.asarray(
            [pt.type_of(pk, r) for r, ks in zip(cl.reps, self.checked, strict=True) for pk in ks], dtype=np.int64
        )
        """The port type of each column (see :class:`PortTable`)."""

    def of(self, b: int) -> range:
        return range(int(self.start[b]), int(self.start[b + 1]))


RuleEntry = tuple[int, int]
"""A rule as ``(peer vector id, ports list id)``."""


class PolicyIndex:
    """Policies as vectors: which classes each one selects, and its rules as (peers, ports) ids.

    Peer vectors are shared by every rule with the same peers (and, for peers that mean "the
    policy's namespace", the same namespace).
    """

    def __init__(self, cl: Classes, pt: PortTable) -> None:
        self.cl = cl
        self.pt = pt
        self.peer_vecs: list[BoolVec] = []
        self._peer_ids: dict[tuple[Any, ...], int] = {}

    def rule_entry(self, rule: Rule, ns: str) -> RuleEntry:
        own_ns = any(p.namespace_selector is None and p.ip_block is None for p in rule.peers)
        key = (rule.peers, ns if own_ns else "")
        pid = self._peer_ids.get(key)
        if pid is None:
            pid = self._peer_ids[key] = len(self.peer_vecs)
            self.peer_vecs.append(self.cl.rule_peers(rule, ns))
        return pid, self.pt.list_id(rule.ports)

    def selected(self, pol: Policy) -> npt.NDArray[np.int64]:
        """The classes ``pol`` selects, as indices."""
        if pol.namespace not in self.cl.ns_index:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.cl.selected(pol))

    def entries(self, pol: Policy, direction: Direction) -> list[RuleEntry]:
        """The rules of ``pol`` for ``direction`` (none when it does not govern that direction)."""
        if direction not in pol.policy_types:
            return []
        return [self.rule_entry(r, pol.namespace) for r in pol.rules(direction)]


class PolicyRules:
    """For every class, the policies selecting it per direction; for every policy, its rules."""

    def __init__(self, index: PolicyIndex, policies: Sequence[Policy], progress: Progress | None) -> None:
        n = index.cl.n
        self.egress_of: list[list[int]] = [[] for _ in range(n)]
        self.ingress_of: list[list[int]] = [[] for _ in range(n)]
        self.rules_e: list[list[RuleEntry]] = []
        self.rules_i: list[list[RuleEntry]] = []
        for k, pol in enumerate(policies):
            if progress is not None and k % 200 == 0:
                progress("policies", k, len(policies))
            sel_classes = index.selected(pol).tolist()
            self.rules_e.append(index.entries(pol, Direction.EGRESS) if sel_classes else [])
            self.rules_i.append(index.entries(pol, Direction.INGRESS) if sel_classes else [])
            egress, ingress = Direction.EGRESS in pol.policy_types, Direction.INGRESS in pol.policy_types
            for c in sel_classes:
                if egress:
                    self.egress_of[c].append(k)
                if ingress:
                    self.ingress_of[c].append(k)


class Admits:
    """``ports list x column``: whether a rule's ports admit each column (one vector per list)."""

    def __init__(self, pt: PortTable, cols: Columns) -> None:
        self.table = pt.table()
        self._cols = cols
        self._vecs: dict[int, BoolVec] = {}

    def __call__(self, list_id: int) -> BoolVec:
        v = self._vecs.get(list_id)
        if v is None:
            v = self._vecs[list_id] = self.table[list_id][self._cols.type] if self._cols.n else np.zeros(0, np.bool_)
        return v


def egress_row(
    entries: Iterable[RuleEntry], peer_vecs: Sequence[BoolVec], cols: Columns, admits: Admits
) -> BoolVec:
    """The columns an egress-isolated class may send to, given the rules of its policies."""
    by_list: dict[int, BoolVec] = {}
    for pid, lid in entries:
        u = by_list.get(lid)
        by_list[lid] = peer_vecs[pid] if u is None else (u | peer_vecs[pid])
    row = np.zeros(cols.n, dtype=np.bool_)
    for lid, u in by_list.items():
        row |= u[cols.cls] & admits(lid)
    return row


def ingress_sources(
    n: int, entries: Iterable[RuleEntry], peer_vecs: Sequence[BoolVec], table: npt.NDArray[np.bool_], port_type: int
) -> BoolVec:
    """The source classes an ingress-isolated column admits, given the rules of its policies."""
    v = np.zeros(n, dtype=np.bool_)
    for pid, lid in entries:
        if table[lid, port_type]:
            v |= peer_vecs[pid]
    return v


class EgressRows:
    """Egress side: ``rows[ids[a]]`` is the packed column row of source class ``a``.

    Rows are shared by every class with the same selecting policies (row 0: not isolated).
    """

    def __init__(self, n: int, cols: Columns, rules: PolicyRules, peer_vecs: Sequence[BoolVec], admits: Admits) -> None:
        self.ids = np.empty(n, dtype=np.int64)
        rows: list[npt.NDArray[np.uint8]] = [np.packbits(np.ones(cols.n, dtype=np.bool_))]
        index: dict[tuple[int, ...], int] = {(): 0}
        for a in range(n):
            sig = tuple(rules.egress_of[a])
            r = index.get(sig)
            if r is None:
                row = egress_row((e for k in sig for e in rules.rules_e[k]), peer_vecs, cols, admits)
                r = index[sig] = len(rows)
                rows.append(np.packbits(row))
            self.ids[a] = r
        self.rows = np.stack(rows) if cols.n else np.zeros((len(rows), 0), dtype=np.uint8)


class IngressColumns:
    """Ingress side: ``vecs[:, col_src[c]]`` are the source classes column ``c`` admits.

    Source vectors are shared by columns with the same selecting policies and port type
    (vector 0: not isolated, every source).
    """

    def __init__(
        self, n: int, cols: Columns, rules: PolicyRules, peer_vecs: Sequence[BoolVec], table: npt.NDArray[np.bool_]
    ) -> None:
        everyone = np.ones(n, dtype=np.bool_)
        vecs: list[BoolVec] = [everyone]
        index: dict[bytes, int] = {everyone.tobytes(): 0}
        self.col_src = np.zeros(cols.n, dtype=np.int64)
        memo: dict[tuple[tuple[int, ...], int], int] = {}
        for b in range(n):
            sig = tuple(rules.ingress_of[b])
            if not sig:
                continue
            for k in cols.of(b):
                t = int(cols.type[k])
                s = memo.get((sig, t))
                if s is None:
                    v = ingress_sources(n, (e for pk in sig for e in rules.rules_i[pk]), peer_vecs, table, t)
                    bkey = v.tobytes()
                    s = index.get(bkey)
                    if s is None:
                        s = index[bkey] = len(vecs)
                        vecs.append(v)
                    memo[(sig, t)] = s
                self.col_src[k] = s
        self.vecs = np.stack(vecs, axis=1)
        """``[source class, source-vector id]``."""


def apply_cluster_tiers(
    cl: Classes, cols: Columns, pt: PortTable, rules: PolicyRules, egress: EgressRows, ingress: IngressColumns
) -> None:
    """Rewrite both sides with the cluster-wide tiers (:mod:`podwall.core.tier_classes`)."""
    assert cl.tiers is not None
    iso_e = [bool(x) for x in rules.egress_of]
    iso_i = [bool(x) for x in rules.ingress_of]
    egress.rows, egress.ids, ingress.vecs, ingress.col_src = apply_tiers(
        cl.tiers, cols.cls, cols.type, cols.start, pt.type_eps, iso_e, egress.rows, egress.ids, iso_i,
        ingress.vecs, ingress.col_src,
    )


def combine(
    n: int, cols: Columns, egress: EgressRows, ingress: IngressColumns, progress: Progress | None
) -> npt.NDArray[np.uint8]:
    """``bits = egress rows & ingress columns``, in row blocks that bound the memory used."""
    bits = np.zeros((n, (cols.n + 7) // 8), dtype=np.uint8)
    step = max(1, _BLOCK_CELLS // max(1, cols.n))
    for a0 in range(0, n, step):
        if progress is not None:
            progress("classes", a0, n)
        a1 = min(n, a0 + step)
        ing = np.packbits(ingress.vecs[a0:a1][:, ingress.col_src], axis=1)
        bits[a0:a1] = egress.rows[egress.ids[a0:a1]] & ing
    if progress is not None:
        progress("classes", n, n)
    return bits


def compile_reachability(
    cluster: Cluster,
    options: Options,
    endpoints: Sequence[Endpoint],
    *,
    port: int | None = None,
    protocol: Protocol = Protocol.TCP,
    progress: Progress | None = None,
) -> Compiled:
    """All-pairs reachability of ``endpoints`` on their checked ports, per class (see module doc).

    Phases: classes, columns, policies (as vectors), egress rows, ingress columns, the
    cluster-wide tiers (when there are any), combine.
    """
    cl = Classes(cluster, options, endpoints)
    pt = PortTable()
    cols = Columns(cl, pt, port, protocol)
    index = PolicyIndex(cl, pt)
    rules = PolicyRules(index, cluster.policies, progress)
    admits = Admits(pt, cols)
    egress = EgressRows(cl.n, cols, rules, index.peer_vecs, admits)
    ingress = IngressColumns(cl.n, cols, rules, index.peer_vecs, admits.table)
    if cl.tiers is not None:
        apply_cluster_tiers(cl, cols, pt, rules, egress, ingress)
    bits = combine(cl.n, cols, egress, ingress, progress)
    return Compiled(cl, cols.checked, cols.start, bits)


__all__ = ["Classes", "Compiled", "compile_reachability"]
