"""Port sets in the JSON encoding the report shares with ``podwall diff`` (``PortSet.to_json``).

``{"TCP": [[lo, hi], ...], "UDP": [...], "SCTP": [...]}``: per protocol, sorted, disjoint,
non-adjacent inclusive ranges; protocols without a port are left out, so ``{}`` is the empty
set. The sets themselves are :class:`podwall.core.portsets.PortSet`; this module encodes the
matrix's checked ports fast, and reads encoded sets for the page's labels. No decisions here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from podwall.core.model import Protocol
from podwall.core.reachability import PortKey

PortSetJSON = dict[str, list[list[int]]]
"""The encoded form: protocol name -> ranges."""

PROTOCOLS = ("TCP", "UDP", "SCTP")
ALL_PORTS: tuple[int, int] = (1, 65535)


def from_keys(keys: Iterable[PortKey]) -> PortSetJSON:
    """The set of some ``(protocol, port)`` pairs (the matrix's checked ports), encoded.

    The same as ``PortSet(...).to_json()`` (:mod:`podwall.core.portsets`), without building the
    set: this runs once per node and edge of large reports.
    """
    by: dict[str, list[int]] = {}
    for proto, port in keys:
        by.setdefault(proto.value, []).append(port)
    out: PortSetJSON = {}
    for name in PROTOCOLS:
        ports = by.get(name)
        if not ports:
            continue
        ports.sort()
        ranges: list[list[int]] = []
        for p in ports:
            if ranges and p <= ranges[-1][1] + 1:
                if p > ranges[-1][1]:
                    ranges[-1][1] = p
            else:
                ranges.append([p, p])
        out[name] = ranges
    return out


def contains(s: Mapping[str, Sequence[Sequence[int]]], protocol: Protocol | str, port: int) -> bool:
    return any(lo <= port <= hi for lo, hi in s.get(str(protocol), ()))


def text(s: Mapping[str, Sequence[Sequence[int]]]) -> str:
    """``TCP 80,8080-8090; UDP 53``, ``TCP all`` for a whole protocol, ``all`` for everything,
    ``none`` when empty (the labels of the page and of ``podwall graph``)."""
    if all(len(s.get(p, ())) == 1 and tuple(s[p][0]) == ALL_PORTS for p in PROTOCOLS):
        return "all"
    parts = []
    for proto in PROTOCOLS:
        ranges = s.get(proto)
        if not ranges:
            continue
        if len(ranges) == 1 and tuple(ranges[0]) == ALL_PORTS:
            parts.append(f"{proto} all")
            continue
        parts.append(proto + " " + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges))
    return "; ".join(parts) if parts else "none"


def first_ports(s: Mapping[str, Sequence[Sequence[int]]], limit: int) -> list[tuple[str, int]]:
    """Up to ``limit`` members, in order (the low end of each range first)."""
    out: list[tuple[str, int]] = []
    for proto in PROTOCOLS:
        for lo, hi in s.get(proto, ()):
            for port in range(lo, min(hi, lo + limit) + 1):
                if len(out) >= limit:
                    return out
                out.append((proto, port))
    return out
