"""Lint against the full matrix, in the same run, on the generated benchmark clusters.

    python bench/bench_lint.py                          # 1k, 2k, 5k, 10k pods
    python bench/bench_lint.py --sizes 1000,2000,5000,10000,20000,50000

For each size (pods; policies = pods / 5; ``bench/gen_cluster.py`` clusters cached under
``--workdir``), each measurement in a fresh process, interleaved so that both see the same
machine load:

* ``lint cmd`` / ``matrix cmd``: the whole ``podwall lint -o json`` and ``podwall matrix``
  commands (load, analysis, output), wall time and peak RSS;
* ``lint`` / ``matrix``: the analysis alone, in one process after one load
  (:func:`podwall.core.lint.lint` and :func:`podwall.core.reachability.matrix`).

Prints a Markdown table, the lint/matrix ratios, and the growth exponents (least squares on
log-log over the sizes given). Targets (issue 9): exponent <= 1.2 from 1,000 to 50,000 pods;
lint <= 1.5x the full matrix at 10,000 pods.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run_bench import FILES, ensure_cluster, exponent, fmt_s  # noqa: E402
from run_bench import run as _run  # noqa: E402


def run(cmd: list[str]) -> dict:
    """``run_bench.run`` with stdout in a file: a command's output (megabytes of JSON) must
    never fill a pipe that nobody reads while it runs."""
    with tempfile.TemporaryFile("w+") as fh:
        r = _run(cmd, stdout=fh)
        fh.seek(0)
        r["stdout"] = fh.read()
    return r

CHILD = """
import json, sys, time
import podwall
from podwall.core.lint import lint
from podwall.core.reachability import matrix
loaded = podwall.load(sys.argv[1:], strict=False)
t0 = time.perf_counter(); m = matrix(loaded.engine); t1 = time.perf_counter()
found = lint(loaded.cluster, loaded.engine); t2 = time.perf_counter()
print(json.dumps({"matrix_s": t1 - t0, "lint_s": t2 - t1, "findings": len(found),
                  "fixes": sum(1 for f in found if f.fix is not None)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,2000,5000,10000")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default="/tmp/podwall-bench")
    ap.add_argument("--repeat", type=int, default=1, help="best of N per measurement (default 1)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    podwall = str(Path(sys.executable).with_name("podwall"))
    rows = []
    for pods in [int(s) for s in a.sizes.split(",") if s.strip()]:
        d, _counts = ensure_cluster(Path(a.workdir), pods, pods // 5, a.seed)
        files = [str(d / f) for f in FILES]
        best: dict[str, dict] = {}
        for _ in range(a.repeat):
            for name, cmd, ok in (
                ("lint_cmd", [podwall, "lint", "-o", "json", *files], (0, 1)),
                ("matrix_cmd", [podwall, "matrix", *files], (0,)),
                ("inproc", [sys.executable, "-c", CHILD, *files], (0,)),
            ):
                r = run(cmd)
                if r["rc"] not in ok:
                    raise SystemExit(f"{name} at {pods} pods: exit {r['rc']}\n{r['stderr'][-2000:]}")
                if name == "inproc":
                    r.update(json.loads(r["stdout"]))
                r.pop("stdout", None)
                if name not in best or r["wall_s"] < best[name]["wall_s"]:
                    best[name] = r
        row = {
            "pods": pods,
            "policies": pods // 5,
            "lint_cmd_s": best["lint_cmd"]["wall_s"],
            "lint_cmd_mib": best["lint_cmd"]["peak_mib"],
            "matrix_cmd_s": best["matrix_cmd"]["wall_s"],
            "matrix_cmd_mib": best["matrix_cmd"]["peak_mib"],
            "lint_s": best["inproc"]["lint_s"],
            "matrix_s": best["inproc"]["matrix_s"],
            "findings": best["inproc"]["findings"],
            "fixes": best["inproc"]["fixes"],
        }
        rows.append(row)
        print(f"{pods} pods: lint cmd {fmt_s(row['lint_cmd_s'])}, matrix cmd {fmt_s(row['matrix_cmd_s'])}, "
              f"lint {fmt_s(row['lint_s'])}, matrix {fmt_s(row['matrix_s'])}", file=sys.stderr)
    print("| pods | policies | `podwall lint` | `podwall matrix` | ratio | lint (analysis) | matrix (analysis) | ratio "
          "| lint peak RSS | findings (with fix) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['pods']:,} | {r['policies']:,} | {fmt_s(r['lint_cmd_s'])} | {fmt_s(r['matrix_cmd_s'])} "
              f"| {r['lint_cmd_s'] / r['matrix_cmd_s']:.2f}x | {fmt_s(r['lint_s'])} | {fmt_s(r['matrix_s'])} "
              f"| {r['lint_s'] / r['matrix_s']:.2f}x | {r['lint_cmd_mib']:.0f} MiB | {r['findings']} ({r['fixes']}) |")
    for key, what in (("lint_cmd_s", "podwall lint"), ("lint_s", "lint analysis"), ("matrix_cmd_s", "podwall matrix")):
        e = exponent([(r["pods"], r[key]) for r in rows])
        if e is not None:
            print(f"\ngrowth exponent of {what} time vs pods ({rows[0]['pods']:,}-{rows[-1]['pods']:,}): {e:.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
