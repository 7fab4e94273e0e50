"""A stand-in for the kubelet and the CNI, playing their part against the API emulator.

No container runs here, so a test thread does what a node would: it gives new pods an IP and the
phase Running, and when a pod (or an ephemeral container) runs agnhost ``connect``, it decides what
the "network" does and writes the container's exit code and termination message, as a kubelet
reports them. ``network`` is the test's CNI: a function of (source pod, host, port, protocol) that
returns agnhost's output (``""`` for connected, ``"TIMEOUT"``, ``"REFUSED"``, ``"DNS: ..."``).

All of this is bookkeeping on objects in the emulator: no packet is sent anywhere.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.live.emulator import ApiEmulator

Network = Callable[[dict[str, Any], str, int, str], str]


def _connect_args(container: dict[str, Any]) -> tuple[str, int, str] | None:
    cmd = [str(c) for c in [*(container.get("command") or []), *(container.get("args") or [])]]
    if "connect" not in cmd:
        return None
    proto = next((c.split("=", 1)[1] for c in cmd if c.startswith("--protocol=")), "tcp")
    host, _, port = cmd[-1].rpartition(":")
    return host, int(port), proto


@dataclass
class Kubelet:
    emu: ApiEmulator
    network: Network
    interval: float = 0.05
    ips: itertools.count[int] = field(default_factory=lambda: itertools.count(10))
    probes: list[tuple[str, str, int, str, str]] = field(default_factory=list)
    """(source pod ns/name, host, port, protocol, outcome) of every connect it played."""
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Kubelet:
        self._thread = threading.Thread(target=self._loop, name="kubelet", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:
                self.errors.append(repr(exc))
            self._stop.wait(self.interval)

    def _patch_status(self, pod: dict[str, Any], status: dict[str, Any]) -> None:
        meta = pod["metadata"]
        self.emu.call(
            "PATCH",
            f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
            {"status": status},
            backend=True,
        )

    def tick(self) -> None:
        _, data = self.emu.call("GET", "/api/v1/pods", backend=True)
        for pod in (data or {}).get("items") or []:
            spec = pod.get("spec") or {}
            status = pod.get("status") or {}
            if not status.get("phase"):
                n = next(self.ips)
                ip = f"10.77.{n // 250}.{n % 250 + 1}"
                containers = spec.get("containers") or []
                probe = _connect_args(containers[0]) if containers else None
                if probe is None:
                    self._patch_status(pod, {"phase": "Running", "podIP": ip})
                    continue
                pod = {**pod, "status": {"podIP": ip}}
                out = self.play(pod, probe)
                self._patch_status(
                    pod,
                    {
                        "phase": "Succeeded" if not out else "Failed",
                        "podIP": ip,
                        "containerStatuses": [
                            {
                                "name": containers[0]["name"],
                                "state": {"terminated": {"exitCode": 0 if not out else 1, "message": out}},
                            }
                        ],
                    },
                )
                continue
            done = {s.get("name") for s in status.get("ephemeralContainerStatuses") or []}
            fresh = [c for c in spec.get("ephemeralContainers") or [] if c.get("name") not in done]
            if fresh:
                statuses = list(status.get("ephemeralContainerStatuses") or [])
                for c in fresh:
                    probe = _connect_args(c)
                    out = self.play(pod, probe) if probe else ""
                    statuses.append(
                        {"name": c["name"], "state": {"terminated": {"exitCode": 0 if not out else 1, "message": out}}}
                    )
                self._patch_status(pod, {"ephemeralContainerStatuses": statuses})

    def play(self, pod: dict[str, Any], probe: tuple[str, int, str]) -> str:
        host, port, proto = probe
        out = self.network(pod, host, port, proto)
        meta = pod["metadata"]
        self.probes.append((f"{meta['namespace']}/{meta['name']}", host, port, proto, out or "connected"))
        return out
