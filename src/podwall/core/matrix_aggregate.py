"""A matrix by workload or namespace: cells combined over every endpoint pair of two groups.

A group's cell is ``all`` when every checked port of every pair is reachable, ``none`` when
none is, ``some`` otherwise, ``n/a`` when nothing is checked. On a :class:`ClassMatrix` the
combination works on classes, never on endpoint pairs (numpy, in row blocks of source
classes reduced at once to destination groups), so it costs classes x columns, not pods².
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from podwall.core.classes import Compiled
from podwall.core.names import group_key
from podwall.core.reachability import ALL, NA, NONE, SOME, ClassMatrix, Matrix

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


_BLOCK_CELLS = 1 << 24
"""Cells per row block: bounds the memory of the unpacked bits and of a block of pair codes."""


def class_pair_codes(
    comp: Compiled, rows: npt.NDArray[np.int64], dst: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint8]:
    """``[i, j]``: the state code (1 all, 2 none, 4 some, 0 nothing to check) of source class
    ``rows[i]`` towards destination class ``dst[j]``.

    A class has few checked ports, so instead of counting every column (a ``reduceat`` over
    classes x columns), the k-th port of every destination is gathered at once, for k up to the
    widest class: all ports reachable is an AND, none an OR, over those few gathers.
    """
    # transposed (destination-major), so that gathering the k-th port of every destination
    # copies whole rows
    bits_t = np.ascontiguousarray(np.unpackbits(comp.bits[rows], axis=1, count=comp.n_columns).view(np.bool_).T)
    start = comp.col_start[dst]
    width = comp.col_start[dst + 1] - start
    every = np.ones((len(dst), len(rows)), dtype=np.bool_)
    some = np.zeros((len(dst), len(rows)), dtype=np.bool_)
    for k in range(int(width.max()) if len(width) else 0):
        has = width > k
        col = np.take(bits_t, np.where(has, start + k, 0), axis=0)
        col[~has] = False
        some |= col
        col[~has] = True
        every &= col
    codes = np.full((len(dst), len(rows)), 2, dtype=np.uint8)
    codes[some] = 4
    codes[every] = 1
    codes[width == 0] = 0
    codes = np.ascontiguousarray(codes.T)
    return codes


def aggregate_codes(m: ClassMatrix, by: str) -> tuple[list[str], npt.NDArray[np.uint8]]:
    """Group-by-group state codes (bit flags, see :func:`decode`), from class-pair codes.

    Every endpoint pair of groups ``A x B`` has the code of its class pair, so the groups' cell
    is the OR of the class-pair codes over the (group, class) pairs present. Source classes are
    processed in row blocks, each reduced at once to its codes towards every destination group:
    memory stays bounded (classes x groups, never classes x classes), and the work is one pass
    over the bits. The only exception is a pod's pair with itself, left out: it matters only
    when a (group, class) has exactly one member and that member is a pod; those diagonal cells
    are recomputed without it.
    """
    labels, of = groups(m, by)
    comp = m.compiled
    n_cls = comp.classes.n
    if n_cls == 0 or not labels:
        return labels, np.zeros((len(labels), len(labels)), dtype=np.uint8)
    cls = comp.classes.cls.astype(np.int64)
    key = np.asarray(of, dtype=np.int64) * n_cls + cls
    pairs, first, sizes = np.unique(key, return_index=True, return_counts=True)
    pair_g = pairs // n_cls
    pair_c = pairs % n_cls
    is_pod = np.asarray([e.is_pod for e in m.endpoints], dtype=np.bool_)
    # per pod, the cell of a pod with itself is shown (always reachable); in groups it is left out
    lonely_pod = (sizes == 1) & is_pod[first] & (by != "pod")
    starts = np.flatnonzero(np.r_[True, pair_g[1:] != pair_g[:-1]])
    to_groups = np.zeros((n_cls, len(starts)), dtype=np.uint8)
    step = max(1, _BLOCK_CELLS // max(1, comp.n_columns, len(pairs)))
    for a0 in range(0, n_cls, step):
        rows = np.arange(a0, min(n_cls, a0 + step), dtype=np.int64)
        block = class_pair_codes(comp, rows, pair_c)
        to_groups[a0 : a0 + len(rows)] = np.bitwise_or.reduceat(block, starts, axis=1)
    codes = np.bitwise_or.reduceat(to_groups[pair_c], starts, axis=0)
    bounds = [*starts.tolist(), len(pairs)]
    for gi in range(len(starts)):
        lo, hi = bounds[gi], bounds[gi + 1]
        if not lonely_pod[lo:hi].any():
            continue
        cs = pair_c[lo:hi]
        square = class_pair_codes(comp, cs, cs)
        diag = np.arange(hi - lo)
        square[diag, diag] = np.where(lonely_pod[lo:hi], 0, square[diag, diag])
        codes[gi, gi] = np.bitwise_or.reduce(square, axis=None)
    return labels, codes


def symbol_rows(codes: npt.NDArray[np.uint8]) -> Callable[[int], list[str]]:
    """For a grid, row ``i``'s cells as symbols at once (``'.'``, ``'X'``, ``'~'``, ``'-'``),
    looked up from the group codes (:func:`aggregate_codes`) with numpy, not one call per cell."""
    table = np.asarray([_SYMBOL[decode(c)] for c in range(8)])
    return lambda i: table[codes[i]].tolist()


_SYMBOL = {ALL: ".", NONE: "X", SOME: "~", NA: "-"}
"""The text grid's symbols (as ``report.render.SYMBOL``; ``core`` cannot import ``report``)."""


__all__ = ["aggregate", "aggregate_codes", "class_pair_codes", "decode", "groups", "symbol_rows"]
