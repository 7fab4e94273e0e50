"""Which endpoints a peer matches, per equivalence class: lint's index of the cluster.

Lint asks, for every peer of every rule, which pods it matches (to say a peer matches nothing,
to count what two ORed peers admit, to resolve ports on the destinations). Scanning the pods of
every selected namespace per peer costs peers x pods. The classes of :mod:`podwall.core.classes`
answer it as one boolean vector over classes per peer (numpy, C speed), and the callers get one
representative per class with the class's size: every member of a class has the same labels
that matter, the same namespace and the same declared ports, so it matches the same peers and
resolves the same named ports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from podwall.core.classes import Classes
from podwall.core.model import Cluster, Endpoint, Options, Peer


@dataclass(frozen=True, kw_only=True)
class Hits:
    """The endpoints something matches, as class representatives."""

    reps: tuple[Endpoint, ...]
    """One endpoint per matching class, in class order."""
    count: int
    """How many endpoints match in all."""

    def __bool__(self) -> bool:
        return self.count > 0


class PeerIndex:
    """Peer matching over the classes of one cluster's endpoints."""

    def __init__(self, cluster: Cluster, options: Options) -> None:
        self.classes = Classes(cluster, options, cluster.endpoints)
        self._sizes = self.classes.sizes.tolist()

    def peer(self, peer: Peer, policy_namespace: str) -> Hits:
        """What ``peer`` of a policy in ``policy_namespace`` matches (as ``peer_matches`` does).

        The peer's selectors and ipBlock must be among the cluster's (the classes tell apart
        only what the cluster's policies mention); a peer that combines selectors of two
        peers of the cluster is fine.
        """
        cl = self.classes
        if cl.n == 0:
            return Hits(reps=(), count=0)
        idx = np.flatnonzero(cl.peer(peer, policy_namespace)).tolist()
        return Hits(reps=tuple(cl.reps[c] for c in idx), count=sum(self._sizes[c] for c in idx))


__all__ = ["Hits", "PeerIndex"]
