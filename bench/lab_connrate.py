"""Benchmark: TCP connection rate between two pods, 2,000-pod ruleset loaded vs no ruleset.

Run as root: ``python3 bench/lab_connrate.py [--conns 4000] [--rounds 5]``. The node carries
the ruleset of the synthetic 2,000-pod / 400-policy cluster (bench/lab_synth.py), but only two
of its pods get a namespace: ns000/client-0 and ns000/server-1. The server is isolated by two
policies, so every new connection goes dispatch map -> signature chain -> 2 policy chains ->
set lookups. Variants are interleaved over the rounds. Target: ratio >= 0.9.
"""

from __future__ import annotations

import argparse
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
from podwall.lab.topology import node_netns, plan
from podwall.nft.apply import Nft, in_netns
from podwall.nft.compile import compile_ruleset
from podwall.sources.decode import load_texts
from podwall.sources.manifests import SourceText


def rate(netns: str, ip: str, port: int, n: int) -> float:
    """connect()+close() ``n`` times from inside ``netns`` (entered once, this thread only)."""
    with in_netns(netns):
        t = time.perf_counter()
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.connect((ip, port))
            s.close()
        return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--namespaces", type=int, default=100)
    args = ap.parse_args()
    guard()
    res = load_texts([SourceText("synthetic.yaml", cluster_yaml(args.namespaces))])
    lab_plan, lab_cluster = plan(res.cluster, LAB)
    rs = compile_ruleset(lab_cluster, lab_plan.attachments())
    client, server = lab_plan.pod("ns000/client-0"), lab_plan.pod("ns000/server-1")
    assert client and server
    node = node_netns(LAB)
    create_node(node)
    nft = Nft(node)
    nft.create(rs)
    strict_conntrack(node)
    add_pods(node, [client, server], f"podwall-{LAB}-")
    for p in (client, server):
        subprocess.run(["ip", "netns", "exec", p.netns, "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1",
                        "net.ipv4.ip_local_port_range=1024 65000"], check=True)
    lab = Lab(LAB)
    os.makedirs(lab.state_dir, exist_ok=True)
    pid = lab._listeners([server], None)
    ip = server.ips[0]
    print(f"ruleset: {rs.stats}; client {client.key} -> server {server.key} {ip}:8080")
    try:
        rate(client.netns, ip, 8080, 500)  # warm up
        with_rs: list[float] = []
        without: list[float] = []
        ct_only: list[float] = []
        ct_table = (
            "table inet ctonly {\n chain f { type filter hook forward priority 0; policy accept;\n"
            "  ct state established,related accept\n }\n}\n"
        )
        for r in range(args.rounds):
            nft.create(rs)
            with_rs.append(rate(client.netns, ip, 8080, args.conns))
            nft.delete_table("podwall")
            without.append(rate(client.netns, ip, 8080, args.conns))
            nft.run(ct_table)
            ct_only.append(rate(client.netns, ip, 8080, args.conns))
            nft.delete_table("ctonly")
            print(f"round {r + 1}: 2000-pod ruleset {with_rs[-1]:7.0f} conn/s | no ruleset {without[-1]:7.0f} | "
                  f"conntrack only {ct_only[-1]:7.0f} | ratio {with_rs[-1] / without[-1]:.2f}")
        ratios = [a / b for a, b in zip(with_rs, without, strict=False)]
        ct_ratios = [a / b for a, b in zip(ct_only, without, strict=False)]
        print(
            f"median: with ruleset {statistics.median(with_rs):.0f} conn/s, none {statistics.median(without):.0f} "
            f"conn/s, "
            f"median ratio {statistics.median(ratios):.2f} (target >= 0.90); "
            f"conntrack alone: median ratio {statistics.median(ct_ratios):.2f}"
        )
    finally:
        kill_all([pid]) if pid else None
        nft.close()
        lab.down()


if __name__ == "__main__":
    main()
