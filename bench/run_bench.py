"""Benchmark podwall's full reachability against the YAML parse floor and network-config-analyzer.

    python bench/run_bench.py                                   # all sizes, NCA up to 5,000 pods
    python bench/run_bench.py --sizes 1000,2000 --nca-max-pods 2000 --nca-timeout 300
    python bench/run_bench.py --sizes 10000 --no-nca

For each size (pods; policies = pods / 5), on the same generated files (``bench/gen_cluster.py``,
cached under ``--workdir``), each measurement in a fresh process, wall time and peak RSS:

* ``parse``: PyYAML's C loader (``CSafeLoader``) ``load_all`` over the three files: the floor;
* ``podwall``: load + validate + full pod-level reachability over all declared ports of all pods
  (``bench/podwall_child.py reach``);
* ``can``: ``podwall can`` for one connection, and ``load``: podwall's load alone (its floor);
* ``nca``: ``nca --connectivity -r namespaces.yaml -r pods.yaml -r policies.yaml``, installed
  into its own virtualenv (``--nca-venv``) on first use; skipped with a note when it cannot be
  installed, above ``--nca-max-pods``, or killed after ``--nca-timeout`` seconds.

Prints a Markdown table, the growth exponent of podwall's time against pod count (least squares
on log-log, sizes from 1,000 up), and writes the raw numbers as JSON (``--json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen_cluster  # noqa: E402

FILES = ("namespaces.yaml", "pods.yaml", "policies.yaml")
DEFAULT_SIZES = "100,1000,2000,5000,10000,20000,50000"


def run(cmd: list[str], timeout: float | None = None, stdout: Any = subprocess.PIPE) -> dict[str, Any]:
    """Run ``cmd``; wall time, peak RSS (MiB, from wait4) and output, or a timeout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
    deadline = None if timeout is None else t0 + timeout
    out_chunks: list[str] = []
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            timed_out = True
            break
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    out = proc.stdout.read() if proc.stdout is not None else ""
    err = proc.stderr.read() if proc.stderr is not None else ""
    out_chunks.append(out or "")
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": wall,
        "peak_mib": usage.ru_maxrss / 1024,
        "rc": proc.returncode,
        "stdout": "".join(out_chunks),
        "stderr": err,
        "timed_out": timed_out,
    }


def ensure_cluster(workdir: Path, pods: int, policies: int, seed: int) -> tuple[Path, dict[str, int]]:
    d = workdir / f"c{pods}-p{policies}-s{seed}"
    meta = d / "meta.json"
    if meta.exists():
        return d, json.loads(meta.read_text())
    counts = gen_cluster.write(str(d), pods, policies, seed)
    meta.write_text(json.dumps(counts))
    return d, counts


def ensure_nca(venv: Path) -> tuple[str | None, str]:
    """The nca executable (installing it into its own venv if needed), or None and why."""
    nca = venv / "bin" / "nca"
    if nca.exists():
        return str(nca), ""
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        r = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "network-config-analyzer"],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"cannot create the NCA virtualenv: {exc}"
    if r.returncode != 0 or not nca.exists():
        return None, "pip install network-config-analyzer failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return str(nca), ""


def best(cmds: list[str], repeat: int, ok_codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """The fastest of ``repeat`` runs; fails loudly if a run exits with another code."""
    runs = [run(cmds) for _ in range(repeat)]
    for r in runs:
        if r["rc"] not in ok_codes:
            raise SystemExit(f"{' '.join(cmds)}: exit {r['rc']}\n{r['stderr']}")
    return min(runs, key=lambda r: r["wall_s"])


def fmt_s(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.2f} s" if x < 100 else f"{x:.0f} s"


def exponent(points: list[tuple[int, float]]) -> float | None:
    pts = [(math.log(n), math.log(t)) for n, t in points if n >= 1000 and t > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else None


def main() -> None:
    ap = argparse.ArgumentParser(description="podwall vs YAML parse vs network-config-analyzer")
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help=f"pod counts (default {DEFAULT_SIZES})")
    ap.add_argument("--policy-ratio", type=float, default=0.2, help="policies per pod (default 0.2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default="/tmp/podwall-bench", help="where generated clusters are cached")
    ap.add_argument("--repeat", type=int, default=3, help="best of N for parse, podwall, load and can (default 3)")
    ap.add_argument(
        "--repeat-max-pods", type=int, default=10000, help="above this many pods, run each once (default 10000)"
    )
    ap.add_argument("--nca-venv", default=str(Path.home() / ".cache" / "podwall-bench" / "nca-venv"))
    ap.add_argument("--nca-max-pods", type=int, default=5000, help="run NCA only up to this many pods")
    ap.add_argument("--nca-timeout", type=float, default=600.0, help="seconds before NCA is killed")
    ap.add_argument("--no-nca", action="store_true")
    ap.add_argument("--json", default=None, help="also write the raw results here")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    workdir = Path(a.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    nca, nca_note = (None, "not requested (--no-nca)") if a.no_nca else ensure_nca(Path(a.nca_venv))
    py = sys.executable
    child = str(HERE / "podwall_child.py")
    podwall_cli = [py, "-m", "podwall.cli.main"] if not _has_script() else ["podwall"]
    rows: list[dict[str, Any]] = []
    print(
        f"# machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        file=sys.stderr,
    )
    for pods in sizes:
        pols = max(10, round(pods * a.policy_ratio))
        d, counts = ensure_cluster(workdir, pods, pols, a.seed)
        files = [str(d / f) for f in FILES]
        row: dict[str, Any] = {
            "pods": counts["pods"],
            "policies": counts["policies"],
            "namespaces": counts["namespaces"],
            "dir": str(d),
        }
        mib = sum(os.path.getsize(f) for f in files) / 2**20
        repeat = a.repeat if counts["pods"] <= a.repeat_max_pods else 1
        row["yaml_mib"] = mib
        print(f"== {pods} pods, {pols} policies ({mib:.1f} MiB of YAML) in {d}", file=sys.stderr)
        src, dst = _pair(d)
        # the four podwall/parse measurements are interleaved, so that noise from other jobs on
        # the machine hits them alike; each keeps its best run
        cmds = {
            "parse": ([py, child, "parse", *files], (0,)),
            "reach": ([py, child, "reach", *files], (0,)),
            "load": ([py, child, "load", *files], (0,)),
            # exit 0 (yes) or 1 (no) are both answers
            "can": ([*podwall_cli, "can", *files, "--from", src, "--to", dst, "--port", "8080"], (0, 1)),
        }
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in cmds}
        for _ in range(repeat):
            for k, (cmd, ok) in cmds.items():
                runs[k].append(best(cmd, 1, ok))
        parse, reach, load, can = (min(runs[k], key=lambda r: r["wall_s"]) for k in ("parse", "reach", "load", "can"))
        row["parse_s"], row["parse_peak_mib"] = parse["wall_s"], parse["peak_mib"]
        info = json.loads(reach["stdout"])
        row.update(
            podwall_s=reach["wall_s"], podwall_peak_mib=reach["peak_mib"], **{f"pw_{k}": v for k, v in info.items()}
        )
        row["load_s"] = load["wall_s"]
        row["can_s"], row["can_rc"] = can["wall_s"], can["rc"]
        print(
            f"   parse {parse['wall_s']:.2f} s | podwall {reach['wall_s']:.2f} s (load {info['load_s']:.2f} s, matrix "
            f"{info['matrix_s']:.2f} s, "
            f"{info['classes']} classes x {info['columns']} columns), {reach['peak_mib']:.0f} MiB | load-only "
            f"{load['wall_s']:.2f} s, can {can['wall_s']:.2f} s",
            file=sys.stderr,
        )
        row["nca_s"] = row["nca_peak_mib"] = None
        if nca is None:
            row["nca_note"] = nca_note
        elif counts["pods"] > a.nca_max_pods:
            row["nca_note"] = f"not run (> --nca-max-pods {a.nca_max_pods})"
        else:
            with open(d / "nca-output.txt", "w") as fh:
                r = run(
                    [nca, "--connectivity", *[x for f in files for x in ("-r", f)]], timeout=a.nca_timeout, stdout=fh
                )
            if r["timed_out"]:
                row["nca_note"] = f"killed after {a.nca_timeout:.0f} s"
            elif r["rc"] not in (0, 1, 2, 3):
                row["nca_note"] = f"failed (exit {r['rc']}): {r['stderr'].strip()[-200:]}"
            else:
                row["nca_s"], row["nca_peak_mib"] = r["wall_s"], r["peak_mib"]
            print(
                f"   nca {r['wall_s']:.1f} s, {r['peak_mib']:.0f} MiB, exit "
                f"{r['rc']}{' (timeout)' if r['timed_out'] else ''}",
                file=sys.stderr,
            )
        rows.append(row)
    print_table(rows, nca_note if nca is None else "")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))


def _has_script() -> bool:
    from shutil import which

    return which("podwall") is not None


def _pair(d: Path) -> tuple[str, str]:
    """Two app pods of the generated cluster (``ns/name``), found by scanning the YAML text."""
    found: list[str] = []
    name = None
    with open(d / "pods.yaml", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("  name: "):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("  namespace: ") and name is not None:
                found.append(f"{line.split(':', 1)[1].strip()}/{name}")
                name = None
                if len(found) >= 12:
                    break
    return found[6], found[11]


def print_table(rows: list[dict[str, Any]], note: str) -> None:
    head = (
        "| pods | policies | YAML | parse (C loader) | podwall full reachability | podwall peak RSS | podwall / parse "
        "| classes | `podwall can` (load alone) | NCA `--connectivity` | NCA peak RSS | NCA / podwall |"
    )
    print(head)
    print("|" + "---:|" * (head.count("|") - 1))
    for r in rows:
        nca = fmt_s(r["nca_s"]) if r["nca_s"] is not None else r.get("nca_note", "–")
        ratio = f"{r['nca_s'] / r['podwall_s']:.0f}×" if r["nca_s"] else "–"
        nca_mem = f"{r['nca_peak_mib']:.0f} MiB" if r["nca_peak_mib"] else "–"
        print(
            f"| {r['pods']:,} | {r['policies']:,} | {r['yaml_mib']:.1f} MiB | {fmt_s(r['parse_s'])} | "
            f"{fmt_s(r['podwall_s'])} "
            f"| {r['podwall_peak_mib']:.0f} MiB | {r['podwall_s'] / r['parse_s']:.2f} | {r['pw_classes']:,} "
            f"| {fmt_s(r['can_s'])} ({fmt_s(r['load_s'])}) | {nca} | {nca_mem} | {ratio} |"
        )
    e = exponent([(r["pods"], r["podwall_s"]) for r in rows])
    if e is not None:
        print(f"\nGrowth of podwall's time with pod count (sizes >= 1,000, least squares on log-log): exponent {e:.2f}")
    if note:
        print(f"\nNCA: {note}")


if __name__ == "__main__":
    main()
