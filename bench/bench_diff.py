"""Benchmark ``podwall diff`` against one full port-set matrix, and against network-config-analyzer.

    python bench/bench_diff.py                              # 10,000 pods, NCA on 2,000 pods
    python bench/bench_diff.py --pods 2000 --nca-pods 2000 --repeat 3
    python bench/bench_diff.py --no-nca

Two versions of a generated cluster (``bench/gen_cluster.py``, policies = pods / 5) that differ
in ``--mutate`` (1 %) of the policies: edited ports, a stray ``-`` that splits an AND peer into
two ORed peers, a dropped ``except``, a removed policy, a new allow policy
(:func:`mutate`, deterministic for a seed). Each measurement runs in a fresh process, wall time
and peak RSS, interleaved so that noise from other jobs hits them alike, best of ``--repeat``:

* ``matrix``: load one version + the full pod-level connectivity over the whole port space
  (``bench/diff_child.py matrix``: the class tables, from which every pair's port set is read);
* ``diff``: ``podwall diff --old ... --new ... -o json`` (loads both versions, compares every
  pair, attributes causes, writes the JSON to ``diff.json`` beside the cluster).

The ratio diff / matrix is measured in the same run (target: <= 2.5). NCA's
``--semantic_diff`` runs once on ``--nca-pods`` pods (its own virtualenv, installed on first
use as ``bench/run_bench.py`` does), killed after ``--nca-timeout`` seconds.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen_cluster  # noqa: E402
from run_bench import ensure_nca, fmt_s, run  # noqa: E402

FILES = ("namespaces.yaml", "pods.yaml", "policies.yaml")


def run_to_files(cmd: list[str], out: Path, err: Path, timeout: float) -> dict[str, Any]:
    """Run ``cmd`` with stdout and stderr in files (NCA floods them: a pipe would fill and block it)."""
    t0 = time.perf_counter()
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
    return {
        "wall_s": time.perf_counter() - t0,
        "peak_mib": usage.ru_maxrss / 1024,
        "rc": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
    }


def mutate(policies: list[dict[str, Any]], fraction: float, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    """A copy of ``policies`` with ``fraction`` of them changed as pull requests change them."""
    rnd = random.Random(seed)
    out = copy.deepcopy(policies)
    n = max(1, round(len(out) * fraction))
    picks = rnd.sample(range(len(out)), n)
    notes: list[str] = []
    removed: list[int] = []
    for k, i in enumerate(picks):
        pol = out[i]
        name = f"{pol['metadata']['namespace']}/{pol['metadata']['name']}"
        spec = pol["spec"]
        rules = spec.get("ingress", []) + spec.get("egress", [])
        how = k % 5
        if how == 0 and not rules:
            spec.setdefault("ingress", []).append({"ports": [{"protocol": "TCP", "port": 8443}]})
            types = set(spec.get("policyTypes", [])) | {"Ingress"}
            spec["policyTypes"] = [t for t in ("Ingress", "Egress") if t in types]  # NCA accepts only this order
            notes.append(f"{name}: ingress rule added (TCP 8443 from anywhere)")
        elif how == 0:
            for r in rules:
                for p in r.get("ports", []):
                    if isinstance(p.get("port"), int):
                        p["port"] += 1
                        notes.append(f"{name}: port edited")
                        break
                else:
                    continue
                break
            else:
                rules[0]["ports"] = [{"protocol": "TCP", "port": 8443}]
                notes.append(f"{name}: ports replaced")
        elif how == 1:
            for r in rules:
                for key in ("from", "to"):
                    for peer in r.get(key, []):
                        if "namespaceSelector" in peer and "podSelector" in peer:
                            r[key] = [
                                {"namespaceSelector": peer["namespaceSelector"]},
                                {"podSelector": peer["podSelector"]},
                            ]
                            notes.append(f"{name}: stray '-' (AND peer split into OR)")
                            break
            if not notes or not notes[-1].startswith(name):
                spec["podSelector"] = {}
                notes.append(f"{name}: podSelector widened to {{}}")
        elif how == 2:
            done = False
            for r in rules:
                for key in ("from", "to"):
                    for peer in r.get(key, []):
                        if "ipBlock" in peer and peer["ipBlock"].get("except"):
                            del peer["ipBlock"]["except"]
                            done = True
            if done:
                notes.append(f"{name}: except dropped")
            else:
                removed.append(i)
                notes.append(f"{name}: removed")
        elif how == 3:
            removed.append(i)
            notes.append(f"{name}: removed")
        else:
            new = copy.deepcopy(pol)
            new["metadata"]["name"] += "-extra"
            new["spec"] = {
                "podSelector": spec["podSelector"],
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"protocol": "TCP", "port": 22}]}],
            }
            out.append(new)
            notes.append(f"{name}-extra: added (TCP 22 from anywhere)")
    for i in sorted(removed, reverse=True):
        out.pop(i)
    return out, notes


def ensure(workdir: Path, pods: int, policies: int, seed: int, fraction: float) -> tuple[Path, dict[str, Any]]:
    d = workdir / f"c{pods}-p{policies}-s{seed}"
    meta = d / "meta.json"
    if meta.exists():
        counts = json.loads(meta.read_text())
    else:
        counts = gen_cluster.write(str(d), pods, policies, seed)
        meta.write_text(json.dumps(counts))
    v2 = d / f"policies-v2-{fraction:g}.yaml"
    notes_file = d / f"policies-v2-{fraction:g}.notes"
    if not v2.exists():
        with open(d / "policies.yaml", encoding="utf-8") as fh:
            pols = [p for p in yaml.load_all(fh, Loader=yaml.CSafeLoader) if p]
        new, notes = mutate(pols, fraction, seed)
        with open(v2, "w", encoding="utf-8") as fh:
            yaml.dump_all(new, fh, Dumper=yaml.CSafeDumper, default_flow_style=False, sort_keys=False)
        notes_file.write_text("\n".join(notes) + "\n")
    counts["mutations"] = notes_file.read_text().splitlines()
    return d, counts


def main() -> None:
    ap = argparse.ArgumentParser(description="podwall diff vs one matrix vs network-config-analyzer --semantic_diff")
    ap.add_argument("--pods", type=int, default=10000)
    ap.add_argument("--policy-ratio", type=float, default=0.2)
    ap.add_argument("--mutate", type=float, default=0.01, help="fraction of policies changed (default 0.01)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/podwall-bench")
    ap.add_argument("--nca-venv", default=str(Path.home() / ".cache" / "podwall-bench" / "nca-venv"))
    ap.add_argument("--nca-pods", type=int, default=2000, help="cluster size for NCA's semantic diff (default 2000)")
    ap.add_argument("--nca-timeout", type=float, default=600.0)
    ap.add_argument("--no-nca", action="store_true")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    workdir = Path(a.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    child = str(HERE / "diff_child.py")
    script = Path(sys.executable).with_name("podwall")
    podwall_cli = [str(script)] if script.exists() else [py, "-c", "from podwall.cli.main import main; main()"]
    results: dict[str, Any] = {}
    sizes = [a.pods] if a.no_nca or a.nca_pods == a.pods else [a.nca_pods, a.pods]
    for pods in sizes:
        pols = max(10, round(pods * a.policy_ratio))
        d, counts = ensure(workdir, pods, pols, a.seed, a.mutate)
        old = [str(d / f) for f in FILES]
        new = [str(d / "namespaces.yaml"), str(d / "pods.yaml"), str(d / f"policies-v2-{a.mutate:g}.yaml")]
        print(
            f"== {counts['pods']} pods, {counts['policies']} policies, {len(counts['mutations'])} mutated ({d})",
            file=sys.stderr,
        )
        diff_cmd = [
            *podwall_cli,
            "diff",
            *[x for f in old for x in ("--old", f)],
            *[x for f in new for x in ("--new", f)],
            "-o",
            "json",
        ]
        runs: dict[str, list[dict[str, Any]]] = {"matrix": [], "diff": []}
        for _ in range(a.repeat):
            runs["matrix"].append(run([py, child, "matrix", *old]))
            with open(d / "diff.json", "w") as fh:
                runs["diff"].append(run(diff_cmd, stdout=fh))
        for k, rs in runs.items():
            for r in rs:
                if r["rc"] != 0:
                    raise SystemExit(f"{k}: exit {r['rc']}\n{r['stderr']}")
        m = min(runs["matrix"], key=lambda r: r["wall_s"])
        df = min(runs["diff"], key=lambda r: r["wall_s"])
        info = json.loads(m["stdout"])
        with open(d / "diff.json", encoding="utf-8") as fh:
            summary = json.load(fh)["summary"]
        row = {
            "pods": counts["pods"],
            "policies": counts["policies"],
            "mutated": len(counts["mutations"]),
            "matrix_s": m["wall_s"],
            "matrix_peak_mib": m["peak_mib"],
            "matrix_detail": info,
            "diff_s": df["wall_s"],
            "diff_peak_mib": df["peak_mib"],
            "ratio": df["wall_s"] / m["wall_s"],
            "summary": summary,
            "all_runs": {k: [r["wall_s"] for r in rs] for k, rs in runs.items()},
        }
        print(
            f"   matrix {m['wall_s']:.2f} s (load {info['load_s']:.2f} s, connectivity {info['matrix_s']:.2f} s, "
            f"{info['classes']} classes), {m['peak_mib']:.0f} MiB | "
            f"diff {df['wall_s']:.2f} s, {df['peak_mib']:.0f} MiB | "
            f"diff / matrix = {row['ratio']:.2f} | changes: {summary}",
            file=sys.stderr,
        )
        if not a.no_nca and pods == a.nca_pods:
            nca, note = ensure_nca(Path(a.nca_venv))
            if nca is None:
                row["nca_note"] = note
            else:
                cmd = [
                    nca,
                    "--semantic_diff",
                    *[x for f in new[::-1] for x in ("-r", f)],
                    *[x for f in old[::-1] for x in ("-rb", f)],
                ]
                r = run_to_files(cmd, d / "nca-semantic-diff.txt", d / "nca-semantic-diff.err", a.nca_timeout)
                row["nca_s"] = None if r["timed_out"] else r["wall_s"]
                row["nca_peak_mib"] = r["peak_mib"]
                row["nca_rc"] = r["rc"]
                row["nca_note"] = f"killed after {a.nca_timeout:.0f} s" if r["timed_out"] else ""
                print(
                    f"   nca --semantic_diff {r['wall_s']:.1f} s, {r['peak_mib']:.0f} MiB, exit {r['rc']}",
                    file=sys.stderr,
                )
        results[str(pods)] = row
    print(
        "| pods | policies | mutated | one full matrix (load + all pairs, all ports) | `podwall diff` "
        "| diff / matrix | NCA `--semantic_diff` | NCA / podwall diff |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in results.values():
        nca = fmt_s(row["nca_s"]) if row.get("nca_s") else (row.get("nca_note") or "not run")
        ratio = f"{row['nca_s'] / row['diff_s']:.0f}x" if row.get("nca_s") else "-"
        print(
            f"| {row['pods']:,} | {row['policies']:,} | {row['mutated']} | {fmt_s(row['matrix_s'])} "
            f"| {fmt_s(row['diff_s'])} "
            f"| {row['ratio']:.2f} | {nca} | {ratio} |"
        )
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
