"""What a lab remembers between invocations: ``/run/podwall/<lab>/state.json``.

Root-only, on tmpfs, so a reboot forgets it together with the namespaces. It keeps a snapshot
of the input texts (so ``lab test`` judges the kernel against exactly what was applied, even if
the files changed since), the plan, the ruleset as applied, the listener's PID, and the
*phase*: ``building`` from the first step of ``lab up`` until its last, ``applying`` during
``lab apply``, ``ready`` otherwise. A lab whose phase is not ``ready`` was interrupted
(killed, or a failure that could not clean up) and is damaged until ``lab up`` or ``lab down``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from podwall.core.model import HostNetworkMode, Options
from podwall.lab.topology import PodPlan

STATE_ROOT = "/run/podwall"
READY, BUILDING, APPLYING = "ready", "building", "applying"


@dataclass
class State:
    lab: str
    namespace: str
    options: dict[str, Any]
    sources: list[list[str]]
    pods: list[PodPlan] = field(default_factory=list)
    skipped: list[list[str]] = field(default_factory=list)
    ruleset: dict[str, Any] | None = None
    server_pid: int | None = None
    created: float = 0.0
    updated: float = 0.0
    phase: str = READY
    """``building`` (lab up), ``applying`` (lab apply) or ``ready``; files without it are ``ready``."""
    step: str = ""
    """The step of ``up``/``apply`` that began last (says where an interrupted one stopped)."""
    worker: int | None = None
    """The PID of the process running ``up``/``apply`` (to tell "still running" from "killed")."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> State:
        """Raises ValueError, KeyError or TypeError when the text is not a state."""
        d = json.loads(text)
        d["pods"] = [
            PodPlan(
                key=p["key"],
                netns=p["netns"],
                ifname=p["ifname"],
                ips=tuple(p["ips"]),
                ports=tuple((int(x[0]), str(x[1])) for x in p["ports"]),
            )
            for p in d["pods"]
        ]
        return cls(**d)

    def opts(self) -> Options:
        return Options(
            ipblock_matches_pods=self.options.get("ipblock_matches_pods", True),
            host_network=HostNetworkMode(self.options.get("host_network", "node")),
        )


def options_dict(options: Options) -> dict[str, Any]:
    return {"ipblock_matches_pods": options.ipblock_matches_pods, "host_network": options.host_network.value}
