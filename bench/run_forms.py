"""podwall on the four input forms people use, against PyYAML's parse of the multi-document YAML.

    python bench/run_forms.py --pods 2000          # development size
    python bench/run_forms.py --pods 10000 --repeat 3

The generated cluster (``bench/gen_cluster.py``: pods = N, policies = N / 5) is written four
ways, as kubectl writes them:

* ``cluster.yaml``: multi-document YAML (what ``bench/`` always generated, in one file);
* ``list.yaml``: one ``kind: List`` document (``kubectl get -A -o yaml``; empty collections
  written ``{}`` and ``[]`` in flow style, as kubectl prints them);
* ``list.json``: one ``kind: List`` JSON document (``kubectl get -A -o json``);
* ``cluster.ndjson``: one object per line (``kubectl get -A -o json | jq -c '.items[]'``).

Each measurement runs in a fresh process (``bench/podwall_child.py``); the runs are interleaved
(round-robin, ``--repeat`` rounds, best of each kept) so that load from other jobs on the
machine hits them alike. ``parse`` is PyYAML's C loader ``load_all`` of ``cluster.yaml``; each
podwall run is load + validation + full pod-level reachability (the ``podwall matrix`` default:
every pod pair on every declared port). All four must give the same matrix (a digest of it),
or the run fails. Prints a Markdown table (wall time, best of the rounds, which the targets are
about; and CPU time, user + system, which other jobs on a shared machine disturb less);
``--json`` writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen_cluster  # noqa: E402
from podwall.sources import goyaml  # noqa: E402
from run_bench import run  # noqa: E402

FORMS = ("cluster.yaml", "list.yaml", "list.json", "cluster.ndjson")
TARGETS = {"list.json": 0.5, "cluster.ndjson": 0.5, "list.yaml": 1.3, "cluster.yaml": 1.2}
"""podwall's time on each form, at most this times the parse time (at 10,000 pods / 2,000 policies)."""


class _FlowEmpty(goyaml.SafeDumper):
    """kubectl's YAML printer: block style, but empty mappings and lists as ``{}`` and ``[]``."""

    def represent_mapping(self, tag: str, mapping: Any, flow_style: Any = None) -> Any:
        return super().represent_mapping(tag, mapping, flow_style=not mapping)

    def represent_sequence(self, tag: str, sequence: Any, flow_style: Any = None) -> Any:
        return super().represent_sequence(tag, sequence, flow_style=not sequence)


def write_forms(d: Path, pods: int, policies: int, seed: int) -> dict[str, int]:
    d.mkdir(parents=True, exist_ok=True)
    meta = d / "meta.json"
    if meta.exists() and all((d / f).exists() for f in FORMS):
        return dict(json.loads(meta.read_text()))
    nss, pds, pols = gen_cluster.generate(pods, policies, seed, True)
    docs = [*nss, *pds, *pols]
    with open(d / "cluster.yaml", "w") as fh:
        goyaml.dump_all(docs, fh, default_flow_style=False, sort_keys=False)
    lst = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": docs}
    with open(d / "list.yaml", "w") as fh:
        import yaml

        yaml.dump(lst, fh, Dumper=_FlowEmpty, sort_keys=False)
    (d / "list.json").write_bytes(orjson.dumps(lst, option=orjson.OPT_INDENT_2))
    with open(d / "cluster.ndjson", "wb") as fh:
        for doc in docs:
            fh.write(orjson.dumps(doc) + b"\n")
    counts = {"namespaces": len(nss), "pods": len(pds), "policies": len(pols)}
    meta.write_text(json.dumps(counts))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=10000)
    ap.add_argument("--policies", type=int, default=None, help="default: pods / 5")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="rounds of interleaved runs (best of each kept)")
    ap.add_argument("--workdir", default="/tmp/podwall-bench-forms")
    ap.add_argument("--json", default=None)
    ap.add_argument("--check", action="store_true", help="exit 1 if a target ratio is missed")
    ap.add_argument("--write-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    pols = a.policies if a.policies is not None else max(10, a.pods // 5)
    d = Path(a.workdir) / f"c{a.pods}-p{pols}-s{a.seed}"
    if a.write_only:
        write_forms(d, a.pods, pols, a.seed)
        return
    # generate in a child: a measured process inherits its parent's peak RSS until exec
    gen = run(
        [
            sys.executable,
            __file__,
            "--write-only",
            "--pods",
            str(a.pods),
            "--policies",
            str(pols),
            "--seed",
            str(a.seed),
            "--workdir",
            a.workdir,
        ]
    )
    if gen["rc"] != 0:
        raise SystemExit(gen["stderr"])
    counts = json.loads((d / "meta.json").read_text())
    py, child = sys.executable, str(HERE / "podwall_child.py")
    cmds = {"parse": [py, child, "parse", str(d / "cluster.yaml")]}
    cmds.update({f: [py, child, "matrix", str(d / f)] for f in FORMS})
    print(
        f"# {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{counts['pods']} pods, {counts['policies']} policies, {counts['namespaces']} namespaces",
        file=sys.stderr,
    )
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in cmds}
    for i in range(a.repeat):
        for k, cmd in cmds.items():
            r = run(cmd)
            if r["rc"] != 0:
                raise SystemExit(f"{' '.join(cmd)}: exit {r['rc']}\n{r['stderr']}")
            runs[k].append(r)
            print(f"  round {i + 1} {k}: {r['wall_s']:.2f} s, {r['peak_mib']:.0f} MiB", file=sys.stderr)
    best = {k: min(v, key=lambda r: r["wall_s"]) for k, v in runs.items()}
    cpu = {k: min(r["cpu_s"] for r in v) for k, v in runs.items()}
    digests = {f: json.loads(best[f]["stdout"])["digest"] for f in FORMS}
    if len(set(digests.values())) != 1:
        raise SystemExit(f"the forms give different matrices: {digests}")
    parse_s = best["parse"]["wall_s"]
    rows = []
    for f in FORMS:
        info = json.loads(best[f]["stdout"])
        ratio = best[f]["wall_s"] / parse_s
        rows.append(
            {
                "form": f,
                "mib": (d / f).stat().st_size / 2**20,
                "wall_s": best[f]["wall_s"],
                "cpu_s": cpu[f],
                "cpu_ratio": cpu[f] / cpu["parse"],
                "load_s": info["load_s"],
                "matrix_s": info["matrix_s"],
                "peak_mib": best[f]["peak_mib"],
                "ratio": ratio,
                "target": TARGETS[f],
                "ok": ratio <= TARGETS[f] and best[f]["peak_mib"] < 1024,
            }
        )
    print(
        f"PyYAML CSafeLoader load_all of cluster.yaml: {parse_s:.2f} s wall, {cpu['parse']:.2f} s CPU "
        f"({best['parse']['peak_mib']:.0f} MiB); "
        f"{counts['pods']:,} pods, {counts['policies']:,} policies; "
        f"matrices identical (digest {digests[FORMS[0]][:12]})"
    )
    print()
    print(
        "| input form | size | podwall full reachability | (load + matrix) | peak RSS | / parse | target "
        "| CPU time | CPU / parse CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| `{r['form']}` | {r['mib']:.1f} MiB | {r['wall_s']:.2f} s | {r['load_s']:.2f} + {r['matrix_s']:.2f} s "
            f"| {r['peak_mib']:.0f} MiB | {r['ratio']:.2f}x "
            f"| ≤ {r['target']}x {'ok' if r['ok'] else 'MISSED'} | {r['cpu_s']:.2f} s | {r['cpu_ratio']:.2f}x |"
        )
    if a.json:
        Path(a.json).write_text(json.dumps({"parse_s": parse_s, "counts": counts, "rows": rows}, indent=2))
    if a.check and not all(r["ok"] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
