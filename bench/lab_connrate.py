"""Benchmark: new-TCP-connection rate between two pods, 2,000-pod ruleset vs conntrack alone.

Run as root: ``python3 bench/lab_connrate.py [--conns 500] [--rounds 30]``. Target (issue 9):
the rate with the ruleset of the synthetic 2,000-pod / 400-policy cluster (bench/lab_synth.py)
is at least 0.9x the rate with a conntrack-only table.

Every variant gets its own node namespace with the same client and server pod behind it, all
built once: ``ruleset`` (podwall's table), ``conntrack`` (one chain: ``ct state
established,related accept``), ``none`` (no table, no conntrack). The rounds then alternate
between them in short chunks, so that the load of a shared machine hits every variant alike
(reloading a 2,000-pod table between chunks, as an earlier version did, disturbed what it
measured). The server is isolated by two policies and the client by one, so every new
connection goes anti-spoofing -> dispatch map -> signature chain -> 2 policy chains -> set
lookups.

Two measures per chunk: the wall-clock rate, and the rate per CPU second of the client
thread plus the listener process (``/proc/PID/schedstat``; softirq work done in their context
counts, other processes' load does not). Ratios are the median of per-round ratios.
``--variant NAME=FILE`` adds a node that loads the nft script FILE (for experiments).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab_common import LAB, guard
from lab_synth import cluster_yaml
from podwall.lab.lab import Lab
from podwall.lab.netns import add_pods, create_node, kill_all, strict_conntrack
from podwall.lab.topology import PodPlan, lab_prefix, node_netns, plan
from podwall.linux.netns import in_netns
from podwall.nft.apply import Nft
from podwall.nft.compile import compile_ruleset
from podwall.nft.script import create_script
from podwall.sources.decode import load_texts
from podwall.sources.manifests import SourceText

CT_ONLY = (
    "table inet ctonly {\n chain f { type filter hook forward priority 0; policy accept;\n"
    "  ct state established,related accept\n }\n}\n"
)


def _cpu_ns(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as fh:
        return int(fh.read().split()[0])


def chunk(netns: str, ip: str, port: int, n: int, server_pid: int) -> tuple[float, float]:
    """connect()+close() ``n`` times from inside ``netns``; (conn/s wall, conn/s per CPU second)."""
    with in_netns(netns):
        c0, s0, t0 = time.thread_time_ns(), _cpu_ns(server_pid), time.perf_counter()
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.connect((ip, port))
            s.close()
        wall = time.perf_counter() - t0
        cpu = (time.thread_time_ns() - c0 + _cpu_ns(server_pid) - s0) / 1e9
    return n / wall, n / cpu


def _q(xs: list[float]) -> str:
    qs = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return f"{qs[1]:.3f} (quartiles {qs[0]:.3f}-{qs[2]:.3f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=500, help="connections per chunk")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--namespaces", type=int, default=100)
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=FILE")
    args = ap.parse_args()
    guard()
    res = load_texts([SourceText("synthetic.yaml", cluster_yaml(args.namespaces))])
    lab_plan, lab_cluster = plan(res.cluster, LAB)
    rs = compile_ruleset(lab_cluster, lab_plan.attachments())
    client, server = lab_plan.pod("ns000/client-0"), lab_plan.pod("ns000/server-1")
    assert client and server
    variants: dict[str, str | None] = {"ruleset": create_script(rs), "conntrack": CT_ONLY, "none": None}
    for v in args.variant:
        name, _, path = v.partition("=")
        with open(path) as fh:
            variants[name] = fh.read()
    prefix = lab_prefix(LAB)
    pairs: dict[str, tuple[PodPlan, PodPlan]] = {}
    nfts: list[Nft] = []
    for i, (name, script) in enumerate(variants.items()):
        node = node_netns(LAB) if i == 0 else f"{prefix}node{i}"
        create_node(node)
        nft = Nft(node)
        nfts.append(nft)
        if script is not None:
            nft.run(script)
            strict_conntrack(node)
        c, s = (dataclasses.replace(p, netns=f"{p.netns}-{i}") for p in (client, server))
        add_pods(node, [c, s], prefix)
        for p in (c, s):
            subprocess.run(["ip", "netns", "exec", p.netns, "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1",
                            "net.ipv4.ip_local_port_range=1024 65000"], check=True)
        pairs[name] = (c, s)
    lab = Lab(LAB)
    os.makedirs(lab.state_dir, exist_ok=True)
    pid = lab._listeners([s for _, s in pairs.values()], None)
    assert pid
    ip = server.ips[0]
    print(f"ruleset: {dict(rs.stats)}; client {client.key} -> server {server.key} {ip}:8080; "
          f"{args.rounds} rounds x {args.conns} connections per variant")
    wall: dict[str, list[float]] = {n: [] for n in variants}
    cpu: dict[str, list[float]] = {n: [] for n in variants}
    try:
        for c, _ in pairs.values():
            chunk(c.netns, ip, 8080, 300, pid)  # warm up
        for r in range(args.rounds):
            order = list(pairs.items())
            order = order[r % len(order):] + order[: r % len(order)]  # rotate who goes first
            for name, (c, _) in order:
                w, u = chunk(c.netns, ip, 8080, args.conns, pid)
                wall[name].append(w)
                cpu[name].append(u)
        for name in variants:
            print(f"{name:10} wall {statistics.median(wall[name]):7.0f} conn/s   per CPU second "
                  f"{statistics.median(cpu[name]):7.0f} conn/s")
        for name in [n for n in variants if n not in ("conntrack", "none")]:
            for base in ("conntrack", "none"):
                rw = [a / b for a, b in zip(wall[name], wall[base], strict=True)]
                rc = [a / b for a, b in zip(cpu[name], cpu[base], strict=True)]
                print(f"{name} / {base}: wall {_q(rw)}   CPU {_q(rc)}")
        rw = [a / b for a, b in zip(wall["conntrack"], wall["none"], strict=True)]
        rc = [a / b for a, b in zip(cpu["conntrack"], cpu["none"], strict=True)]
        print(f"conntrack / none: wall {_q(rw)}   CPU {_q(rc)}")
        rc = [a / b for a, b in zip(cpu["ruleset"], cpu["conntrack"], strict=True)]
        print(f"target: ruleset >= 0.90 x conntrack; measured (CPU) {statistics.median(rc):.3f}")
    finally:
        kill_all([pid])
        for nft in nfts:
            nft.close()
        lab.down()


if __name__ == "__main__":
    main()
