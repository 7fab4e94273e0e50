"""The whole port space: sets of (protocol, port) as sorted, merged, inclusive intervals.

A :class:`PortSet` says which connections are allowed between two endpoints, for every
protocol a NetworkPolicy can name (TCP, UDP, SCTP) and every port 1-65535. It is immutable and
canonical: two sets with the same members have the same intervals, so ``==`` is set equality.

Text form (``str``), as ``podwall matrix --ports all`` and ``podwall diff`` print it::

    all                          every port of every protocol
    none                         nothing
    TCP 1-79,81-65535; UDP 53    per protocol, in the order TCP, UDP, SCTP

JSON form (:meth:`PortSet.to_json`), the one encoding every JSON output uses: only non-empty
protocols appear, ``{}`` is nothing::

    {"TCP": [[1, 79], [81, 65535]], "UDP": [[53, 53]]}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from podwall.core.model import Protocol

MIN_PORT = 1
MAX_PORT = 65535
PROTOCOLS = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)
"""The protocols of a port set, in their printing order."""

Interval = tuple[int, int]
"""An inclusive ``(lo, hi)`` port range."""

_FULL: tuple[Interval, ...] = ((MIN_PORT, MAX_PORT),)


def _normalise(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted, merged (overlapping or adjacent), clipped to 1-65535."""
    items = sorted((max(lo, MIN_PORT), min(hi, MAX_PORT)) for lo, hi in intervals)
    out: list[list[int]] = []
    for lo, hi in items:
        if lo > hi:
            continue
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _complement(a: Sequence[Interval]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    nxt = MIN_PORT
    for lo, hi in a:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_PORT:
        out.append((nxt, MAX_PORT))
    return tuple(out)


def _ranges_text(intervals: Sequence[Interval]) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in intervals)


class PortSet:
    """An immutable set of ``(protocol, port)``; see the module docstring for its forms."""

    __slots__ = ("_by", "_hash")

    def __init__(self, by_protocol: Mapping[Protocol, Iterable[Interval]] | None = None) -> None:
        """Build from intervals per protocol (any order, overlaps allowed; they are normalised)."""
        by = by_protocol or {}
        self._by: tuple[tuple[Interval, ...], ...] = tuple(_normalise(by.get(p, ())) for p in PROTOCOLS)
        self._hash = hash(self._by)

    @classmethod
    def _raw(cls, by: tuple[tuple[Interval, ...], ...]) -> PortSet:
        obj = cls.__new__(cls)
        obj._by = by
        obj._hash = hash(by)
        return obj

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def all(cls) -> PortSet:
        """Every port of every protocol."""
        return cls._raw((_FULL, _FULL, _FULL))

    @classmethod
    def none(cls) -> PortSet:
        """Nothing."""
        return cls._raw(((), (), ()))

    @classmethod
    def of(cls, protocol: Protocol, lo: int | None = None, hi: int | None = None) -> PortSet:
        """One protocol: every port (``lo`` omitted), one port, or the range ``lo..hi``."""
        if lo is None:
            return cls({protocol: _FULL})
        return cls({protocol: [(lo, lo if hi is None else hi)]})

    @classmethod
    def parse(cls, text: str) -> PortSet:
        """The inverse of ``str``: ``all``, ``none`` or ``TCP 1-79,81-65535; UDP 53``."""
        text = text.strip()
        if text == "all":
            return cls.all()
        if text == "none":
            return cls.none()
        by: dict[Protocol, list[Interval]] = {}
        for part in text.split(";"):
            words = part.split()
            if len(words) != 2:
                raise ValueError(f"not a port set: {text!r}")
            proto = Protocol(words[0].upper())
            for item in words[1].split(","):
                lo, _, hi = item.partition("-")
                by.setdefault(proto, []).append((int(lo), int(hi or lo)))
        return cls(by)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PortSet:
        """The inverse of :meth:`to_json`."""
        by: dict[Protocol, list[Interval]] = {}
        for key, items in data.items():
            by[Protocol(key)] = [(int(lo), int(hi)) for lo, hi in items]
        return cls(by)

    # -- reading ---------------------------------------------------------------------------
    def intervals(self, protocol: Protocol) -> tuple[Interval, ...]:
        """The sorted, merged intervals of one protocol."""
        return self._by[PROTOCOLS.index(protocol)]

    def items(self) -> Iterator[tuple[Protocol, tuple[Interval, ...]]]:
        """``(protocol, intervals)`` for each non-empty protocol, in printing order."""
        for p, iv in zip(PROTOCOLS, self._by, strict=True):
            if iv:
                yield p, iv

    def contains(self, protocol: Protocol, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self.intervals(protocol))

    def count(self) -> int:
        """How many (protocol, port) pairs the set holds."""
        return sum(hi - lo + 1 for iv in self._by for lo, hi in iv)

    @property
    def is_empty(self) -> bool:
        return not any(self._by)

    @property
    def is_all(self) -> bool:
        return all(iv == _FULL for iv in self._by)

    def __bool__(self) -> bool:
        return not self.is_empty

    # -- algebra ---------------------------------------------------------------------------
    def __or__(self, other: PortSet) -> PortSet:
        return PortSet._raw(tuple(_normalise((*a, *b)) for a, b in zip(self._by, other._by, strict=True)))

    def __and__(self, other: PortSet) -> PortSet:
        return PortSet._raw(tuple(_intersect(a, b) for a, b in zip(self._by, other._by, strict=True)))

    def __sub__(self, other: PortSet) -> PortSet:
        return PortSet._raw(tuple(_intersect(a, _complement(b)) for a, b in zip(self._by, other._by, strict=True)))

    def union(self, other: PortSet) -> PortSet:
        return self | other

    def intersection(self, other: PortSet) -> PortSet:
        return self & other

    def difference(self, other: PortSet) -> PortSet:
        return self - other

    def complement(self) -> PortSet:
        return PortSet._raw(tuple(_complement(a) for a in self._by))

    def issubset(self, other: PortSet) -> bool:
        return (self - other).is_empty

    # -- forms -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, list[list[int]]]:
        """``{"TCP": [[lo, hi], ...], ...}`` with only the non-empty protocols (``{}``: nothing)."""
        return {p.value: [[lo, hi] for lo, hi in iv] for p, iv in self.items()}

    def __str__(self) -> str:
        if self.is_all:
            return "all"
        if self.is_empty:
            return "none"
        return "; ".join(f"{p.value} {_ranges_text(iv)}" for p, iv in self.items())

    def __repr__(self) -> str:
        return f"PortSet.parse({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortSet) and self._by == other._by

    def __hash__(self) -> int:
        return self._hash


__all__ = ["MAX_PORT", "MIN_PORT", "PROTOCOLS", "Interval", "PortSet"]
