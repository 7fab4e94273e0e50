"""Who can reach whom: the all-pairs matrix over a cluster's endpoints.

Each destination is checked on a list of ports: one given port, or, without one, the
destination's own declared container ports (the ports something actually listens on). A cell
holds the ports of that list that the source may reach.

:func:`reference_matrix` is the straightforward evaluation, one :meth:`Engine.verdict` per
(source, destination, port). It is the oracle that faster implementations are tested against.

:func:`matrix` is what commands use: verdicts computed once per class of equivalent endpoints
and vectorised (:mod:`podwall.core.classes`), then read per endpoint pair on demand. The two
must agree exactly, cell for cell (``tests/scale`` checks it on random clusters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from podwall.core.columns import PortKey, Progress, checked_ports
from podwall.core.evaluate import Engine
from podwall.core.model import Endpoint, Protocol

if TYPE_CHECKING:  # numpy is imported only when a matrix is computed (keeps `podwall can` lean)
    from podwall.core.classes import Compiled

ALL, NONE, SOME, NA = "all", "none", "some", "n/a"


class Matrix:
    """Reachability between endpoints (rows: sources, columns: destinations, same order)."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        checked: Sequence[tuple[PortKey, ...]],
        allowed: Callable[[int, int], tuple[PortKey, ...]],
    ) -> None:
        self.endpoints = tuple(endpoints)
        self._checked = tuple(checked)
        self._allowed = allowed

    def __len__(self) -> int:
        return len(self.endpoints)

    def checked(self, j: int) -> tuple[PortKey, ...]:
        """The ports checked towards destination ``j``."""
        return self._checked[j]

    def allowed(self, i: int, j: int) -> tuple[PortKey, ...]:
        """The checked ports of ``j`` that ``i`` may reach."""
        return self._allowed(i, j)

    def state(self, i: int, j: int) -> str:
        """``all``, ``none``, ``some`` of the checked ports, or ``n/a`` (nothing to check)."""
        total = len(self._checked[j])
        if total == 0:
            return NA
        n = len(self._allowed(i, j))
        return ALL if n == total else NONE if n == 0 else SOME


def reference_matrix(
    engine: Engine,
    endpoints: Sequence[Endpoint] | None = None,
    *,
    port: int | None = None,
    protocol: Protocol = Protocol.TCP,
) -> Matrix:
    """The matrix by plain per-pair evaluation (the oracle)."""
    eps = tuple(engine.cluster.endpoints if endpoints is None else endpoints)
    checked = [checked_ports(e, port, protocol) for e in eps]
    cells: list[list[tuple[PortKey, ...]]] = []
    for src in eps:
        row = []
        for j, dst in enumerate(eps):
            row.append(tuple(pk for pk in checked[j] if engine.allowed(src, dst, pk[1], pk[0])))
        cells.append(row)
    return Matrix(eps, checked, lambda i, j: cells[i][j])


class ClassMatrix(Matrix):
    """A :class:`Matrix` read from the compiled class form; same answers, computed once per class.

    ``compiled.classes.cls[i]`` is the class of endpoint ``i``; a cell is the class-pair cell,
    except that a pod always reaches itself (every checked port).
    """

    def __init__(self, endpoints: Sequence[Endpoint], compiled: Compiled) -> None:
        self.compiled = compiled
        self._cls = compiled.classes.cls
        self._cls_list: list[int] = self._cls.tolist()
        self._is_pod = [e.is_pod for e in endpoints]
        checked = [compiled.checked[c] for c in self._cls_list]
        super().__init__(endpoints, checked, self._cell)

    def _cell(self, i: int, j: int) -> tuple[PortKey, ...]:
        if i == j and self._is_pod[i]:
            return self._checked[j]
        return self.compiled.allowed(self._cls_list[i], self._cls_list[j])

    def state(self, i: int, j: int) -> str:
        total = len(self._checked[j])
        if total == 0:
            return NA
        n = len(self._cell(i, j))
        return ALL if n == total else NONE if n == 0 else SOME

    def row(self, i: int) -> Iterator[tuple[int, tuple[PortKey, ...]]]:
        """``(j, allowed ports)`` for every destination ``j`` of source ``i``, fast."""
        comp = self.compiled
        bits = comp.row(self._cls_list[i])
        start = comp.col_start.tolist()
        memo: dict[int, tuple[PortKey, ...]] = {}
        for j, b in enumerate(self._cls_list):
            if i == j and self._is_pod[i]:
                yield j, self._checked[j]
                continue
            hit = memo.get(b)
            if hit is None:
                s = start[b]
                hit = memo[b] = tuple(pk for k, pk in enumerate(comp.checked[b]) if bits[s + k])
            yield j, hit


def matrix(
    engine: Engine,
    endpoints: Sequence[Endpoint] | None = None,
    *,
    port: int | None = None,
    protocol: Protocol = Protocol.TCP,
    progress: Progress | None = None,
) -> ClassMatrix:
    """The reachability matrix (the implementation the commands use), per equivalence class."""
    from podwall.core.classes import compile_reachability

    eps = tuple(engine.cluster.endpoints if endpoints is None else endpoints)
    compiled = compile_reachability(
        engine.cluster, engine.options, eps, port=port, protocol=protocol, progress=progress
    )
    return ClassMatrix(eps, compiled)


__all__ = [
    "ALL",
    "NA",
    "NONE",
    "SOME",
    "ClassMatrix",
    "Matrix",
    "PortKey",
    "Progress",
    "checked_ports",
    "matrix",
    "reference_matrix",
]
