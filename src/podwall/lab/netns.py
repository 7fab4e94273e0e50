"""Realise and tear down a :class:`~podwall.lab.topology.LabPlan` with iproute2.

Safety rules (DEVELOPERS.md), enforced here:

* nothing is ever created in the root network namespace: veths are created *inside* the node
  namespace (``ip -n NODE link add ... peer name eth0 netns POD``), sysctls are set with
  ``ip netns exec NODE sysctl``, addresses and routes with ``ip -n``;
* every namespace name starts with ``podwall-<lab>-``; :func:`teardown` finds them by that
  prefix, kills the processes inside first (``ip netns pids``: a namespace deleted while a
  process runs in it lives on, unnamed, with its veth), then deletes them in one batch.

Batches (``ip -b``) keep creation fast: one batch for all ``netns add``, one for the node side,
one per pod (batch lines cannot carry ``-n``), run a few at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from podwall.errors import LabError
from podwall.lab.rtnl import configure_pod
from podwall.lab.topology import GATEWAY4, GATEWAY6, PodPlan

NETNS_DIR = "/run/netns"
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    """In the child: get SIGKILL when podwall dies, so a killed ``lab up`` cannot leave an
    ``ip`` batch behind that keeps creating namespaces after the cleanup."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def ip(args: Sequence[str], batch: str | None = None, *, tied: bool = False) -> str:
    """Run ``ip ARGS`` (with ``-b -`` reading ``batch``); raise LabError with ip's message.

    ``tied``: the process dies with podwall (for batches that create namespaces).
    """
    cmd = ["ip", *args]
    if batch is not None:
        cmd += ["-b", "-"]
    try:
        proc = subprocess.run(
            cmd,
            input=batch,
            capture_output=True,
            text=True,
            check=False,
            preexec_fn=_die_with_parent if tied else None,
        )
    except FileNotFoundError:
        raise LabError("the ip tool is missing (apt-get install iproute2)") from None
    if proc.returncode != 0:
        raise LabError(f"{' '.join(cmd[:4])}...: {proc.stderr.strip()[:500]}")
    return proc.stdout


def list_netns(prefix: str) -> list[str]:
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(prefix))


def pids_in(name: str) -> list[int]:
    """Processes whose network namespace is ``name`` (what ``ip netns pids`` prints)."""
    return pids_in_any([name])


def pids_in_any(names: Sequence[str]) -> list[int]:
    """Processes living in any of the named namespaces: one pass over /proc, no process spawned."""
    wanted = set()
    for n in names:
        try:
            st = os.stat(os.path.join(NETNS_DIR, n))
        except OSError:
            continue
        wanted.add((st.st_dev, st.st_ino))
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in wanted:
            out.append(int(entry))
    return sorted(out)


def kill_all(pids: Iterable[int], grace: float = 1.0) -> None:
    pids = [p for p in set(pids) if p != os.getpid()]
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if is_alive(p)]
        if alive:
            time.sleep(0.02)
    for p in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    for p in alive:
        for _ in range(100):
            if not is_alive(p):
                break
            time.sleep(0.01)


def is_alive(pid: int) -> bool:
    """Whether a process runs (reaping it if it is our exited child)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] != "Z"
    except FileNotFoundError:
        return False


def delete_netns(names: Sequence[str]) -> None:
    """Kill every process inside, then delete the namespaces (one batch)."""
    if not names:
        return
    kill_all(pids_in_any(names))
    ip([], batch="".join(f"netns del {n}\n" for n in names))
    left = [n for n in names if os.path.exists(os.path.join(NETNS_DIR, n))]
    if left:
        raise LabError(f"could not delete namespaces: {', '.join(left[:5])}")


def teardown(prefix: str) -> list[str]:
    """Remove every namespace named ``prefix*`` (and so every lab link); returns their names."""
    if not prefix.startswith("podwall-") or not prefix.endswith("-"):
        raise LabError(f"refusing to tear down {prefix!r}: not a podwall lab prefix")
    removed: list[str] = []
    for _ in range(5):  # again, in case something was still creating namespaces
        names = list_netns(prefix)
        if not names:
            break
        delete_netns(names)
        removed += names
        time.sleep(0.05)
    return sorted(set(removed))


def create_node(node: str) -> None:
    ip(["netns", "add", node], tied=True)
    ip(["-n", node], batch=f"link set lo up\naddr add {GATEWAY4}/32 dev lo\n")
    sysctls = [
        "net.ipv4.ip_forward=1",
        "net.ipv4.conf.all.rp_filter=1",
        "net.ipv4.conf.default.rp_filter=1",
        "net.ipv6.conf.all.forwarding=1",
        "net.ipv6.conf.default.accept_dad=0",
    ]
    proc = subprocess.run(
        ["ip", "netns", "exec", node, "sysctl", "-qw", *sysctls], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise LabError(f"sysctl in {node}: {proc.stderr.strip()}")


def strict_conntrack(node: str) -> None:
    """No mid-stream pickup: after its conntrack entry is deleted, a flow's next packet is
    INVALID (dropped) instead of being adopted as ESTABLISHED. Needed to cut revoked flows."""
    subprocess.run(
        ["ip", "netns", "exec", node, "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_loose=0"],
        capture_output=True,
        check=False,
    )


def _is6(addr: str) -> bool:
    return ":" in addr


def add_pods(node: str, pods: Sequence[PodPlan], lab_prefix: str, workers: int = 4) -> None:
    """Create the pods' namespaces and wire them to the node (policy must already be loaded)."""
    if not pods:
        return
    ip([], batch="".join(f"netns add {p.netns}\n" for p in pods), tied=True)
    node_lines: list[str] = []
    for p in pods:
        alias = (lab_prefix + p.key.replace("/", "."))[:200]
        node_lines += [
            f"link add {p.ifname} type veth peer name eth0 netns {p.netns}",
            f'link set {p.ifname} alias "{alias}"',
            f"link set {p.ifname} up",
        ]
        if any(_is6(a) for a in p.ips):
            node_lines.append(f"addr add {GATEWAY6}/64 dev {p.ifname} nodad")
        for a in p.ips:
            node_lines.append(f"route add {a}/{128 if _is6(a) else 32} dev {p.ifname}")
    ip(["-n", node], batch="\n".join(node_lines) + "\n")

    # the pod side in-process over rtnetlink: no process per pod (see rtnl.py)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for fut in [pool.submit(configure_pod, p.netns, p.ips) for p in pods]:
            fut.result()


def remove_pods(pods: Sequence[PodPlan]) -> None:
    delete_netns([p.netns for p in pods])
