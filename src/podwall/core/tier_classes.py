"""Cluster-wide tiers in the class matrix (:mod:`podwall.core.classes`).

Classes must also be told apart by what the tiers look at: the label keys and values of their
pod selectors, hostNetwork (tiers never select host-network pods, whatever
``Options.host_network`` says), and the addresses that ``networks``, ``nodes`` and
``domainNames`` peers match. The last are *tier atoms*: the intervals between consecutive
boundaries of every such network and address; an IP's atom decides every one of those peers.

Verdicts per direction then follow :mod:`podwall.core.tiers`, as boolean vectors:

* egress row of source class ``a`` over columns: the Admin rules of the policies selecting
  ``a``, first match first (``Accept`` / ``Deny`` final, ``Pass`` ends the tier); then the
  NetworkPolicy row if ``a`` is isolated for egress, else the Baseline tier (only its Deny
  denies);
* ingress vector of a column (destination class, port type) over source classes: the same,
  with the destination's policies.

``row = accept | (~(accept | deny) & np_row & ~(~isolated & baseline_deny))``, where ``np_row``
is the NetworkPolicy answer as :mod:`classes` computes it (all allowed when not isolated).
Rows and vectors are shared by every class (column) with the same selecting policies.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from podwall.core.model import (
    Cluster,
    Direction,
    Endpoint,
    IPNetwork,
    LabelSelector,
    Options,
    Tier,
    TierAction,
    TierPeer,
    TierPolicy,
    TierPort,
    TierRule,
)
from podwall.core.tiers import peer_networks, ports_match

BoolVec = npt.NDArray[np.bool_]
_V6_OFFSET = 1 << 32


def _addr_int(ip: str) -> int:
    parts = ip.split(".")
    if len(parts) == 4:  # IPv4, the common case (decode validated it), without ipaddress objects
        a, b, c, d = map(int, parts)
        return (a << 24) | (b << 16) | (c << 8) | d
    addr = ipaddress.ip_address(ip)
    return int(addr) + (_V6_OFFSET if addr.version == 6 else 0)


def _range(net: IPNetwork) -> tuple[int, int]:
    off = _V6_OFFSET if net.version == 6 else 0
    return int(net.network_address) + off, int(net.broadcast_address) + off


def tier_pod_selectors(cluster: Cluster) -> list[LabelSelector]:
    """The pod selectors of subjects and peers (their label keys and values split classes)."""
    out: dict[LabelSelector, None] = {}
    for pol in cluster.tier_policies:
        if pol.subject.pod_selector is not None:
            out[pol.subject.pod_selector] = None
        for rule in (*pol.ingress, *pol.egress):
            for peer in rule.peers:
                if peer.pod_selector is not None:
                    out[peer.pod_selector] = None
    return list(out)


class TierAtoms:
    """Intervals between the boundaries of every network the tiers' address peers match."""

    def __init__(self, cluster: Cluster, options: Options) -> None:
        bounds: set[int] = set()
        for pol in cluster.tier_policies:
            for rule in pol.egress:
                for peer in rule.peers:
                    if peer.kind in ("namespaces", "pods"):
                        continue
                    for net in peer_networks(cluster, options, peer) or ():
                        lo, hi = _range(net)
                        bounds.add(lo)
                        bounds.add(hi + 1)
        self.bounds = sorted(bounds)

    def class_keys(self, endpoints: Sequence[Endpoint]) -> list[tuple[bool, tuple[int, ...]]]:
        """What the tiers add to each endpoint's class signature: hostNetwork and its IPs' atoms."""
        if not self.bounds:
            return [(ep.host_network, ()) for ep in endpoints]
        ips = [ip for ep in endpoints for ip in ep.ips]
        atoms: list[int] = []
        if ips and ":" not in (text := ".".join(ips)) and text.count(".") == 4 * len(ips) - 1:
            # IPv4 only (decode validated every address): parse all at once
            octets = np.asarray(text.split("."), dtype=np.int64).reshape(-1, 4)
            values = (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
            v4_bounds = np.asarray([b for b in self.bounds if b < _V6_OFFSET], dtype=np.int64)
            atoms = np.searchsorted(v4_bounds, values, side="right").tolist()
        else:
            atoms = [bisect.bisect_right(self.bounds, _addr_int(ip)) for ip in ips]
        out: list[tuple[bool, tuple[int, ...]]] = []
        i = 0
        for ep in endpoints:
            k = len(ep.ips)
            if k == 1:
                out.append((ep.host_network, (atoms[i],)))
            else:
                out.append((ep.host_network, tuple(sorted(set(atoms[i : i + k])))))
            i += k
        return out

    def span(self, net: IPNetwork) -> tuple[int, int]:
        lo, hi = _range(net)
        return bisect.bisect_right(self.bounds, lo), bisect.bisect_right(self.bounds, hi)


class Classes(Protocol):
    """What the tiers need of :class:`podwall.core.classes.Classes` (no import: no cycle)."""

    cluster: Cluster
    options: Options
    n: int
    reps: list[Endpoint]

    def namespace_selector(self, sel: LabelSelector) -> BoolVec: ...

    def pod_selector(self, sel: LabelSelector) -> BoolVec: ...


_RuleEntry = tuple[int, int, TierAction]
"""A tier rule as ``(peer vector id, ports list id, action)``."""


class TierVectors:
    """The tiers over classes: who each policy selects, each rule's peers and ports."""

    def __init__(self, cl: Classes, atoms: TierAtoms, rep_atoms: Sequence[tuple[int, ...]]) -> None:
        self.cl = cl
        self.cluster = cl.cluster
        self.options = cl.options
        self.atoms = atoms
        n = cl.n
        self.not_host = np.asarray([not r.host_network for r in cl.reps], dtype=np.bool_)
        flat_c = [c for c, at in enumerate(rep_atoms) for _ in at]
        flat_a = [a for at in rep_atoms for a in at]
        self._flat_cls = np.asarray(flat_c, dtype=np.int64)
        self._flat_atom = np.asarray(flat_a, dtype=np.int64)
        self.policies = tuple(sorted(self.cluster.tier_policies, key=TierPolicy.sort_key))
        self.peer_vecs: list[BoolVec] = []
        self.peer_keys: list[tuple[TierPeer, ...]] = []
        """The peers of each vector in :attr:`peer_vecs` (a rule's ``from``/``to`` list)."""
        self._peer_ids: dict[tuple[TierPeer, ...], int] = {}
        self.port_lists: dict[tuple[TierPort, ...] | None, int] = {}
        # per tier and direction: for each class, the indices (into self.policies) that select it
        self.selecting: dict[Tier, list[list[int]]] = {t: [[] for _ in range(n)] for t in Tier}
        self.entries: list[dict[Direction, list[_RuleEntry]]] = []
        for k, pol in enumerate(self.policies):
            subj = self.subject(pol)
            for c in np.flatnonzero(subj).tolist():
                self.selecting[pol.tier][c].append(k)
            self.entries.append(
                {d: [self.rule_entry(r) for r in pol.rules(d)] if subj.any() else [] for d in Direction}
            )

    # -- vectors -------------------------------------------------------------------------------
    def subject(self, pol: TierPolicy) -> BoolVec:
        v = self.not_host & self.cl.namespace_selector(pol.subject.namespace_selector)
        if pol.subject.pod_selector is not None:
            v = v & self.cl.pod_selector(pol.subject.pod_selector)
        return v

    def _networks(self, nets: Sequence[IPNetwork]) -> BoolVec:
        v = np.zeros(self.cl.n, dtype=np.bool_)
        if not len(self._flat_atom):
            return v
        fa = self._flat_atom
        for net in nets:
            p, q = self.atoms.span(net)
            v[self._flat_cls[(fa >= p) & (fa <= q)]] = True
        return v

    def peer(self, peer: TierPeer) -> BoolVec:
        if peer.kind in ("namespaces", "pods"):
            assert peer.namespace_selector is not None
            v = self.not_host & self.cl.namespace_selector(peer.namespace_selector)
            if peer.kind == "pods":
                assert peer.pod_selector is not None
                v = v & self.cl.pod_selector(peer.pod_selector)
            return v
        nets = peer_networks(self.cluster, self.options, peer)
        return self._networks(nets) if nets else np.zeros(self.cl.n, dtype=np.bool_)

    def rule_entry(self, rule: TierRule) -> _RuleEntry:
        pid = self._peer_ids.get(rule.peers)
        if pid is None:
            v = np.zeros(self.cl.n, dtype=np.bool_)
            for p in rule.peers:
                v |= self.peer(p)
            pid = self._peer_ids[rule.peers] = len(self.peer_vecs)
            self.peer_vecs.append(v)
            self.peer_keys.append(rule.peers)
        lid = self.port_lists.get(rule.ports)
        if lid is None:
            lid = self.port_lists[rule.ports] = len(self.port_lists)
        return pid, lid, rule.action

    def port_table(self, type_eps: Sequence[tuple[int, Any, Endpoint]]) -> npt.NDArray[np.bool_]:
        """``[ports list id, port type]``: does a tier ports list admit the port type."""
        t = np.zeros((len(self.port_lists), len(type_eps)), dtype=np.bool_)
        for ports, i in self.port_lists.items():
            for j, (num, proto, fake) in enumerate(type_eps):
                t[i, j] = ports_match(ports, num, proto, fake)
        return t

    def rules_of(self, tier: Tier, direction: Direction, c: int) -> list[_RuleEntry]:
        return [e for k in self.selecting[tier][c] for e in self.entries[k][direction]]


def _first_match(entries: Sequence[_RuleEntry], peer_at: Any, admits: Any, size: int) -> tuple[BoolVec, BoolVec]:
    """``(accept, deny)`` of a first-match list: cells decided by an Accept, by a Deny."""
    undecided = np.ones(size, dtype=np.bool_)
    accept = np.zeros(size, dtype=np.bool_)
    deny = np.zeros(size, dtype=np.bool_)
    for pid, lid, action in entries:
        m = peer_at(pid) & admits(lid) & undecided
        if not m.any():
            continue
        if action is TierAction.ACCEPT:
            accept |= m
        elif action is TierAction.DENY:
            deny |= m
        undecided &= ~m
        if not undecided.any():
            break
    return accept, deny


def _first_match_types(
    entries: Sequence[_RuleEntry],
    peer_vecs: Sequence[BoolVec],
    table: npt.NDArray[np.bool_],
    types: npt.NDArray[np.int64],
    n: int,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """``(accept, deny)`` as ``[source class, port type]`` for an ingress first-match list."""
    shape = (n, len(types))
    undecided = np.ones(shape, dtype=np.bool_)
    accept = np.zeros(shape, dtype=np.bool_)
    deny = np.zeros(shape, dtype=np.bool_)
    for pid, lid, action in entries:
        admits = table[lid, types]
        if not admits.any():
            continue
        m = peer_vecs[pid][:, None] & admits[None, :] & undecided
        if action is TierAction.ACCEPT:
            accept |= m
        elif action is TierAction.DENY:
            deny |= m
        undecided &= ~m
    return accept, deny


_Effect = tuple[Any, Any, Any] | None
"""A tier set's effect: ``(accept, deny, baseline deny)`` vectors (packed for egress rows), or
``None`` when it decides nothing (the NetworkPolicy answer stands unchanged)."""


def _effect(admin: tuple[BoolVec, BoolVec], bdeny: BoolVec, isolated: bool, pack: bool) -> _Effect:
    acc, deny = admin
    lower_matters = not isolated and bool(bdeny.any())
    if not acc.any() and not deny.any() and not lower_matters:
        return None
    if pack:
        return np.packbits(acc), np.packbits(acc | deny), np.packbits(bdeny) if lower_matters else None
    return acc, acc | deny, bdeny if lower_matters else None


def _apply(np_allowed: Any, effect: tuple[Any, Any, Any]) -> Any:
    """``accept | (~decided & lower)``; lower is the NetworkPolicy answer, or for a pod that no
    NetworkPolicy isolates the Baseline answer (only its Deny denies). Works on packed bytes too."""
    acc, decided, bdeny = effect
    lower = np_allowed if bdeny is None else ~bdeny
    return acc | (~decided & lower)


def apply_tiers(
    tv: TierVectors,
    col_class: npt.NDArray[np.int64],
    col_type: npt.NDArray[np.int64],
    col_start: npt.NDArray[np.int64],
    type_eps: Sequence[tuple[int, Any, Endpoint]],
    egress_isolated: Sequence[bool],
    erow_mat: npt.NDArray[np.uint8],
    erow_ids: npt.NDArray[np.int64],
    ingress_isolated: Sequence[bool],
    src_t: npt.NDArray[np.bool_],
    col_src: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """The NetworkPolicy egress rows and ingress source vectors, with the tiers applied.

    The first-match results depend only on the selecting policies (and, for ingress, the port
    type), so they are computed once per set of policies; sets that decide nothing leave the
    NetworkPolicy row or vector as it is.
    """
    n = tv.cl.n
    n_cols = len(col_class)
    table = tv.port_table(type_eps)
    admits_cols: dict[int, BoolVec] = {}

    def admits_col(lid: int) -> BoolVec:
        v = admits_cols.get(lid)
        if v is None:
            v = admits_cols[lid] = table[lid][col_type] if n_cols else np.zeros(0, dtype=np.bool_)
        return v

    peer_cols: dict[int, BoolVec] = {}

    def peer_col(pid: int) -> BoolVec:
        v = peer_cols.get(pid)
        if v is None:
            v = peer_cols[pid] = tv.peer_vecs[pid][col_class]
        return v

    # egress rows (packed bytes throughout: padding bits beyond n_cols are never read)
    e_effect: dict[tuple[tuple[int, ...], tuple[int, ...], bool], _Effect] = {}
    rows: list[npt.NDArray[np.uint8]] = list(erow_mat)
    ids = erow_ids.copy()
    memo: dict[tuple[Any, ...], int] = {}
    row_index: dict[bytes, int] = {}
    admin_sel, base_sel = tv.selecting[Tier.ADMIN], tv.selecting[Tier.BASELINE]
    for a in range(n):
        if not admin_sel[a] and not base_sel[a]:
            continue
        adm, base, iso = tuple(admin_sel[a]), tuple(base_sel[a]), egress_isolated[a]
        ekey = (adm, base, iso)
        if ekey not in e_effect:
            admin = _first_match(tv.rules_of(Tier.ADMIN, Direction.EGRESS, a), peer_col, admits_col, n_cols)
            bdeny = (
                _first_match(tv.rules_of(Tier.BASELINE, Direction.EGRESS, a), peer_col, admits_col, n_cols)[1]
                if base and not iso
                else np.zeros(n_cols, dtype=np.bool_)
            )
            e_effect[ekey] = _effect(admin, bdeny, iso, pack=True)
        effect = e_effect[ekey]
        if effect is None:
            continue
        key = (int(erow_ids[a]), ekey)
        r = memo.get(key)
        if r is None:
            row = _apply(erow_mat[erow_ids[a]], effect)
            rkey = row.tobytes()
            r = row_index.get(rkey)
            if r is None:
                r = row_index[rkey] = len(rows)
                rows.append(row)
            memo[key] = r
        ids[a] = r
    new_rows = np.stack(rows) if n_cols else np.zeros((len(rows), 0), dtype=np.uint8)
    # ingress source vectors: the columns of classes with the same policy sets and isolation are
    # grouped, the first match is computed for all their port types at once (classes x types),
    # and every (port type, NetworkPolicy vector) pair becomes one new source vector
    groups: dict[tuple[tuple[int, ...], tuple[int, ...], bool], dict[int, list[int]]] = {}
    rep: dict[tuple[tuple[int, ...], tuple[int, ...], bool], int] = {}
    for b in range(n):
        if not admin_sel[b] and not base_sel[b]:
            continue
        gkey = (tuple(admin_sel[b]), tuple(base_sel[b]), ingress_isolated[b])
        by_type = groups.setdefault(gkey, {})
        rep.setdefault(gkey, b)
        for k in range(int(col_start[b]), int(col_start[b + 1])):
            by_type.setdefault(int(col_type[k]), []).append(k)
    new_src = col_src.copy()
    new_vecs: list[npt.NDArray[np.bool_]] = []
    known: dict[bytes, int] = {src_t[:, j].tobytes(): j for j in range(src_t.shape[1])}
    for (adm, base, iso), by_type in groups.items():
        b = rep[(adm, base, iso)]
        types = np.fromiter(by_type, dtype=np.int64, count=len(by_type))
        acc, deny = _first_match_types(tv.rules_of(Tier.ADMIN, Direction.INGRESS, b), tv.peer_vecs, table, types, n)
        base_deny = None
        if base and not iso:
            base_rules = tv.rules_of(Tier.BASELINE, Direction.INGRESS, b)
            base_deny = _first_match_types(base_rules, tv.peer_vecs, table, types, n)[1]
        decided = acc | deny
        for j, cols in enumerate(by_type.values()):
            lower_matters = base_deny is not None and bool(base_deny[:, j].any())
            if not decided[:, j].any() and not lower_matters:
                continue
            idx = np.asarray(cols, dtype=np.int64)
            uniq, inv = np.unique(col_src[idx], return_inverse=True)
            if lower_matters:
                assert base_deny is not None
                lower = np.broadcast_to(~base_deny[:, j : j + 1], (n, len(uniq)))
            else:
                lower = src_t[:, uniq]
            block = acc[:, j : j + 1] | (~decided[:, j : j + 1] & lower)
            ids_of = np.empty(len(uniq), dtype=np.int64)
            for u in range(len(uniq)):  # identical vectors are shared (keeps the combine's input small)
                vec = np.ascontiguousarray(block[:, u])
                vkey = vec.tobytes()
                hit = known.get(vkey)
                if hit is None:
                    hit = known[vkey] = src_t.shape[1] + len(new_vecs)
                    new_vecs.append(vec)
                ids_of[u] = hit
            new_src[idx] = ids_of[inv]
    new_src_t = np.concatenate([src_t, np.stack(new_vecs, axis=1)], axis=1) if new_vecs else src_t
    return new_rows, ids, new_src_t, new_src


__all__ = ["TierAtoms", "TierVectors", "apply_tiers", "tier_pod_selectors"]
