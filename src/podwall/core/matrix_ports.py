"""All-pairs allowed connections over the whole port space, computed per equivalence class.

:func:`podwall.core.connectivity.connections` answers one pair; this module answers all of them
at once, the way :mod:`podwall.core.classes` does for checked ports, so that it scales:

* endpoints are grouped into the same classes (:class:`~podwall.core.classes.Classes`: nothing
  in the policies can tell two members of a class apart, declared ports included, so named ports
  resolve alike on them); addresses outside the cluster are the
  :class:`~podwall.core.connectivity.AddressRange`\\ s;
* the port space is cut into *port atoms*: per protocol, the intervals between consecutive
  boundaries of every numeric port, ``endPort`` range and declared container port (what a named
  port resolves to). Every rule's port set is a union of atoms, so a set of connections is a
  bit mask over atoms (``W`` 64-bit words);
* egress at a source depends only on the set of policies selecting it for egress (its *egress
  signature*) and on the destination: ``E[signature, destination]`` is a mask, the union over
  the signature's rules whose peers contain the destination of the rule's ports resolved on the
  destination;
* ingress at a destination depends on its ingress signature and its declared ports, and on the
  source: ``I[column, source]``;
* a cell is ``E[esig(a), b] & I[icol(b), a]``; a pod reaches itself on everything.

Masks are numpy ``uint64`` arrays; the class-level tables are ``(signatures, classes + ranges,
W)``. Pure computation: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from podwall.core.classes import Classes
from podwall.core.connectivity import AddressRange, address_ranges, rule_ports
from podwall.core.matrix_tiers import TierMasks, ranges_in
from podwall.core.model import (
    Cluster,
    ContainerPort,
    Direction,
    Endpoint,
    IPBlock,
    Options,
    Policy,
    PortSpec,
    Protocol,
    Rule,
)
from podwall.core.names import group_key
from podwall.core.portsets import MAX_PORT, MIN_PORT, PROTOCOLS, PortSet

Words = npt.NDArray[np.uint64]
BoolVec = npt.NDArray[np.bool_]
Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called now and then during long computations."""


class PortAtoms:
    """The port space cut at every boundary the inputs use; a port set becomes a bit mask."""

    def __init__(self, starts: dict[Protocol, Sequence[int]]) -> None:
        atoms: list[tuple[Protocol, int, int]] = []
        for p in PROTOCOLS:
            st = sorted({MIN_PORT, *(s for s in starts.get(p, ()) if MIN_PORT < s <= MAX_PORT)})
            ends = [*(s - 1 for s in st[1:]), MAX_PORT]
            atoms.extend((p, lo, hi) for lo, hi in zip(st, ends, strict=True))
        self.atoms = tuple(atoms)
        self.n = len(atoms)
        self.words = (self.n + 63) // 64
        self._index = {(p, lo): k for k, (p, lo, _) in enumerate(atoms)}
        self.all_mask = (1 << self.n) - 1
        self._ps_cache: dict[int, PortSet] = {}

    @classmethod
    def for_clusters(cls, clusters: Sequence[Cluster]) -> PortAtoms:
        """Atoms fine enough for every rule of ``clusters`` towards every endpoint of them."""
        starts: dict[Protocol, set[int]] = {p: set() for p in PROTOCOLS}
        for c in clusters:
            for pol in c.policies:
                for rule in (*pol.ingress, *pol.egress):
                    for spec in rule.ports:
                        if isinstance(spec.port, int):
                            hi = spec.end_port if spec.end_port is not None else spec.port
                            starts[spec.protocol].update((spec.port, hi + 1))
            for tpol in c.tier_policies:
                for trule in (*tpol.ingress, *tpol.egress):
                    for tp in trule.ports or ():
                        if tp.protocol is not None and tp.port is not None and tp.named is None:
                            hi = tp.end_port if tp.end_port is not None else tp.port
                            starts[tp.protocol].update((tp.port, hi + 1))
            for ep in c.endpoints:
                for cp in ep.ports:
                    starts[cp.protocol].update((cp.port, cp.port + 1))
        return cls({p: sorted(s) for p, s in starts.items()})

    def mask(self, ps: PortSet) -> int:
        """The atoms of ``ps`` (which must be a union of atoms) as an integer bit mask."""
        out = 0
        for k, (p, lo, _hi) in enumerate(self.atoms):
            if ps.contains(p, lo):
                out |= 1 << k
        return out

    def portset(self, mask: int) -> PortSet:
        hit = self._ps_cache.get(mask)
        if hit is None:
            by: dict[Protocol, list[tuple[int, int]]] = {}
            k = 0
            m = mask
            while m:
                if m & 1:
                    p, lo, hi = self.atoms[k]
                    by.setdefault(p, []).append((lo, hi))
                m >>= 1
                k += 1
            hit = self._ps_cache[mask] = PortSet(by)
        return hit

    def to_words(self, mask: int) -> Words:
        return np.asarray([(mask >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for w in range(self.words)], dtype=np.uint64)

    def from_words(self, words: Words) -> int:
        out = 0
        for w, v in enumerate(words.tolist()):
            out |= int(v) << (64 * w)
        return out

    def words_portset(self, words: Words) -> PortSet:
        return self.portset(self.from_words(words))


class RuleIndex:
    """What decided a :class:`ConnMatrix`: which policies select each class, and per rule the
    targets its peers match and the ports it admits towards a target (for explaining a cell)."""

    def __init__(
        self,
        *,
        policies: Sequence[Policy],
        selecting: dict[Direction, list[list[int]]],
        node: list[bool],
        dest_ptype: list[int],
        peers: Callable[[Rule, str], BoolVec],
        ports: Callable[[tuple[PortSpec, ...]], Words],
        atoms: PortAtoms,
    ) -> None:
        self.policies = tuple(policies)
        self.selecting = selecting
        """``selecting[direction][class]``: indices of the policies selecting it (none for node traffic)."""
        self.node = node
        self._dest_ptype = dest_ptype
        self._peers = peers
        self._ports = ports
        self._atoms = atoms

    def governed(self, target: int) -> bool:
        """Whether NetworkPolicy governs the target (a class that is not node traffic)."""
        return target < len(self.node) and not self.node[target]

    def selected_by(self, target: int, direction: Direction) -> list[int]:
        return self.selecting[direction][target] if self.governed(target) else []

    def rule_matches(self, k: int, direction: Direction, i: int, other: int) -> bool:
        pol = self.policies[k]
        return bool(self._peers(pol.rules(direction)[i], pol.namespace)[other])

    def rule_mask(self, k: int, direction: Direction, i: int, dst: int) -> int:
        """The atoms rule ``i`` of policy ``k`` admits towards target ``dst``."""
        table = self._ports(self.policies[k].rules(direction)[i].ports)
        return self._atoms.from_words(table[self._dest_ptype[dst]])


class ConnMatrix:
    """Allowed connections between every pair of classes and address ranges (see module doc).

    Index space of "targets": classes ``0..n-1``, then ranges ``n..n+len(ranges)-1``.
    """

    def __init__(
        self,
        classes: Classes,
        ranges: tuple[AddressRange, ...],
        atoms: PortAtoms,
        esig: npt.NDArray[np.int64],
        egress: Words,
        icol: npt.NDArray[np.int64],
        ingress: Words,
    ) -> None:
        self.classes = classes
        self.ranges = ranges
        self.atoms = atoms
        self.esig = esig
        """Egress row of each class (index into ``egress``)."""
        self.egress = egress
        """``[row, target]``: egress allowed from a class with this row towards the target."""
        self.icol = icol
        """Ingress column of each class (index into ``ingress``)."""
        self.ingress = ingress
        """``[column, target]``: ingress allowed into a class with this column from the target."""
        self.n = classes.n
        self.m = classes.n + len(ranges)
        self._all = atoms.to_words(atoms.all_mask)
        self.rules: RuleIndex | None = None
        """Set by :func:`compile_connectivity`."""

    def direction_mask(self, direction: Direction, src: int, dst: int) -> int:
        """What one direction allows from target ``src`` to target ``dst`` (egress at ``src``, or
        ingress at ``dst``; everything where NetworkPolicy does not govern)."""
        if direction is Direction.EGRESS:
            if src >= self.n:
                return self.atoms.all_mask
            return self.atoms.from_words(self.egress[self.esig[src], dst])
        if dst >= self.n:
            return self.atoms.all_mask
        return self.atoms.from_words(self.ingress[self.icol[dst], src])

    def class_row(self, a: int) -> Words:
        """``(m, W)``: what class ``a`` may open to every class and range."""
        row: Words = self.egress[self.esig[a]].copy()
        if self.n:
            row[: self.n] &= self.ingress[self.icol, a]
        return row

    def range_row(self, g: int) -> Words:
        """``(n, W)``: what range ``g`` may open to every class (ingress only: it has no egress policy)."""
        if not self.n:
            return np.zeros((0, self.atoms.words), dtype=np.uint64)
        out: Words = self.ingress[self.icol, self.n + g].copy()
        return out

    def rows_block(self, src: npt.NDArray[np.int64], dst: npt.NDArray[np.int64]) -> Words:
        """``(len(src), len(dst), W)``: cells between targets (classes or ranges; range to range is empty)."""
        n = self.n
        out = np.zeros((len(src), len(dst), self.atoms.words), dtype=np.uint64)
        s_cls = src < n
        d_cls = dst < n
        if s_cls.any():
            sa = src[s_cls]
            eg = self.egress[self.esig[sa][:, None], dst[None, :]]  # (s, d, W)
            if d_cls.any():
                db = dst[d_cls]
                ing = self.ingress[self.icol[db][None, :], sa[:, None]]  # (s, d', W)
                eg[:, d_cls] &= ing
            out[s_cls] = eg
        if (~s_cls).any() and d_cls.any():
            sg = src[~s_cls]
            db = dst[d_cls]
            out[np.ix_(~s_cls, d_cls)] = self.ingress[self.icol[db][None, :], sg[:, None]]
        return out

    def pair_cells(self, src: npt.NDArray[np.int64], dst: npt.NDArray[np.int64]) -> Words:
        """``(k, W)``: the cells of the target pairs ``(src[i], dst[i])`` (range to range is empty)."""
        n = self.n
        out = np.zeros((len(src), self.atoms.words), dtype=np.uint64)
        s_cls, d_cls = src < n, dst < n
        both = s_cls & d_cls
        out[both] = self.egress[self.esig[src[both]], dst[both]] & self.ingress[self.icol[dst[both]], src[both]]
        s_only = s_cls & ~d_cls
        out[s_only] = self.egress[self.esig[src[s_only]], dst[s_only]]
        d_only = ~s_cls & d_cls
        out[d_only] = self.ingress[self.icol[dst[d_only]], src[d_only]]
        return out

    def cell(self, a: int, b: int) -> PortSet:
        """Allowed connections from target ``a`` to target ``b`` (class level: no self rule)."""
        block = self.rows_block(np.asarray([a], dtype=np.int64), np.asarray([b], dtype=np.int64))
        return self.atoms.words_portset(block[0, 0])


def compile_connectivity(
    cluster: Cluster,
    options: Options,
    endpoints: Sequence[Endpoint],
    *,
    atoms: PortAtoms | None = None,
    ranges: tuple[AddressRange, ...] | None = None,
    progress: Progress | None = None,
) -> ConnMatrix:
    """All-pairs allowed connections of ``endpoints`` and address ranges, per class.

    ``atoms`` and ``ranges`` default to those of ``cluster``; a diff passes the ones of both
    sides so that the two results compare one to one.
    """
    atoms = atoms or PortAtoms.for_clusters([cluster])
    ranges = address_ranges([cluster], options) if ranges is None else ranges
    cl = Classes(cluster, options, endpoints)
    n = cl.n
    g = len(ranges)
    m = n + g
    w = atoms.words
    all_words = atoms.to_words(atoms.all_mask)
    # destination port types: the declared ports named ports resolve on (a range declares none)
    ptype_index: dict[tuple[ContainerPort, ...], int] = {}
    ptype_eps: list[Endpoint] = []

    def ptype(ports: tuple[ContainerPort, ...]) -> int:
        t = ptype_index.get(ports)
        if t is None:
            t = ptype_index[ports] = len(ptype_eps)
            ptype_eps.append(Endpoint(kind="Pod", namespace="", name="", ports=ports))
        return t

    dest_ptype = np.asarray([ptype(r.ports) for r in cl.reps] + [ptype(())] * g, dtype=np.int64)
    list_masks: dict[tuple[PortSpec, ...], Words] = {}

    def ports_table(specs: tuple[PortSpec, ...]) -> Words:
        """``(port types, W)``: the rule's ports towards each destination port type."""
        t = list_masks.get(specs)
        if t is None:
            t = np.stack([atoms.to_words(atoms.mask(rule_ports(specs, ep))) for ep in ptype_eps])
            list_masks[specs] = t
        return t

    # peers over targets: classes (Classes' vectors) then ranges (ipBlock containment)
    range_ver = np.asarray([r.version for r in ranges], dtype=np.int64)
    range_val = [r.ranges[0][0] for r in ranges]  # each range's first address stands for it
    peer_cache: dict[tuple[object, ...], BoolVec] = {}
    block_cache: dict[IPBlock, BoolVec] = {}

    def block_ranges(block: IPBlock) -> BoolVec:
        """The address ranges an ipBlock contains (each range is inside or outside every block)."""
        hit = block_cache.get(block)
        if hit is None:
            hit = block_cache[block] = ranges_in(block.network, range_ver, range_val)
            for e in block.except_networks:
                hit &= ~ranges_in(e, range_ver, range_val)
        return hit

    def peers_vec(rule: Rule, ns: str) -> BoolVec:
        key = (rule.peers, ns if any(p.namespace_selector is None and p.ip_block is None for p in rule.peers) else "")
        v = peer_cache.get(key)
        if v is None:
            v = np.zeros(m, dtype=np.bool_)
            if not rule.peers:
                v[:] = True
            else:
                v[:n] = cl.rule_peers(rule, ns)
                for p in rule.peers:
                    if p.ip_block is not None:
                        v[n:] |= block_ranges(p.ip_block)
            peer_cache[key] = v
        return v

    egress_of: list[list[int]] = [[] for _ in range(n)]
    ingress_of: list[list[int]] = [[] for _ in range(n)]
    pols = cluster.policies
    for k, pol in enumerate(pols):
        if progress is not None and k % 200 == 0:
            progress("policies", k, len(pols))
        if pol.namespace not in cl.ns_index:
            continue
        for c in np.flatnonzero(cl.selected(pol)).tolist():
            if Direction.EGRESS in pol.policy_types:
                egress_of[c].append(k)
            if Direction.INGRESS in pol.policy_types:
                ingress_of[c].append(k)

    def grouped(sig: tuple[int, ...], direction: Direction) -> dict[tuple[PortSpec, ...], BoolVec]:
        """The signature's rules as ``ports list -> targets its peers match`` (ORed)."""
        by: dict[tuple[PortSpec, ...], BoolVec] = {}
        for k in sig:
            pol = pols[k]
            for rule in pol.rules(direction):
                u = peers_vec(rule, pol.namespace)
                prev = by.get(rule.ports)
                by[rule.ports] = u if prev is None else (prev | u)
        return by

    tiers = TierMasks(cl.tiers, ranges, atoms, ptype_eps, dest_ptype) if cl.tiers and cl.tiers.policies else None
    # egress rows, shared by classes with the same selecting policies (and cluster-wide ones)
    esig = np.zeros(n, dtype=np.int64)
    erows: list[Words] = [np.broadcast_to(all_words, (m, w)).copy()]
    eindex: dict[tuple[object, ...], int] = {((), ()): 0}
    for a in range(n):
        sig = () if cl.class_node[a] else tuple(egress_of[a])
        tsig = tiers.signature(a) if tiers is not None else ()
        r = eindex.get((sig, tsig))
        if r is None:
            row = np.zeros((m, w), dtype=np.uint64)
            if not sig:
                row[:] = all_words
            for specs, u in grouped(sig, Direction.EGRESS).items():
                row |= np.where(u[:, None], ports_table(specs)[dest_ptype], np.uint64(0))
            if tiers is not None and tsig:
                row = tiers.apply(Direction.EGRESS, a, row, bool(sig), None)
            r = eindex[(sig, tsig)] = len(erows)
            erows.append(row)
        esig[a] = r
    # ingress columns, shared by classes with the same selecting policies and declared ports
    icol = np.zeros(n, dtype=np.int64)
    icols: list[Words] = [np.broadcast_to(all_words, (m, w)).copy()]
    iindex: dict[tuple[object, ...], int] = {}
    for b in range(n):
        if progress is not None and b % 500 == 0:
            progress("classes", b, n)
        sig = () if cl.class_node[b] else tuple(ingress_of[b])
        tsig = tiers.signature(b) if tiers is not None else ()
        if not sig and not tsig:
            continue
        key = (sig, tsig, int(dest_ptype[b]))
        hit = iindex.get(key)
        if hit is None:
            col = np.zeros((m, w), dtype=np.uint64)
            if not sig:
                col[:] = all_words
            for specs, u in grouped(sig, Direction.INGRESS).items():
                col |= np.where(u[:, None], ports_table(specs)[int(dest_ptype[b])][None, :], np.uint64(0))
            if tiers is not None and tsig:
                col = tiers.apply(Direction.INGRESS, b, col, bool(sig), int(dest_ptype[b]))
            hit = iindex[key] = len(icols)
            icols.append(col)
        icol[b] = hit
    if progress is not None:
        progress("classes", n, n)
    out = ConnMatrix(cl, ranges, atoms, esig, np.stack(erows), icol, np.stack(icols))
    out.rules = RuleIndex(
        policies=pols,
        selecting={Direction.EGRESS: egress_of, Direction.INGRESS: ingress_of},
        node=cl.class_node.tolist(),
        dest_ptype=dest_ptype.tolist(),
        peers=peers_vec,
        ports=ports_table,
        atoms=atoms,
    )
    return out


class Connectivity:
    """Allowed connections between endpoints and address ranges, read from a :class:`ConnMatrix`.

    Targets are numbered: endpoints ``0..len(endpoints)-1`` in input order, then the ranges.
    A pod reaches itself on everything; a range reaches no range (not cluster traffic).
    """

    def __init__(self, endpoints: Sequence[Endpoint], compiled: ConnMatrix) -> None:
        self.endpoints = tuple(endpoints)
        self.compiled = compiled
        self.ranges = compiled.ranges
        n_eps = len(self.endpoints)
        cls = compiled.classes.cls.astype(np.int64)
        self._target_class = np.concatenate([cls, compiled.n + np.arange(len(self.ranges), dtype=np.int64)])
        self.names = [e.key for e in self.endpoints] + [r.key for r in self.ranges]
        self._is_pod = [e.is_pod for e in self.endpoints] + [False] * len(self.ranges)
        self._n_eps = n_eps

    def __len__(self) -> int:
        return len(self.names)

    def target_class(self, i: int) -> int:
        return int(self._target_class[i])

    def allowed(self, i: int, j: int) -> PortSet:
        """Connections target ``i`` may open to target ``j``."""
        if i == j and self._is_pod[i]:
            return PortSet.all()
        if i >= self._n_eps and j >= self._n_eps:
            return PortSet.none()
        return self.compiled.cell(self.target_class(i), self.target_class(j))

    def row(self, i: int) -> Iterator[tuple[int, PortSet]]:
        """``(j, allowed)`` for every target ``j``, computed once per destination class."""
        comp = self.compiled
        atoms = comp.atoms
        a = self.target_class(i)
        if a < comp.n:
            words = comp.class_row(a)
        else:
            words = np.zeros((comp.m, atoms.words), dtype=np.uint64)
            words[: comp.n] = comp.range_row(a - comp.n)
        ints = (
            [atoms.from_words(words[b]) for b in range(comp.m)]
            if atoms.words > 1
            else words[:, 0].tolist()
            if comp.m
            else []
        )
        for j in range(len(self.names)):
            if j == i and self._is_pod[i]:
                yield j, PortSet.all()
                continue
            yield j, atoms.portset(int(ints[self._target_class[j]]))

    def pairs(self, progress: Progress | None = None) -> Iterator[tuple[int, int, PortSet]]:
        """Every pair with something allowed, row by row (pairs with nothing are left out)."""
        total = len(self.names)
        for i in range(total):
            if progress is not None and i % 100 == 0:
                progress("writing rows", i, total)
            for j, ps in self.row(i):
                if not ps.is_empty:
                    yield i, j, ps
        if progress is not None:
            progress("writing rows", total, total)


def connectivity(
    cluster: Cluster,
    options: Options,
    endpoints: Sequence[Endpoint] | None = None,
    *,
    progress: Progress | None = None,
) -> Connectivity:
    """The allowed connections between every pair of endpoints and address ranges."""
    eps = tuple(cluster.endpoints if endpoints is None else endpoints)
    return Connectivity(eps, compile_connectivity(cluster, options, eps, progress=progress))


# -- groups: workloads, namespaces ------------------------------------------------------------
_BLOCK_WORDS = 1 << 22


class Grouped:
    """Allowed connections between groups of endpoints (and address ranges, each its own group).

    A group's connections to another are the union over their member pairs, leaving out a pod's
    pair with itself. Computed on *units* (a group's members of one class), never per pair.
    """

    def __init__(self, endpoints: Sequence[Endpoint], compiled: ConnMatrix, by: str) -> None:
        self.compiled = compiled
        self.by = by
        names: list[str] = []
        index: dict[str, int] = {}
        unit_of: dict[tuple[int, int], int] = {}
        u_group: list[int] = []
        u_target: list[int] = []
        u_count: list[int] = []
        u_pod: list[bool] = []
        cls = compiled.classes.cls.tolist()
        members = [(group_key(e, by), c, e.is_pod) for e, c in zip(endpoints, cls, strict=True)]
        members += [(r.key, compiled.n + k, False) for k, r in enumerate(compiled.ranges)]
        for key, target, is_pod in members:
            g = index.get(key)
            if g is None:
                g = index[key] = len(names)
                names.append(key)
            u = unit_of.get((g, target))
            if u is None:
                u = unit_of[(g, target)] = len(u_group)
                u_group.append(g)
                u_target.append(target)
                u_count.append(0)
                u_pod.append(is_pod)
            u_count[u] += 1
        self.names = names
        self.index = index
        order = (
            np.lexsort((np.asarray(u_target, dtype=np.int64), np.asarray(u_group, dtype=np.int64)))
            if u_group
            else np.zeros(0, dtype=np.int64)
        )
        self.u_group = np.asarray(u_group, dtype=np.int64)[order]
        self.u_target = np.asarray(u_target, dtype=np.int64)[order]
        self.u_lonely_pod = (np.asarray(u_count, dtype=np.int64)[order] == 1) & np.asarray(u_pod, dtype=np.bool_)[order]
        self.g_start = (
            np.searchsorted(self.u_group, np.arange(len(names) + 1)) if len(names) else np.zeros(1, dtype=np.int64)
        )

    def blocks(self) -> Iterator[tuple[int, Words]]:
        """``(g0, cells)``: rows ``g0..g0+len(cells)-1`` of the ``(groups, groups, W)`` table."""
        n_g = len(self.names)
        n_u = len(self.u_group)
        w = self.compiled.atoms.words
        if n_g == 0:
            return
        starts = self.g_start[:-1]
        g0 = 0
        while g0 < n_g:
            budget = max(1, _BLOCK_WORDS // max(1, n_u * w))
            g1 = g0 + 1
            while g1 < n_g and self.g_start[g1 + 1] - self.g_start[g0] <= budget:
                g1 += 1
            u0, u1 = int(self.g_start[g0]), int(self.g_start[g1])
            cells = self.compiled.rows_block(self.u_target[u0:u1], self.u_target)
            lonely = np.flatnonzero(self.u_lonely_pod[u0:u1])
            cells[lonely, u0 + lonely] = 0
            by_col = np.bitwise_or.reduceat(cells, starts, axis=1)
            out = np.bitwise_or.reduceat(by_col, self.g_start[g0:g1] - u0, axis=0)
            yield g0, out
            g0 = g1

    def table(self) -> Words:
        """The whole ``(groups, groups, W)`` table."""
        n_g = len(self.names)
        out = np.zeros((n_g, n_g, self.compiled.atoms.words), dtype=np.uint64)
        for g0, block in self.blocks():
            out[g0 : g0 + len(block)] = block
        return out


def connection_list(
    cluster: Cluster, options: Options, *, by: str = "pod", progress: Progress | None = None
) -> Iterator[tuple[str, str, PortSet]]:
    """``(from, to, allowed)`` for every pair (of endpoints or groups) with something allowed."""
    eps = cluster.endpoints
    compiled = compile_connectivity(cluster, options, eps, progress=progress)
    if by == "pod":
        conn = Connectivity(eps, compiled)
        names = conn.names
        for i, j, ps in conn.pairs(progress):
            yield names[i], names[j], ps
        return
    grouped = Grouped(eps, compiled, by)
    atoms = compiled.atoms
    for g0, block in grouped.blocks():
        for r in range(len(block)):
            for h in range(len(grouped.names)):
                mask = atoms.from_words(block[r, h])
                if mask:
                    yield grouped.names[g0 + r], grouped.names[h], atoms.portset(mask)


__all__ = [
    "ConnMatrix",
    "Connectivity",
    "Grouped",
    "PortAtoms",
    "compile_connectivity",
    "connection_list",
    "connectivity",
]
