"""Cross-check ``podwall diff --by pod`` against network-config-analyzer's ``--semantic_diff``.

    python bench/xcheck_diff_nca.py DIR [--nca PATH]

``DIR`` holds a bare-pod cluster (``gen_cluster.py --no-owner-refs``) as ``namespaces.yaml``,
``pods.yaml``, ``policies.yaml``, and the new version ``policies-v2.yaml``. NCA is run with
``-o txt_no_fw_rules`` (one line per pod pair and connection set); podwall with ``--by pod
--no-ipblock-matches-pods`` (NCA never matches pod IPs with ipBlocks). For every pair of pods,
the connections opened and closed must agree. Pairs with an address range are compared only in
count, because the two tools split the address space differently.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from podwall.core.model import Protocol
from podwall.core.portsets import PortSet

LINE = re.compile(r"^(\S+)\[(\w+)\] => (\S+)\[(\w+)\] : (.*)$")


def nca_conns(text: str) -> PortSet:
    """NCA's connection text: ``All connections``, ``{protocols:TCP, UDP,dst_ports:53,80-90}``."""
    text = text.strip()
    if text == "All connections":
        return PortSet.all()
    if text.startswith("All but "):
        return PortSet.all() - nca_conns(text[len("All but ") :])
    m = re.fullmatch(r"\{protocols:([^}]*?)(?:,dst_ports:([0-9,\-]+))?\}", text)
    if m is None:
        raise ValueError(f"cannot read NCA connections {text!r}")
    protos = [Protocol(p.strip()) for p in m.group(1).split(",")]
    if m.group(2) is None:
        return PortSet({p: [(1, 65535)] for p in protos})
    ranges = []
    for item in m.group(2).split(","):
        lo, _, hi = item.partition("-")
        ranges.append((int(lo), int(hi or lo)))
    return PortSet({p: ranges for p in protos})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--nca", default=str(Path.home() / ".cache" / "podwall-bench" / "nca-venv" / "bin" / "nca"))
    a = ap.parse_args()
    d = Path(a.dir)
    old = [str(d / f) for f in ("policies.yaml", "namespaces.yaml", "pods.yaml")]
    new = [str(d / f) for f in ("policies-v2.yaml", "namespaces.yaml", "pods.yaml")]
    nca_cmd = [a.nca, "--semantic_diff", *[x for f in new for x in ("-r", f)], *[x for f in old for x in ("-rb", f)]]
    out = subprocess.run([*nca_cmd, "-o", "txt_no_fw_rules"], capture_output=True, text=True, check=False).stdout
    nca: dict[tuple[str, str], dict[str, PortSet]] = {}
    section = ""
    ranges = 0
    for line in out.splitlines():
        if line.startswith(("Added", "New")):
            section = "opened"
        elif line.startswith(("Removed", "Lost")):
            section = "closed"
        m = LINE.match(line)
        if m is None:
            if " => " in line and section:
                ranges += 1
            continue
        key = (m.group(1), m.group(3))
        entry = nca.setdefault(key, {"opened": PortSet.none(), "closed": PortSet.none()})
        entry[section] = entry[section] | nca_conns(m.group(5))
    pw_cmd = [
        sys.executable,
        "-c",
        "from podwall.cli.main import main; main()",
        "diff",
        "--by",
        "pod",
        "--no-ipblock-matches-pods",
        "-o",
        "json",
        *[x for f in old for x in ("--old", f)],
        *[x for f in new for x in ("--new", f)],
    ]
    doc = json.loads(subprocess.run(pw_cmd, capture_output=True, text=True, check=True).stdout)
    pw: dict[tuple[str, str], dict[str, PortSet]] = {}
    pw_ranges = 0
    for c in doc["changes"]:
        if c["from"][0].isdigit() or c["to"][0].isdigit() or ":" in c["from"] + c["to"]:
            pw_ranges += 1
            continue
        before, after = PortSet.from_json(c["before"]), PortSet.from_json(c["after"])
        pw[(c["from"], c["to"])] = {"opened": after - before, "closed": before - after}
    mismatches = 0
    for key in sorted(set(nca) | set(pw)):
        n = nca.get(key, {"opened": PortSet.none(), "closed": PortSet.none()})
        p = pw.get(key, {"opened": PortSet.none(), "closed": PortSet.none()})
        if n != p:
            mismatches += 1
            if mismatches <= 10:
                print(f"MISMATCH {key}: nca {n['opened']} / {n['closed']}  podwall {p['opened']} / {p['closed']}")
    print(
        f"pod pairs changed: nca {len(nca)}, podwall {len(pw)}; mismatches {mismatches}; "
        f"address-range lines: nca {ranges}, podwall {pw_ranges} changes"
    )
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
