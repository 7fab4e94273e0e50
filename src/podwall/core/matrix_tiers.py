"""Cluster-wide tiers over the whole port space, per class (:mod:`podwall.core.matrix_ports`).

The per-pair rule is :func:`podwall.core.connectivity.direction_decision`; here it runs on bit
masks over port atoms, for every target (classes, then address ranges) at once:

* a rule of a policy selecting the subject class takes, for each target its peers match, the
  atoms its ports admit that no earlier rule of the tier took (first match first);
* ``allowed = accept | (lower & np)`` when NetworkPolicy isolates the subject for the direction,
  else ``accept | (lower & ~baseline_deny)``, where ``lower`` is what the Admin tier did not
  decide by ``Accept`` or ``Deny`` (its ``Pass`` included) and ``np`` the NetworkPolicy row.

Address ranges are matched by ``networks``, ``nodes`` and ``domainNames`` peers (every range
lies wholly inside or outside each such network: the ranges are split at their boundaries,
:func:`~podwall.core.connectivity.address_ranges`); ``namespaces``/``pods`` peers match classes
only. Pure computation: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from podwall.core.connectivity import AddressRange, tier_rule_ports
from podwall.core.model import Direction, Endpoint, IPNetwork, Tier, TierAction
from podwall.core.portsets import PortSet
from podwall.core.tier_classes import TierVectors
from podwall.core.tiers import peer_networks

Words = npt.NDArray[np.uint64]
BoolVec = npt.NDArray[np.bool_]
_MATCH_CACHE_BYTES = 1 << 28
"""At most this much memory (256 MiB) for the rules' per-target masks kept for reuse."""


def ranges_in(net: IPNetwork, versions: npt.NDArray[np.int64], firsts: Sequence[int]) -> BoolVec:
    """Which address ranges lie in ``net``, each given by its IP version and first address (a
    range lies wholly inside or outside every network the ranges were split at)."""
    lo, hi = int(net.network_address), int(net.broadcast_address)
    out: BoolVec = np.asarray([lo <= v <= hi for v in firsts], dtype=np.bool_) & (versions == net.version)
    return out


class Atoms(Protocol):
    """What :class:`TierMasks` needs of :class:`~podwall.core.matrix_ports.PortAtoms` (no import: no cycle)."""

    @property
    def all_mask(self) -> int: ...

    def mask(self, ps: PortSet) -> int: ...

    def to_words(self, mask: int) -> Words: ...


class TierMasks:
    """The cluster-wide policies of a cluster as masks over targets and port atoms."""

    def __init__(
        self,
        tv: TierVectors,
        ranges: Sequence[AddressRange],
        atoms: Atoms,
        ptype_eps: Sequence[Endpoint],
        dest_ptype: npt.NDArray[np.int64],
    ) -> None:
        self.tv = tv
        n = tv.cl.n
        self.m = n + len(ranges)
        self.atoms = atoms
        self.dest_ptype = dest_ptype
        self.all_words: Words = atoms.to_words(atoms.all_mask)
        versions = np.asarray([r.version for r in ranges], dtype=np.int64)
        firsts = [r.ranges[0][0] for r in ranges]  # each range's first address stands for it
        self.peers: list[BoolVec] = []
        for vec, peers in zip(tv.peer_vecs, tv.peer_keys, strict=True):
            v = np.zeros(self.m, dtype=np.bool_)
            v[:n] = vec
            for peer in peers:
                if peer.kind in ("namespaces", "pods"):
                    continue
                for net in peer_networks(tv.cluster, tv.options, peer) or ():
                    v[n:] |= ranges_in(net, versions, firsts)
            self.peers.append(v)
        self._match: dict[tuple[int, int, int | None], Words] = {}
        """Per rule ``(peers, ports list, destination port type)``: the atoms it admits per target."""
        self._match_bytes = 0
        self.ports: dict[int, Words] = {}
        """``[ports list id]``: ``(port types, W)``, the list's ports towards each destination port type."""
        for ports, lid in tv.port_lists.items():
            self.ports[lid] = np.stack([atoms.to_words(atoms.mask(tier_rule_ports(ports, ep))) for ep in ptype_eps])

    def signature(self, c: int) -> tuple[tuple[int, ...], ...]:
        """The Admin and Baseline policies selecting class ``c`` (``()``: the tiers leave it alone)."""
        sel = self.tv.selecting
        adm, base = sel[Tier.ADMIN][c], sel[Tier.BASELINE][c]
        return (tuple(adm), tuple(base)) if adm or base else ()

    def _taken(
        self, direction: Direction, tier: Tier, c: int, ptype: int | None, space: Words
    ) -> list[tuple[TierAction, Words]]:
        """The parts of ``space`` each rule of ``tier`` at class ``c`` takes, first match first.

        ``ptype`` ``None``: egress (the port type is each target's); else ingress into a
        destination of that port type."""
        out: list[tuple[TierAction, Words]] = []
        left = space.copy()
        for pid, lid, action in self.tv.rules_of(tier, direction, c):
            key = (pid, lid, ptype)
            match = self._match.get(key)
            if match is None:
                table = self.ports[lid]
                admits = table[self.dest_ptype] if ptype is None else table[ptype][None, :]
                match = np.where(self.peers[pid][:, None], admits, np.uint64(0))
                if self._match_bytes + match.nbytes <= _MATCH_CACHE_BYTES:
                    self._match[key] = match
                    self._match_bytes += match.nbytes
            part = match & left
            if not part.any():
                continue
            out.append((action, part))
            left &= ~part
            if not left.any():
                break
        return out

    def apply(self, direction: Direction, c: int, np_row: Words, isolated: bool, ptype: int | None) -> Words:
        """The row (egress at class ``c``) or column (ingress into it) with the tiers applied to
        the NetworkPolicy answer ``np_row`` (everything when ``isolated`` is false)."""
        full = np.broadcast_to(self.all_words, np_row.shape).copy()
        accept = np.zeros_like(np_row)
        lower = full.copy()
        for action, part in self._taken(direction, Tier.ADMIN, c, ptype, full):
            if action is TierAction.ACCEPT:
                accept |= part
            if action is not TierAction.PASS:
                lower &= ~part
        if isolated:
            return accept | (lower & np_row)
        denied = np.zeros_like(np_row)
        for action, part in self._taken(direction, Tier.BASELINE, c, ptype, lower):
            if action is TierAction.DENY:
                denied |= part
        out: Words = accept | (lower & ~denied)
        return out


__all__ = ["TierMasks", "ranges_in"]
