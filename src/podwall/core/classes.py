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
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

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
from podwall.core.reachability import PortKey, Progress, checked_ports
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
    """Endpoints grouped into equivalence classes (see the module docstring)."""

    def __init__(self, cluster: Cluster, options: Options, endpoints: Sequence[Endpoint]) -> None:
        self.cluster = cluster
        self.options = options
        self.endpoints = tuple(endpoints)
        pod_sels, ns_sels, blocks = _selectors(cluster.policies)
        self.ns_selectors = ns_sels
        self.blocks = blocks
        tier_atoms = TierAtoms(cluster, options) if cluster.tier_policies else None
        mentioned = _mentioned(pod_sels + tier_pod_selectors(cluster))
        keys = sorted(mentioned)
        rep_tier: list[tuple[int, ...]] = []
        tier_keys = tier_atoms.class_keys(self.endpoints) if tier_atoms is not None else None
        atoms = _Atoms(blocks) if blocks else None
        self._atoms = atoms
        ip_atoms: dict[str, int] = {}
        index: dict[tuple[Any, ...], int] = {}
        cls = np.empty(len(self.endpoints), dtype=np.int32)
        reps: list[Endpoint] = []
        rep_atoms: list[tuple[int, ...]] = []
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
        n = len(reps)
        self.n = n
        ns_names = sorted({r.namespace for r in reps} | {p.namespace for p in cluster.policies})
        self.ns_index = {name: k for k, name in enumerate(ns_names)}
        self.ns_names = ns_names
        self.class_ns = np.asarray([self.ns_index[r.namespace] for r in reps], dtype=np.int32)
        self.class_node = np.asarray([is_node_traffic(r, options) for r in reps], dtype=np.bool_)
        self.not_node = ~self.class_node
        # inverted label index over classes
        self._eq: dict[tuple[str, str], list[int]] = {}
        self._has: dict[str, list[int]] = {}
        for c, r in enumerate(reps):
            for k in keys:
                v = r.labels.get(k)
                if v is None:
                    continue
                self._has.setdefault(k, []).append(c)
                if v in mentioned[k]:
                    self._eq.setdefault((k, v), []).append(c)
        # ipBlock atoms of classes, flattened
        flat_c: list[int] = []
        flat_a: list[int] = []
        for c, at in enumerate(rep_atoms):
            for a in at:
                flat_c.append(c)
                flat_a.append(a)
        self._flat_cls = np.asarray(flat_c, dtype=np.int64)
        self._flat_atom = np.asarray(flat_a, dtype=np.int64)
        self._sel_cache: dict[LabelSelector, BoolVec] = {}
        self._ns_cache: dict[LabelSelector, BoolVec] = {}
        self._block_cache: dict[IPBlock, BoolVec] = {}
        self._ns_eq_cache: dict[str, BoolVec] = {}
        self.tiers = TierVectors(self, tier_atoms, rep_tier) if tier_atoms is not None else None
        """The cluster-wide tiers over classes (``None`` without them)."""

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
        per_ns = np.asarray(
            [matches(sel, self.cluster.namespace_labels(name)) for name in self.ns_names], dtype=np.bool_
        )
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


class _PortTable:
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


def compile_reachability(
    cluster: Cluster,
    options: Options,
    endpoints: Sequence[Endpoint],
    *,
    port: int | None = None,
    protocol: Protocol = Protocol.TCP,
    progress: Progress | None = None,
) -> Compiled:
    """All-pairs reachability of ``endpoints`` on their checked ports, per class (see module doc)."""
    cl = Classes(cluster, options, endpoints)
    n = cl.n
    pt = _PortTable()
    # columns
    checked = [checked_ports(r, port, protocol) for r in cl.reps]
    widths = np.asarray([len(k) for k in checked], dtype=np.int64)
    col_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(widths, out=col_start[1:])
    n_cols = int(col_start[-1])
    col_class = np.repeat(np.arange(n, dtype=np.int64), widths)
    col_type = np.asarray(
        [pt.type_of(pk, r) for r, ks in zip(cl.reps, checked, strict=False) for pk in ks], dtype=np.int64
    )
    # policies: selected classes, and per rule (peer vector, ports list)
    egress_of: list[list[int]] = [[] for _ in range(n)]
    ingress_of: list[list[int]] = [[] for _ in range(n)]
    pols = cluster.policies
    rules_e: list[list[tuple[int, int]]] = []
    rules_i: list[list[tuple[int, int]]] = []
    peer_vecs: list[BoolVec] = []
    peer_ids: dict[tuple[Any, ...], int] = {}

    def rule_entry(rule: Rule, ns: str) -> tuple[int, int]:
        key = (rule.peers, ns if any(p.namespace_selector is None and p.ip_block is None for p in rule.peers) else "")
        pid = peer_ids.get(key)
        if pid is None:
            pid = peer_ids[key] = len(peer_vecs)
            peer_vecs.append(cl.rule_peers(rule, ns))
        return pid, pt.list_id(rule.ports)

    for k, pol in enumerate(pols):
        if progress is not None and k % 200 == 0:
            progress("policies", k, len(pols))
        sel_classes = np.flatnonzero(cl.selected(pol)) if pol.namespace in cl.ns_index else np.zeros(0, dtype=np.int64)
        rules_e.append(
            [rule_entry(r, pol.namespace) for r in pol.egress]
            if len(sel_classes) and Direction.EGRESS in pol.policy_types
            else []
        )
        rules_i.append(
            [rule_entry(r, pol.namespace) for r in pol.ingress]
            if len(sel_classes) and Direction.INGRESS in pol.policy_types
            else []
        )
        for c in sel_classes.tolist():
            if Direction.EGRESS in pol.policy_types:
                egress_of[c].append(k)
            if Direction.INGRESS in pol.policy_types:
                ingress_of[c].append(k)
    table = pt.table()
    table_cols: dict[int, BoolVec] = {}

    def admits(list_id: int) -> BoolVec:
        v = table_cols.get(list_id)
        if v is None:
            v = table_cols[list_id] = table[list_id][col_type] if n_cols else np.zeros(0, dtype=np.bool_)
        return v

    # egress rows, shared by classes with the same selecting policies
    erow_ids = np.empty(n, dtype=np.int64)
    erows: list[npt.NDArray[np.uint8]] = [np.packbits(np.ones(n_cols, dtype=np.bool_))]
    erow_index: dict[tuple[int, ...], int] = {(): 0}
    for a in range(n):
        sig = tuple(egress_of[a])
        r = erow_index.get(sig)
        if r is None:
            by_list: dict[int, BoolVec] = {}
            for k in sig:
                for pid, lid in rules_e[k]:
                    u = by_list.get(lid)
                    by_list[lid] = peer_vecs[pid] if u is None else (u | peer_vecs[pid])
            row = np.zeros(n_cols, dtype=np.bool_)
            for lid, u in by_list.items():
                row |= u[col_class] & admits(lid)
            r = erow_index[sig] = len(erows)
            erows.append(np.packbits(row))
        erow_ids[a] = r
    erow_mat = np.stack(erows) if n_cols else np.zeros((len(erows), 0), dtype=np.uint8)
    # ingress: per column, the source classes allowed (shared by selecting policies and port type)
    src_vecs: list[BoolVec] = [np.ones(n, dtype=np.bool_)]
    src_index: dict[bytes, int] = {np.ones(n, dtype=np.bool_).tobytes(): 0}
    col_src = np.zeros(n_cols, dtype=np.int64)
    memo: dict[tuple[tuple[int, ...], int], int] = {}
    for b in range(n):
        sig = tuple(ingress_of[b])
        if not sig:
            continue
        for k in range(int(col_start[b]), int(col_start[b + 1])):
            t = int(col_type[k])
            s = memo.get((sig, t))
            if s is None:
                v = np.zeros(n, dtype=np.bool_)
                for pk in sig:
                    for pid, lid in rules_i[pk]:
                        if table[lid, t]:
                            v |= peer_vecs[pid]
                bkey = v.tobytes()
                s = src_index.get(bkey)
                if s is None:
                    s = src_index[bkey] = len(src_vecs)
                    src_vecs.append(v)
                memo[(sig, t)] = s
            col_src[k] = s
    src_t = np.stack(src_vecs, axis=1)  # [source class, source-vector id]
    if cl.tiers is not None:
        iso_e = [bool(x) for x in egress_of]
        iso_i = [bool(x) for x in ingress_of]
        erow_mat, erow_ids, src_t, col_src = apply_tiers(
            cl.tiers, col_class, col_type, col_start, pt.type_eps, iso_e, erow_mat, erow_ids, iso_i, src_t, col_src
        )
    # combine in row blocks: bits = egress rows & ingress columns
    bits = np.zeros((n, (n_cols + 7) // 8), dtype=np.uint8)
    step = max(1, _BLOCK_CELLS // max(1, n_cols))
    for a0 in range(0, n, step):
        if progress is not None:
            progress("classes", a0, n)
        a1 = min(n, a0 + step)
        ing = np.packbits(src_t[a0:a1][:, col_src], axis=1)
        bits[a0:a1] = erow_mat[erow_ids[a0:a1]] & ing
    if progress is not None:
        progress("classes", n, n)
    return Compiled(cl, checked, col_start, bits)


__all__ = ["Classes", "Compiled", "compile_reachability"]
