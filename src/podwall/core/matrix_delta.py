"""Which matrix cells a change of policies would flip: the engine's check of a lint fix.

A lint fix is offered only when applying it changes no verdict except the ones its finding is
about. Recomputing the whole matrix for every candidate fix would cost (fixes x matrix); this
module computes the change itself, in class form (:mod:`podwall.core.classes`), and only
where it can happen:

* a policy governs ingress at the classes it selects: replacing, adding or deleting it can only
  change the *columns* of those classes (every source), and only on their ingress side;
* it governs egress at the classes it selects: only their *rows* (every column) can change, on
  the egress side.

Both sides of the unchanged cluster are kept from one compilation (egress rows, ingress source
vectors); a change recomputes the side it touches for the affected classes, combines it with the
other side, and compares. The classes are built over the cluster's policies *and* every candidate
policy, so that whatever a candidate's selectors tell apart, the classes tell apart too.

With cluster-wide tiers (Admin/Baseline), which rewrite both sides as a whole, a change is
checked by compiling the matrix after it in full instead (correct, and slower).

The universe is the matrix's: every pair of endpoints of the input, on the destination's declared
container ports. A pod's connection to itself is always allowed and never changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from podwall.core.classes import (
    Admits,
    BoolVec,
    Classes,
    Columns,
    Compiled,
    EgressRows,
    IngressColumns,
    PolicyIndex,
    PolicyRules,
    PortTable,
    RuleEntry,
    compile_reachability,
    egress_row,
    ingress_sources,
)
from podwall.core.columns import PortKey
from podwall.core.model import Cluster, Direction, Endpoint, Options, Policy, Protocol


@dataclass(frozen=True, kw_only=True)
class FlippedCell:
    """One matrix cell whose verdict a change flips (for every endpoint pair of the classes)."""

    src: Endpoint
    """A representative of the source class."""
    dst: Endpoint
    """A representative of the destination class."""
    port: PortKey
    allowed: bool
    """The verdict after the change."""


class DeltaChecker:
    """The matrix of one cluster, kept as its two sides, ready to be changed policy by policy."""

    def __init__(
        self, cluster: Cluster, options: Options, candidates: Sequence[Policy] = (), *, classes: Classes | None = None
    ) -> None:
        """``classes``: classes of ``cluster.endpoints`` already built (by lint's peer index); used
        when they tell apart everything the candidates can, else the classes are rebuilt."""
        self.cluster = cluster
        if classes is None or classes.endpoints != cluster.endpoints or not classes.covers(candidates):
            classes = Classes(cluster, options, cluster.endpoints, extra_policies=candidates)
        cl = self.cl = classes
        pt = PortTable()
        self.cols = Columns(cl, pt, None, Protocol.TCP)
        self.index = PolicyIndex(cl, pt)
        self.rules = PolicyRules(self.index, cluster.policies, None)
        for pol in candidates:  # their ports lists must be in the table before it is built
            self.index.entries(pol, Direction.INGRESS)
            self.index.entries(pol, Direction.EGRESS)
        self.admits = Admits(pt, self.cols)
        self.egress = EgressRows(cl.n, self.cols, self.rules, self.index.peer_vecs, self.admits)
        self.ingress = IngressColumns(cl.n, self.cols, self.rules, self.index.peer_vecs, self.admits.table)
        self._pos = {id(p): k for k, p in enumerate(cluster.policies)}
        self.options = options
        self._before: BoolVec | None = None
        self._lonely_pod = np.asarray(
            [size == 1 and rep.is_pod for size, rep in zip(cl.sizes.tolist(), cl.reps, strict=True)], dtype=np.bool_
        )

    # -- the sides -------------------------------------------------------------------------------
    def _old_egress_column(self, k: int) -> BoolVec:
        rows = self.egress.rows
        bit = (rows[:, k >> 3] >> (7 - (k & 7))) & 1
        return bit[self.egress.ids].astype(np.bool_)

    def _old_egress_row(self, a: int) -> BoolVec:
        packed = self.egress.rows[self.egress.ids[a]]
        return np.unpackbits(packed, count=self.cols.n).astype(np.bool_)

    def _entries(
        self, of: list[int], removed: set[int], added: list[tuple[Policy, set[int]]], c: int, direction: Direction
    ) -> list[RuleEntry] | None:
        """The rules governing class ``c`` in ``direction`` after the change (``None``: not isolated)."""
        kept = [k for k in of if k not in removed]
        extra = [p for p, sel in added if direction in p.policy_types and c in sel]
        if not kept and not extra:
            return None
        table = self.rules.rules_e if direction is Direction.EGRESS else self.rules.rules_i
        mine = (e for k in kept for e in table[k])
        theirs = (e for p in extra for e in self.index.entries(p, direction))
        return list(chain(mine, theirs))

    # -- a change ----------------------------------------------------------------------------------
    def flipped(self, removed: Sequence[Policy], added: Sequence[Policy]) -> Iterator[FlippedCell]:
        """Every cell whose verdict changes when ``removed`` (policies of the cluster) are taken out
        and ``added`` are put in, one per (source class, column)."""
        if self.cl.tiers is not None:
            yield from self._recompiled(removed, added)
            return
        n, cols = self.cl.n, self.cols
        gone = {self._pos[id(p)] for p in removed}
        affected_in: set[int] = set()
        affected_eg: set[int] = set()
        for pol in removed:
            self._affect(pol, affected_in, affected_eg)
        news: list[tuple[Policy, set[int]]] = []
        for pol in added:
            news.append((pol, self._affect(pol, affected_in, affected_eg)))
        peer_vecs, table = self.index.peer_vecs, self.admits.table
        new_eg: dict[int, BoolVec] = {}
        for a in sorted(affected_eg):
            entries = self._entries(self.rules.egress_of[a], gone, news, a, Direction.EGRESS)
            new_eg[a] = (
                np.ones(cols.n, np.bool_) if entries is None else egress_row(entries, peer_vecs, cols, self.admits)
            )
        new_ing: dict[int, BoolVec] = {}
        for b in sorted(affected_in):
            entries = self._entries(self.rules.ingress_of[b], gone, news, b, Direction.INGRESS)
            for k in cols.of(b):
                new_ing[k] = (
                    np.ones(n, np.bool_) if entries is None
                    else ingress_sources(n, entries, peer_vecs, table, int(cols.type[k]))
                )
        # columns whose ingress side changed: every source
        for k, ing in new_ing.items():
            eg_old = self._old_egress_column(k)
            eg = eg_old.copy()
            for a, row in new_eg.items():
                eg[a] = row[k]
            old = eg_old & self.ingress.vecs[:, self.ingress.col_src[k]]
            now = eg & ing
            diff = np.flatnonzero(old != now)
            yield from self._cells(diff, np.full(len(diff), k, dtype=np.int64), now[diff])
        # rows whose egress side changed: every column not already compared
        for a, row in new_eg.items():
            ing_old = self.ingress.vecs[a, self.ingress.col_src]
            ing = ing_old.copy()
            for k, vec in new_ing.items():
                ing[k] = vec[a]
            old = self._old_egress_row(a) & ing_old
            now = row & ing
            changed = old != now
            for k in new_ing:
                changed[k] = False
            diff = np.flatnonzero(changed)
            yield from self._cells(np.full(len(diff), a, dtype=np.int64), diff, now[diff])

    def _recompiled(self, removed: Sequence[Policy], added: Sequence[Policy]) -> Iterator[FlippedCell]:
        """With cluster-wide tiers, which rewrite both sides as a whole: the matrices of the
        cluster before and after, compiled in full, read at this checker's class representatives
        (members of one of its classes are alike under the old policies and the new ones)."""
        gone = {id(p) for p in removed}
        after = dataclasses.replace(
            self.cluster, policies=(*(p for p in self.cluster.policies if id(p) not in gone), *added)
        )
        if self._before is None:
            self._before = self._read(compile_reachability(self.cluster, self.options, self.cluster.endpoints))
        old = self._before
        now = self._read(compile_reachability(after, self.options, self.cluster.endpoints))
        diff = np.flatnonzero(old.ravel() != now.ravel())
        width = self.cols.n
        yield from self._cells(diff // max(1, width), diff % max(1, width), now.ravel()[diff])

    def _read(self, comp: Compiled) -> BoolVec:
        """``[a, k]``: the compiled verdict at this checker's class ``a`` and column ``k``."""
        index = {id(e): i for i, e in enumerate(self.cluster.endpoints)}
        rep_cls = comp.classes.cls[[index[id(r)] for r in self.cl.reps]].astype(np.int64)
        offsets = np.arange(self.cols.n, dtype=np.int64) - self.cols.start[self.cols.cls]
        columns = comp.col_start[rep_cls[self.cols.cls]] + offsets
        bits = np.unpackbits(comp.bits[rep_cls], axis=1, count=comp.n_columns).view(np.bool_)
        return np.asarray(bits[:, columns], dtype=np.bool_)

    def _affect(self, pol: Policy, affected_in: set[int], affected_eg: set[int]) -> set[int]:
        sel = set(self.index.selected(pol).tolist())
        if Direction.INGRESS in pol.policy_types:
            affected_in |= sel
        if Direction.EGRESS in pol.policy_types:
            affected_eg |= sel
        return sel

    def _cells(
        self, srcs: npt.NDArray[np.int64], columns: npt.NDArray[np.int64], now: BoolVec
    ) -> Iterator[FlippedCell]:
        cols, cl = self.cols, self.cl
        for a, k, allowed in zip(srcs.tolist(), columns.tolist(), now.tolist(), strict=True):
            b = int(cols.cls[k])
            if a == b and self._lonely_pod[a]:
                continue  # the only pair is a pod with itself: always allowed
            port = cols.checked[b][k - int(cols.start[b])]
            yield FlippedCell(src=cl.reps[a], dst=cl.reps[b], port=port, allowed=bool(allowed))


__all__ = ["DeltaChecker", "FlippedCell"]
