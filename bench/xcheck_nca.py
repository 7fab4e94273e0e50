"""Cross-check podwall's pod-level reachability against network-config-analyzer's, port by port.

    python bench/gen_cluster.py --pods 200 --no-owner-refs --out /tmp/x200
    nca --connectivity -r /tmp/x200/namespaces.yaml -r /tmp/x200/pods.yaml -r /tmp/x200/policies.yaml \\
        -o txt_no_fw_rules --output_endpoints pods > /tmp/x200/nca.txt
    python bench/xcheck_nca.py /tmp/x200 /tmp/x200/nca.txt

Bare pods (``--no-owner-refs``) so that NCA lists every pod instead of two per owner. NCA never
lets an ipBlock match a pod, so podwall runs with ``ipblock_matches_pods=False`` here. For every
ordered pair of distinct pods and every declared port of the destination, the two verdicts are
compared; a pair that NCA prints on several lines (one per protocol group) is the union of them.
Exit code 1 on any mismatch.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

import podwall
from podwall.core.evaluate import Engine
from podwall.core.model import Options
from podwall.core.reachability import matrix

ALL = "all"
Conn = dict[str, list[tuple[int, int]] | str]


def parse_ports(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.append((int(lo), int(hi or lo)))
    return out


def parse_conns(text: str) -> Conn:
    """``All connections`` or ``{protocols:TCP,dst_ports:80,8080},{protocols:UDP,...}``."""
    text = text.strip()
    if text.startswith("All connections"):
        return {"*": ALL}
    out: Conn = {}
    for group in re.findall(r"\{([^}]*)\}", text):
        fields = dict(re.findall(r"(\w+):([^:]*?)(?=,\w+:|$)", group))
        protos = [p.strip() for p in fields.get("protocols", "TCP,UDP,SCTP").split(",") if p.strip()]
        ports: list[tuple[int, int]] | str = parse_ports(fields["dst_ports"]) if "dst_ports" in fields else ALL
        for p in protos:
            prev = out.get(p)
            if prev == ALL or ports == ALL:
                out[p] = ALL
            else:
                assert isinstance(ports, list)
                out[p] = (prev if isinstance(prev, list) else []) + ports
    return out


def nca_allows(conns: list[Conn], protocol: str, port: int) -> bool:
    for c in conns:
        if c.get("*") == ALL:
            return True
        spec = c.get(protocol)
        if spec == ALL:
            return True
        if isinstance(spec, list) and any(lo <= port <= hi for lo, hi in spec):
            return True
    return False


def main() -> None:
    directory, nca_file = sys.argv[1], sys.argv[2]
    pairs: dict[tuple[str, str], list[Conn]] = defaultdict(list)
    with open(nca_file, encoding="utf-8") as fh:
        for line in fh:
            if " => " not in line or " : " not in line:
                continue
            lhs, conns = line.split(" : ", 1)
            src, dst = (x.strip() for x in lhs.split(" => "))
            pairs[(src, dst)].append(parse_conns(conns))
    loaded = podwall.load([f"{directory}/{f}" for f in ("namespaces.yaml", "pods.yaml", "policies.yaml")])
    m = matrix(Engine(loaded.cluster, Options(ipblock_matches_pods=False)))
    keys = [e.key for e in m.endpoints]
    checked = mismatches = allowed = 0
    for i, src in enumerate(keys):
        for j, dst in m.row(i):
            if i == j:
                continue
            ours = set(dst)
            theirs = pairs.get((src, keys[j]), [])
            for proto, port in m.checked(j):
                checked += 1
                a = (proto, port) in ours
                b = nca_allows(theirs, proto.value, port)
                allowed += a
                if a != b:
                    mismatches += 1
                    if mismatches <= 10:
                        print(f"MISMATCH {src} -> {keys[j]} {proto}/{port}: podwall {a}, NCA {b}")
    print(f"{len(keys)} pods, {checked} (pair, port) checks, {allowed} allowed by podwall, {mismatches} mismatches")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
