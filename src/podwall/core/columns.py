"""The checked ports of a destination, and the progress callback: shared by both matrix layers.

:mod:`podwall.core.reachability` (the matrix interface and the per-pair oracle) and
:mod:`podwall.core.classes` (the class-compressed implementation) both need these names; they
live here, below both, so that neither imports the other at module level.
"""

from __future__ import annotations

from collections.abc import Callable

from podwall.core.model import Endpoint, Protocol

PortKey = tuple[Protocol, int]
"""A checked port: ``(protocol, number)``."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called now and then during long computations."""


def checked_ports(ep: Endpoint, port: int | None, protocol: Protocol) -> tuple[PortKey, ...]:
    """The ports checked towards ``ep``: the given one, or its declared container ports."""
    if port is not None:
        return ((protocol, port),)
    seen: dict[PortKey, None] = {}
    for cp in ep.ports:
        seen[(cp.protocol, cp.port)] = None
    return tuple(seen)


__all__ = ["PortKey", "Progress", "checked_ports"]
