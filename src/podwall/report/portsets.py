"""Port sets in the JSON encoding the report shares with ``podwall diff``.

``{"TCP": [[lo, hi], ...], "UDP": [...], "SCTP": [...]}``: per protocol, sorted, disjoint,
non-adjacent inclusive ranges; protocols without a port are left out, so ``{}`` is the empty
set. This module only converts the report's inputs (checked ports, a rule's ``ports`` list)
into that encoding and combines encoded sets; it makes no reachability decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from podwall.core.model import PortSpec, Protocol
from podwall.core.reachability import PortKey

PortSetJSON = dict[str, list[list[int]]]
"""The encoded form: protocol name -> ranges."""

PROTOCOLS = ("TCP", "UDP", "SCTP")
ALL_PORTS: tuple[int, int] = (1, 65535)


def _normalise(ranges: Iterable[Sequence[int]]) -> list[list[int]]:
    out: list[list[int]] = []
    for lo, hi in sorted((int(r[0]), int(r[1])) for r in ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return out


def from_ranges(by_protocol: Mapping[str, Iterable[Sequence[int]]]) -> PortSetJSON:
    """An encoded set from ``{protocol: ranges}`` (any order, overlaps allowed)."""
    out: PortSetJSON = {}
    for proto in PROTOCOLS:
        ranges = _normalise(by_protocol.get(proto, ()))
        if ranges:
            out[proto] = ranges
    return out


def from_keys(keys: Iterable[PortKey]) -> PortSetJSON:
    """The set of some ``(protocol, port)`` pairs (the matrix's checked ports)."""
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


def from_specs(specs: Sequence[PortSpec]) -> PortSetJSON:
    """What a rule's ``ports`` admits towards an address outside the cluster.

    An empty list is every port of every protocol; a named port never matches an address
    outside the cluster (it has no container ports), so it adds nothing.
    """
    if not specs:
        return {p: [list(ALL_PORTS)] for p in PROTOCOLS}
    by: dict[str, list[tuple[int, int]]] = {}
    for s in specs:
        if isinstance(s.port, str):
            continue
        lo, hi = ALL_PORTS if s.port is None else (s.port, s.end_port if s.end_port is not None else s.port)
        by.setdefault(s.protocol.value, []).append((lo, hi))
    return from_ranges(by)


def union(*sets: Mapping[str, Sequence[Sequence[int]]]) -> PortSetJSON:
    by: dict[str, list[Sequence[int]]] = {}
    for s in sets:
        for proto, ranges in s.items():
            by.setdefault(proto, []).extend(ranges)
    return from_ranges(by)


def contains(s: Mapping[str, Sequence[Sequence[int]]], protocol: Protocol | str, port: int) -> bool:
    return any(lo <= port <= hi for lo, hi in s.get(str(protocol), ()))


def text(s: Mapping[str, Sequence[Sequence[int]]]) -> str:
    """``TCP 80,8080-8090; UDP 53`` (``TCP all`` for the whole range; ``all`` for everything); ``none`` when empty."""
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


def difference(a: Mapping[str, Sequence[Sequence[int]]], b: Mapping[str, Sequence[Sequence[int]]]) -> PortSetJSON:
    """The members of ``a`` that are not in ``b``."""
    out: dict[str, list[tuple[int, int]]] = {}
    for proto in PROTOCOLS:
        cur = [(int(r[0]), int(r[1])) for r in _normalise(a.get(proto, ()))]
        for lo_b, hi_b in _normalise(b.get(proto, ())):
            nxt: list[tuple[int, int]] = []
            for lo, hi in cur:
                if hi < lo_b or lo > hi_b:
                    nxt.append((lo, hi))
                    continue
                if lo < lo_b:
                    nxt.append((lo, lo_b - 1))
                if hi > hi_b:
                    nxt.append((hi_b + 1, hi))
            cur = nxt
        if cur:
            out[proto] = cur
    return from_ranges(out)
