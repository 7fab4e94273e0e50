"""``podwall matrix`` output at scale: text grid formatting time, and the whole command.

    python bench/bench_matrix_output.py                        # 10k, 50k, 100k pods
    python bench/bench_matrix_output.py --sizes 10000 --command-sizes 10000

On ``bench/gen_cluster.py`` clusters (policies = pods / 5, cached under ``--workdir``):

* ``format``: in one process after load and matrix, the default text output's own work, timed
  alone: choosing ``--by auto``, aggregating the class matrix (numpy), and formatting the grid
  (``report/render.py``, plain strings; the target is <= 0.1 s at 10,000 pods); "whole text
  output" is ``cli/matrix_cmd.text_grid`` plus the choice of ``--by``;
* ``command``: the whole ``podwall matrix`` (default text output) in a fresh process, wall time
  and peak RSS, at ``--command-sizes``; the target is under 2 minutes and 4 GiB at 100,000 pods
  and 20,000 policies.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run_bench import FILES, ensure_cluster, fmt_s  # noqa: E402
from run_bench import run as _run  # noqa: E402


def run(cmd: list[str]) -> dict:
    """``run_bench.run`` with stdout in a file: a command's output must never fill a pipe that
    nobody reads while it runs."""
    with tempfile.TemporaryFile("w+") as fh:
        r = _run(cmd, stdout=fh)
        fh.seek(0)
        r["stdout"] = fh.read()
    return r

CHILD = """
import json, sys, time
import podwall
from podwall.cli.matrix_cmd import _auto_by, text_grid
from podwall.core.matrix_aggregate import aggregate_codes, symbol_rows
from podwall.core.reachability import matrix
from podwall.report.render import matrix_grid
loaded = podwall.load(sys.argv[1:], strict=False)
m = matrix(loaded.engine)
t0 = time.perf_counter()
by = _auto_by(m.endpoints, "text", 120)
t1 = time.perf_counter()
labels, codes = aggregate_codes(m, by)
t2 = time.perf_counter()
grid = matrix_grid(labels, None, title="t", row_cells=symbol_rows(codes))
t3 = time.perf_counter()
text = text_grid(m, by, "declared container ports")
t4 = time.perf_counter()
print(json.dumps({"by": by, "groups": len(labels), "choose_s": t1 - t0, "aggregate_s": t2 - t1,
                  "grid_s": t3 - t2, "output_s": (t1 - t0) + (t4 - t3), "chars": len(text)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,50000,100000", help="sizes for the formatting time")
    ap.add_argument("--command-sizes", default="100000", help="sizes for the whole command")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default="/tmp/podwall-bench")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    podwall = str(Path(sys.executable).with_name("podwall"))
    out: dict[str, list[dict]] = {"format": [], "command": []}
    for pods in [int(s) for s in a.sizes.split(",") if s.strip()]:
        d, _ = ensure_cluster(Path(a.workdir), pods, pods // 5, a.seed)
        r = run([sys.executable, "-c", CHILD, *(str(d / f) for f in FILES)])
        if r["rc"] != 0:
            raise SystemExit(r["stderr"][-2000:])
        row = {"pods": pods, **json.loads(r["stdout"])}
        out["format"].append(row)
        print(f"{pods} pods: text output {row['output_s']:.3f} s (grid {row['grid_s']:.3f} s)", file=sys.stderr)
    for pods in [int(s) for s in a.command_sizes.split(",") if s.strip()]:
        d, _ = ensure_cluster(Path(a.workdir), pods, pods // 5, a.seed)
        r = run([podwall, "matrix", *(str(d / f) for f in FILES)])
        if r["rc"] != 0:
            raise SystemExit(r["stderr"][-2000:])
        out["command"].append({"pods": pods, "policies": pods // 5, "wall_s": r["wall_s"], "peak_mib": r["peak_mib"],
                               "lines": r["stdout"].count("\n")})
        print(f"{pods} pods: command {r['wall_s']:.1f} s, {r['peak_mib']:.0f} MiB", file=sys.stderr)
    print("| pods | grid (by) | groups | choose --by | aggregate (numpy) | format the grid | whole text output |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in out["format"]:
        print(f"| {r['pods']:,} | {r['by']} | {r['groups']} | {r['choose_s']:.3f} s | {r['aggregate_s']:.3f} s "
              f"| {r['grid_s']:.3f} s | {r['output_s']:.3f} s |")
    if out["command"]:
        print("\n| pods | policies | `podwall matrix` wall | peak RSS |")
        print("|---:|---:|---:|---:|")
        for r in out["command"]:
            print(f"| {r['pods']:,} | {r['policies']:,} | {fmt_s(r['wall_s'])} | {r['peak_mib']:.0f} MiB |")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
