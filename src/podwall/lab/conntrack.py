"""Cutting established connections that the policies no longer allow (``lab apply --cut``).

NetworkPolicy says nothing about connections that exist when a policy changes; by default the
lab keeps them (``ct state established`` is accepted first). The strict choice deletes, after
the new rules are in, every conntrack entry of the node whose flow the engine no longer allows;
with TCP loose pick-up disabled in the node (``nf_conntrack_tcp_loose=0``), the flow's next
packet is then INVALID and dropped instead of being adopted as established.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess

from podwall.core.model import Endpoint, Protocol
from podwall.errors import LabError
from podwall.lab.probe import LabCluster


def cut_revoked(node: str, view: LabCluster) -> int:
    """Delete conntrack entries of flows the engine no longer allows; returns how many."""
    if shutil.which("conntrack") is None:
        raise LabError("cutting revoked connections needs conntrack (apt-get install conntrack)")
    by_ip: dict[str, Endpoint] = {}
    for ep in view.cluster.endpoints:
        for a in ep.ips:
            by_ip[a] = ep
    out = subprocess.run(
        ["ip", "netns", "exec", node, "conntrack", "-L"], capture_output=True, text=True, check=False
    ).stdout
    n = 0
    revoked: set[tuple[str, str, str, str]] = set()
    for line in out.splitlines():
        parts = line.split()
        if not parts or parts[0] not in ("tcp", "udp", "sctp"):
            continue
        kv: dict[str, str] = {}
        for p in parts:
            if "=" in p:
                k, _, v = p.partition("=")
                kv.setdefault(k, v)
        src, dst = by_ip.get(kv.get("src", "")), by_ip.get(kv.get("dst", ""))
        if src is None or dst is None or "dport" not in kv:
            continue
        proto = Protocol(parts[0].upper())
        if src is dst or view.engine.allowed(src, dst, int(kv["dport"]), proto):
            continue
        revoked.add((parts[0], kv["src"], kv["dst"], kv["dport"]))
        n += 1
    if revoked:
        # one conntrack -D per revoked (protocol, source, destination, port), all in one shell
        # in the node: a process per entry made a big cut take seconds
        script = "; ".join(
            shlex.join(["conntrack", "-D", "-p", kind, "-s", saddr, "-d", daddr, "--dport", dport])
            for kind, saddr, daddr, dport in sorted(revoked)
        )
        subprocess.run(
            ["ip", "netns", "exec", node, "sh", "-c", script + " 2>/dev/null; true"],
            capture_output=True,
            check=False,
        )
    return n
