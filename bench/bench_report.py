"""Benchmark of ``podwall report``: generation time against the matrix, and the page in Chromium.

    python bench/bench_report.py                 # 10,000 pods (2,000 policies), best of 3
    python bench/bench_report.py --pods 2000 --repeat 1

Measured in the same run, in fresh processes, interleaved so that noise from other jobs hits
both alike (best of ``--repeat``):

* ``matrix``: ``podwall matrix FILES --ports all --by workload -o json`` — the full matrix over
  the whole port space (every endpoint pair and address range, every port), printed by workload:
  the report's edges;
* ``declared``: ``podwall matrix FILES --by workload -o json`` — the declared-port matrix by
  workload, the report's matrix view;
* ``reach``: ``bench/podwall_child.py reach FILES`` — load plus the full pod-level matrix and
  nothing else (the floor of both);
* ``report``: ``podwall report FILES -o report.html --no-lint`` (lint is reported apart: it is
  lint's cost, not the report's);
* ``report+lint``: the same with lint (once).

Target: report <= 1.5 x matrix (the report computes both matrices, then its page). Then the
page is opened from file:// in headless Chromium (``/usr/bin/chromium`` via Playwright) and
timed: from navigation to the end of the first layout, the layout itself (fcose), and
expanding the largest namespace.
Writes ``bench/out/report-<pods>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import gen_cluster  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def podwall_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("podwall")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "podwall.cli.main"]


def timed(cmd: list[str], stdout: Any = subprocess.DEVNULL) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, check=False)
    dt = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return dt


def page_timings(page_file: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        t0 = time.perf_counter()
        page.goto(page_file.as_uri())
        page.wait_for_function("window.podwall !== undefined", timeout=300_000)
        page.evaluate("window.podwall.ready")
        wall = time.perf_counter() - t0
        timing = page.evaluate("window.podwall.timing")
        counts = page.evaluate("() => [window.podwall.cy.nodes().length, window.podwall.cy.edges().length]")
        ns = page.evaluate(
            """() => { const d = window.podwall.data; const by = {};
                 for (const n of d.nodes) by[n.namespace] = (by[n.namespace] || 0) + 1;
                 return Object.entries(by).sort((a, b) => b[1] - a[1])[0]; }"""
        )
        expand_ms = None
        if page.evaluate("window.podwall.data.aggregated"):
            expand_ms = page.evaluate(
                """(ns) => new Promise((resolve) => { const t0 = performance.now();
                     window.podwall.cy.one('layoutstop', () => resolve(performance.now() - t0));
                     window.podwall.state.expanded.add(ns); window.podwall.redraw(false); })""",
                ns[0],
            )
        browser.close()
    return {
        "open_to_first_layout_s": wall,
        "page_first_layout_ms": timing["first"],
        "fcose_layout_ms": timing["layouts"][0],
        "drawn_nodes": counts[0],
        "drawn_edges": counts[1],
        "expand_namespace": ns[0],
        "expand_namespace_workloads": ns[1],
        "expand_ms": expand_ms,
        "console_errors": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--policies", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    out_dir = ROOT / "bench" / "out"
    d = out_dir / f"report-cluster-{args.pods}"
    files = [str(d / f) for f in ("namespaces.yaml", "pods.yaml", "policies.yaml")]
    if not all(os.path.exists(f) for f in files):
        gen_cluster.write(str(d), args.pods, args.policies, args.seed)
    page = out_dir / f"report-{args.pods}.html"
    pw = podwall_cmd()
    runs: dict[str, list[float]] = {"reach": [], "declared": [], "matrix": [], "report": []}
    for _ in range(args.repeat):
        runs["reach"].append(timed([sys.executable, str(HERE / "podwall_child.py"), "reach", *files]))
        runs["declared"].append(timed([*pw, "matrix", *files, "--by", "workload", "-o", "json"]))
        runs["matrix"].append(timed([*pw, "matrix", *files, "--ports", "all", "--by", "workload", "-o", "json"]))
        runs["report"].append(timed([*pw, "report", *files, "-o", str(page), "--no-lint"]))
    with_lint = timed([*pw, "report", *files, "-o", str(out_dir / f"report-{args.pods}-lint.html")])
    best = {k: min(v) for k, v in runs.items()}
    result: dict[str, Any] = {
        "pods": args.pods,
        "runs": runs,
        "best_s": best,
        "report_with_lint_s": with_lint,
        "report_over_matrix": best["report"] / best["matrix"],
        "report_over_reach": best["report"] / best["reach"],
        "page_bytes": page.stat().st_size,
    }
    if not args.no_browser:
        result["browser"] = page_timings(page)
    (out_dir / f"report-{args.pods}.json").write_text(json.dumps(result, indent=2))
    print(
        f"pods {args.pods}: reach {best['reach']:.2f} s, matrix --by workload {best['declared']:.2f} s, "
        f"matrix --ports all --by workload {best['matrix']:.2f} s, report {best['report']:.2f} s "
        f"(report/matrix --ports all {result['report_over_matrix']:.2f}x, target <= 1.5x; "
        f"report/reach {result['report_over_reach']:.2f}x); with lint {with_lint:.2f} s; "
        f"page {result['page_bytes'] / 1e6:.1f} MB"
    )
    if "browser" in result:
        b = result["browser"]
        exp = (
            f", expanding {b['expand_namespace']} ({b['expand_namespace_workloads']} workloads) "
            f"{b['expand_ms']:.0f} ms"
            if b["expand_ms"]
            else ""
        )
        print(
            f"browser: open to first layout {b['open_to_first_layout_s']:.2f} s "
            f"(page {b['page_first_layout_ms']:.0f} ms, fcose {b['fcose_layout_ms']:.0f} ms; "
            f"{b['drawn_nodes']} nodes, {b['drawn_edges']} edges drawn){exp}; "
            f"console errors: {len(b['console_errors'])}"
        )


if __name__ == "__main__":
    main()
