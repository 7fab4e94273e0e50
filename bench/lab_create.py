"""Benchmark: creating (and removing) a lab of 500 pods.

Run as root: ``python3 bench/lab_create.py [--namespaces 25] [--repeat 3]``. Each namespace
of the synthetic cluster (bench/lab_synth.py) has 20 pods and 4 policies, so 25 give 500 pods
and 100 policies. ``lab up`` includes everything: node, ruleset, namespaces, veths,
addresses and routes, and the listener serving every pod's ports. Target: <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab_common import LAB, guard
from lab_synth import cluster_yaml
from podwall.lab.lab import Lab
from podwall.sources.manifests import SourceText


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--namespaces", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    guard()
    src = [SourceText("synthetic.yaml", cluster_yaml(args.namespaces))]
    ups, downs = [], []
    lab = Lab(LAB)
    try:
        for i in range(args.repeat):
            t = time.perf_counter()
            ch = lab.up(src)
            ups.append(time.perf_counter() - t)
            assert lab.status()["listener_alive"]
            t = time.perf_counter()
            lab.down()
            downs.append(time.perf_counter() - t)
            print(
                f"run {i + 1}: up {ups[-1]:.2f} s ({ch.pods_total} pods, {ch.stats['rules']} rules), down "
                f"{downs[-1]:.2f} s"
            )
    finally:
        lab.down()
    up = statistics.median(ups)
    n = args.namespaces * 20
    print(f"median: {n} pods up in {up:.2f} s ({up / n * 1000:.1f} ms/pod), down in {statistics.median(downs):.2f} s; "
          f"target <= 3.00 s, ratio to target {up / 3:.2f}")


if __name__ == "__main__":
    main()
