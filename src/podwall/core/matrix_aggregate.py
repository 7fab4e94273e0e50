"""A matrix by workload or namespace: cells combined over every endpoint pair of two groups.

A group's cell is ``all`` when every checked port of every pair is reachable, ``none`` when
none is, ``some`` otherwise, ``n/a`` when nothing is checked. On a :class:`ClassMatrix` the
combination works on classes, never on endpoint pairs (numpy ``reduceat`` over the class-pair
states), so it costs classes², not pods².
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from podwall.core.model import Endpoint
from podwall.core.reachability import ALL, NA, NONE, SOME, ClassMatrix, Matrix

GROUPINGS = ("pod", "workload", "namespace")

_CODE = {ALL: 1, NONE: 2, SOME: 4}
"""States as bit flags, so that combining cells is a bitwise OR (NA is 0: ignored)."""


def decode(code: int) -> str:
    """The state of a combined bit-flag code."""
    if code == 0:
        return NA
    if code == 1:
        return ALL
    if code == 2:
        return NONE
    return SOME


def group_key(ep: Endpoint, by: str) -> str:
    """The row/column an endpoint belongs to when aggregating."""
    if by == "namespace":
        return ep.namespace
    if by == "workload":
        return ep.owner or ep.key
    return ep.key


def groups(m: Matrix, by: str) -> tuple[list[str], list[int]]:
    """The group labels (in first-seen order) and each endpoint's group."""
    labels: list[str] = []
    index: dict[str, int] = {}
    of: list[int] = []
    for ep in m.endpoints:
        k = group_key(ep, by)
        g = index.get(k)
        if g is None:
            g = index[k] = len(labels)
            labels.append(k)
        of.append(g)
    return labels, of


def aggregate(m: Matrix, by: str) -> tuple[list[str], Callable[[int, int], str]]:
    """Group endpoints and combine cells: all / none / some over every pair of the groups.

    When grouping, a pod's cell with itself is left out (a pod always reaches itself); per pod
    (``by="pod"``) it is shown. On a :class:`ClassMatrix` this works on classes, not endpoint
    pairs (see :func:`aggregate_codes`).
    """
    if by == "pod" and len({e.key for e in m.endpoints}) == len(m):
        return [e.key for e in m.endpoints], m.state
    if isinstance(m, ClassMatrix):
        labels, codes = aggregate_codes(m, by)
        return labels, lambda a, b: decode(int(codes[a, b]))
    labels, of = groups(m, by)
    members: list[list[int]] = [[] for _ in labels]
    for i, g in enumerate(of):
        members[g].append(i)

    def cell(a: int, b: int) -> str:
        code = 0
        for i in members[a]:
            for j in members[b]:
                if i == j and by != "pod" and m.endpoints[i].is_pod:
                    continue
                code |= _CODE.get(m.state(i, j), 0)
        return decode(code)

    return labels, cell


def aggregate_codes(m: ClassMatrix, by: str) -> tuple[list[str], npt.NDArray[np.uint8]]:
    """Group-by-group state codes (bit flags, see :func:`decode`), from class-by-class states.

    Every endpoint pair of groups ``A x B`` has the state of its class pair, so the groups' cell
    is the OR of the class-pair codes over the (group, class) pairs present. The only exception
    is a pod's pair with itself, left out: it matters only when a (group, class) has exactly one
    member and that member is a pod; those diagonal cells are recomputed without it.
    """
    labels, of = groups(m, by)
    comp = m.compiled
    n_cls = comp.classes.n
    state = comp.states()
    cls = comp.classes.cls.astype(np.int64)
    key = np.asarray(of, dtype=np.int64) * max(1, n_cls) + cls
    pairs, first, sizes = np.unique(key, return_index=True, return_counts=True)
    pair_g = pairs // max(1, n_cls)
    pair_c = pairs % max(1, n_cls)
    is_pod = np.asarray([e.is_pod for e in m.endpoints], dtype=np.bool_)
    # per pod, the cell of a pod with itself is shown (always reachable); in groups it is left out
    lonely_pod = (sizes == 1) & is_pod[first] & (by != "pod")
    starts = np.flatnonzero(np.r_[True, pair_g[1:] != pair_g[:-1]])
    by_rows = np.bitwise_or.reduceat(state[pair_c], starts, axis=0) if len(pairs) else state[:0]
    codes = np.bitwise_or.reduceat(by_rows[:, pair_c], starts, axis=1) if len(pairs) else by_rows[:, :0]
    bounds = [*starts.tolist(), len(pairs)]
    for gi in range(len(starts)):
        lo, hi = bounds[gi], bounds[gi + 1]
        if not lonely_pod[lo:hi].any():
            continue
        cs = pair_c[lo:hi]
        block = state[np.ix_(cs, cs)].copy()
        diag = np.arange(hi - lo)
        block[diag, diag] = np.where(lonely_pod[lo:hi], 0, block[diag, diag])
        codes[gi, gi] = np.bitwise_or.reduce(block, axis=None)
    return labels, codes


__all__ = ["GROUPINGS", "aggregate", "aggregate_codes", "decode", "group_key", "groups"]
