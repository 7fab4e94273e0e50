"""Who can reach whom: the all-pairs matrix over a cluster's endpoints.

Each destination is checked on a list of ports: one given port, or, without one, the
destination's own declared container ports (the ports something actually listens on). A cell
holds the ports of that list that the source may reach.

:func:`reference_matrix` is the straightforward evaluation, one :meth:`Engine.verdict` per
(source, destination, port). It is the oracle that faster implementations are tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from podwall.core.evaluate import Engine
from podwall.core.model import Endpoint, Protocol

PortKey = tuple[Protocol, int]
"""A checked port: ``(protocol, number)``."""

ALL, NONE, SOME, NA = "all", "none", "some", "n/a"


def checked_ports(ep: Endpoint, port: int | None, protocol: Protocol) -> tuple[PortKey, ...]:
    """The ports checked towards ``ep``: the given one, or its declared container ports."""
    if port is not None:
        return ((protocol, port),)
    seen: dict[PortKey, None] = {}
    for cp in ep.ports:
        seen[(cp.protocol, cp.port)] = None
    return tuple(seen)


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


def matrix(
    engine: Engine,
    endpoints: Sequence[Endpoint] | None = None,
    *,
    port: int | None = None,
    protocol: Protocol = Protocol.TCP,
) -> Matrix:
    """The reachability matrix (the implementation the commands use)."""
    return reference_matrix(engine, endpoints, port=port, protocol=protocol)
