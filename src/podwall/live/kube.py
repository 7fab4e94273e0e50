"""The few writes podwall makes to a live cluster, on the reader's authenticated transport.

podwall only writes in ``doctor --active`` and ``test --live``, and only objects it names
``podwall-…`` and labels ``podwall.io/owner``: a scratch namespace (which deletes everything in it),
the pods and the NetworkPolicy inside it, and ephemeral probe containers in existing pods (which
Kubernetes cannot remove: they stay as terminated entries in that pod's status, as with
``kubectl debug``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from podwall.errors import ClusterError

OWNER_LABEL = "podwall.io/owner"
"""Every object podwall creates carries it (value: the run id), so a cleanup can find them."""

T = TypeVar("T")


class Requester(Protocol):
    """What :class:`podwall.sources.cluster.KubeTransport` offers: one authenticated request."""

    @property
    def where(self) -> str: ...

    def request(
        self, method: str, path: str, query: Sequence[tuple[str, str]] = (), body: Any = None, content_type: str = ""
    ) -> tuple[int, bytes]: ...


def run_id() -> str:
    """A short random id for the names of one run's objects (``podwall-probe-3f9a1c``)."""
    return secrets.token_hex(3)


class Kube:
    """JSON in, JSON out, errors as :class:`ClusterError` with the server's message."""

    def __init__(self, transport: Requester) -> None:
        self.transport = transport

    def _call(self, method: str, path: str, body: Any = None, *, ok: Sequence[int] = (200, 201, 202), **kw: Any) -> Any:
        ctype = "application/merge-patch+json" if method == "PATCH" else "application/json" if body is not None else ""
        status, raw = self.transport.request(method, path, kw.get("query", ()), body, ctype)
        if status not in ok:
            try:
                msg = json.loads(raw).get("message", "")
            except (ValueError, AttributeError):
                msg = ""
            raise ClusterError(f"{self.transport.where}: {method} {path}: {status}" + (f": {msg}" if msg else ""))
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def get_optional(self, path: str) -> Any:
        status, raw = self.transport.request("GET", path)
        if status == 404:
            return None
        if status != 200:
            raise ClusterError(f"{self.transport.where}: GET {path}: {status}")
        return json.loads(raw)

    def list(self, path: str, label_selector: str = "") -> list[Any]:
        query = [("labelSelector", label_selector)] if label_selector else []
        doc = self._call("GET", path, query=query)
        return list(doc.get("items") or []) if isinstance(doc, dict) else []

    def create(self, path: str, body: Any) -> Any:
        return self._call("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._call("PATCH", path, body)

    def delete(self, path: str) -> bool:
        """Delete; False when it was already gone."""
        status, _raw = self.transport.request("DELETE", path, (), None, "")
        if status == 404:
            return False
        if status not in (200, 202):
            raise ClusterError(f"{self.transport.where}: DELETE {path}: {status}")
        return True


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float, interval: float = 0.5) -> T:
    """Poll ``probe`` until it returns something, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got is not None:
            return got
        if time.monotonic() >= deadline:
            raise ClusterError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def terminated(status: Any) -> tuple[int, str] | None:
    """``(exit code, message)`` of a container status that has terminated, else None."""
    if not isinstance(status, dict):
        return None
    term = (status.get("state") or {}).get("terminated")
    if not isinstance(term, dict):
        return None
    return int(term.get("exitCode", -1)), str(term.get("message") or term.get("reason") or "")
