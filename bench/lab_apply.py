"""Benchmark: applying the ruleset of 2,000 pods and 400 policies, and one pod added/removed.

Run as root: ``python3 bench/lab_apply.py [--namespaces 100]``. Uses a scratch node
namespace ``podwall-bench<pid>-node`` (never the root namespace), removed at exit.

Targets (issue 3): full apply <= 0.3 s; one pod added or removed <= 50 ms; beat the scripted
``nft`` element change that research/lab.md measured at 85 ms (nft reloads its cache per run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab_common import LAB, guard, timed
from lab_synth import cluster_yaml, pod
from podwall.lab.netns import create_node
from podwall.lab.topology import node_netns, plan
from podwall.nft.apply import Nft
from podwall.nft.compile import Ruleset, compile_ruleset
from podwall.nft.script import create_script, diff_script
from podwall.sources.decode import load_texts
from podwall.sources.manifests import SourceText


def ruleset(text: str, previous: dict[str, tuple[str, ...]] | None = None) -> tuple[Ruleset, float]:
    res = load_texts([SourceText("synthetic.yaml", text)])
    assert not res.errors, res.errors[:3]
    p, c = plan(res.cluster, LAB, previous=previous)
    t = time.perf_counter()
    rs = compile_ruleset(c, p.attachments())
    return rs, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--namespaces", type=int, default=100, help="namespaces of 20 pods and 4 policies (100 = 2,000 pods)"
    )
    args = ap.parse_args()
    guard()
    node = node_netns(LAB)
    create_node(node)
    base_text = cluster_yaml(args.namespaces)
    extra = pod(0, 99)  # one more client pod in ns000: peer sets, dispatch maps
    rs, compile_s = ruleset(base_text)
    rs_plus, _ = ruleset(cluster_yaml(args.namespaces, extra=extra))
    st = rs.stats
    print(f"cluster: {args.namespaces * 20} pods, {args.namespaces * 4} policies -> {st['chains']} chains, "
          f"{st['rules']} rules, {st['sets']} sets, {st['elements']} elements")
    print(f"compile (Python): {compile_s * 1000:.0f} ms")
    add_script = diff_script(rs, rs_plus)
    print(f"one pod added = {len(add_script.splitlines())} script lines")

    results: dict[str, float] = {}
    for backend in ("lib", "exec"):
        with Nft(node, backend=backend) as nft:
            results[f"create/{backend}"] = timed(
                lambda: nft.create(rs), repeat=5, setup=lambda: nft.delete_table("podwall")
            )
            nft.create(rs)
            results[f"replace/{backend}"] = timed(lambda: nft.replace(rs), repeat=5)
            nft.create(rs)

            def add_remove() -> None:
                nft.update(rs, rs_plus)
                nft.update(rs_plus, rs)

            results[f"pod add+remove/{backend}"] = timed(add_remove, repeat=7) / 2
    # the baseline of lab.md: a scripted element change through the nft tool (cache reload)
    with Nft(node, backend="lib") as nft:
        nft.create(rs)
    one = "add element inet podwall egress_dispatch { \"pwbench\" : jump egress_fw }\n"
    one_del = "delete element inet podwall egress_dispatch { \"pwbench\" }\n"

    def scripted() -> None:
        subprocess.run(
            ["ip", "netns", "exec", node, "nft", "-f", "-"],
            input=one.replace("jump egress_fw", "drop"),
            text=True,
            check=True,
        )
        subprocess.run(["ip", "netns", "exec", node, "nft", "-f", "-"], input=one_del, text=True, check=True)

    results["scripted nft element"] = timed(scripted, repeat=5) / 2
    script = create_script(rs)
    results["nft -f create (tool)"] = timed(
        lambda: subprocess.run(["ip", "netns", "exec", node, "nft", "-f", "-"], input=script, text=True, check=True),
        repeat=3,
    )
    print()
    for k, v in results.items():
        print(f"{k:28} {v * 1000:8.1f} ms")
    print()
    full = results["create/lib"]
    churn = results["pod add+remove/lib"]
    base = results["scripted nft element"]
    print(f"full apply      {full:.3f} s   target <= 0.300 s   ratio to target {full / 0.3:.2f}")
    print(f"in-place apply  {results['replace/lib']:.3f} s")
    print(f"one pod churn   {churn * 1000:.1f} ms  target <= 50 ms    ratio to target {churn / 0.05:.2f}")
    tool = results["pod add+remove/exec"]
    print(f"                same change through the nft tool (cache reload per run): {tool * 1000:.1f} ms, "
          f"{tool / churn:.1f}x slower than in-process")
    print(f"                one-element scripted nft change (lab.md measured 85 ms): {base * 1000:.1f} ms this run")


if __name__ == "__main__":
    main()
