"""Cost of cluster-wide tiers in full reachability: the bench cluster with and without 200
ClusterNetworkPolicies of both tiers, timed in the same run.

    python bench/bench_tiers.py                       # 10,000 pods, 200 CNPs, best of 7
    python bench/bench_tiers.py --pods 2000 --cnps 40 --repeat 1
    python bench/bench_tiers.py --ports all           # the whole port space (matrix --ports all, diff)

The cluster is ``gen_cluster.py``'s (namespaces, pods, NetworkPolicies). The CNPs are what a
platform team writes, at scale: DNS and monitoring accepted everywhere; per team, tenant
isolation (Pass from the team's namespaces, Deny from the rest) and egress guards (Deny to other
teams' pod CIDRs, to the internet except on 443); per namespace, Accepts and Denies for some
apps on numbered and named ports; Baseline default-denies per environment, with DNS first.
Priorities collide now and then, as they do in real clusters.

Full reachability = :func:`podwall.core.reachability.matrix` over every endpoint on its declared
ports (what ``podwall matrix`` computes). Runs are interleaved (without, with, without, ...) and
the best of each is compared, so that noise from other jobs hits both alike. Target: ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_cluster
import podwall
from podwall.core.evaluate import Engine
from podwall.core.matrix_ports import Grouped, compile_connectivity
from podwall.core.model import Cluster
from podwall.core.reachability import matrix

NAME = "kubernetes.io/metadata.name"


def _cnp(name: str, tier: str, priority: int, subject: dict[str, Any], **rules: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"tier": tier, "priority": priority, "subject": subject}
    spec.update({k: v for k, v in rules.items() if v})
    return {
        "apiVersion": "policy.networking.k8s.io/v1alpha2",
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }


def _tcp(n: int) -> dict[str, Any]:
    return {"tcp": {"destinationPort": {"number": n}}}


def generate_cnps(
    namespaces: list[dict[str, Any]], pods: list[dict[str, Any]], count: int, seed: int
) -> list[dict[str, Any]]:
    """``count`` ClusterNetworkPolicies over the generated cluster (Admin and Baseline)."""
    rnd = random.Random(seed)
    app_ns = [n for n in namespaces if n["metadata"]["name"].startswith("ns-")]
    teams = sorted({n["metadata"]["labels"]["team"] for n in app_ns})
    team_ns: dict[str, list[int]] = {t: [] for t in teams}
    for i, n in enumerate(app_ns):
        team_ns[n["metadata"]["labels"]["team"]].append(i)
    apps: dict[str, list[tuple[str, str]]] = {}
    for p in pods:
        ns = p["metadata"]["namespace"]
        if ns.startswith("ns-"):
            lab = p["metadata"]["labels"]
            apps.setdefault(ns, [])
            if (lab["app"], lab["tier"]) not in apps[ns]:
                apps[ns].append((lab["app"], lab["tier"]))
    dns_peer = {
        "pods": {
            "namespaceSelector": {"matchLabels": {NAME: "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    }
    out = [
        _cnp(
            "allow-dns",
            "Admin",
            1,
            {"namespaces": {}},
            egress=[
                {
                    "name": "dns",
                    "action": "Accept",
                    "to": [dns_peer],
                    "protocols": [{"udp": {"destinationPort": {"number": 53}}}, _tcp(53)],
                }
            ],
        ),
        _cnp(
            "allow-monitoring",
            "Admin",
            2,
            {"namespaces": {}},
            ingress=[
                {
                    "name": "scrape",
                    "action": "Accept",
                    "from": [{"namespaces": {"matchLabels": {"team": "observability"}}}],
                    "protocols": [{"destinationNamedPort": "metrics"}],
                }
            ],
        ),
    ]
    prio = 10
    for t in teams:  # tenant isolation and egress guards per team
        if len(out) >= count:
            break
        others = [t2 for t2 in teams if t2 != t]
        cidrs = [str(gen_cluster.ns_cidr(i)) for t2 in others for i in team_ns[t2][:2]][:20]
        out.append(
            _cnp(
                f"isolate-{t}",
                "Admin",
                prio,
                {"namespaces": {"matchLabels": {"team": t}}},
                ingress=[
                    {"name": "own-team", "action": "Pass", "from": [{"namespaces": {"matchLabels": {"team": t}}}]},
                    {
                        "name": "others",
                        "action": "Deny",
                        "from": [
                            {
                                "namespaces": {
                                    "matchExpressions": [
                                        {"key": "team", "operator": "NotIn", "values": [t, "observability"]}
                                    ]
                                }
                            }
                        ],
                    },
                ],
                egress=[
                    {"name": "other-teams", "action": "Deny", "to": [{"networks": cidrs}]} if cidrs else None,
                    {
                        "name": "https-out",
                        "action": "Pass",
                        "to": [{"networks": ["0.0.0.0/0"]}],
                        "protocols": [_tcp(443)],
                    },
                ],
            )
        )
        out[-1]["spec"]["egress"] = [r for r in out[-1]["spec"]["egress"] if r]
        prio += rnd.choice([0, 1, 1, 2])  # now and then two teams share a priority
    envs = ["prod", "staging", "dev"]
    for k, env in enumerate(envs):  # baseline default-deny per environment, DNS first
        out.append(
            _cnp(
                f"baseline-{env}",
                "Baseline",
                10 + k,
                {"namespaces": {"matchLabels": {"env": env}}},
                ingress=[{"name": "deny", "action": "Deny", "from": [{"namespaces": {}}]}],
                egress=[
                    {
                        "name": "dns",
                        "action": "Accept",
                        "to": [dns_peer],
                        "protocols": [{"udp": {"destinationPort": {"number": 53}}}],
                    },
                    {"name": "in-cluster", "action": "Accept", "to": [{"namespaces": {}}]},
                    {"name": "deny", "action": "Deny", "to": [{"networks": ["0.0.0.0/0", "::/0"]}]},
                ],
            )
        )
    slots = [(i, a) for i, n in enumerate(app_ns) for a in apps.get(n["metadata"]["name"], [])]
    rnd.shuffle(slots)
    j = 0
    while len(out) < count and slots:
        i, (app, tier) = slots[j % len(slots)]
        j += 1
        ns = app_ns[i]["metadata"]["name"]
        subject = {
            "pods": {"namespaceSelector": {"matchLabels": {NAME: ns}}, "podSelector": {"matchLabels": {"app": app}}}
        }
        neighbour = app_ns[(i + 1) % len(app_ns)]["metadata"]["name"]
        tier_name = "Admin" if j % 2 else "Baseline"
        port = {"web": 8080, "api": 9000, "db": 5432, "cache": 6379, "queue": 5672}.get(tier, 9100)
        ingress = [
            {
                "name": "from-neighbour",
                "action": rnd.choice(["Accept", "Deny", "Pass"]),
                "from": [
                    {
                        "pods": {
                            "namespaceSelector": {"matchLabels": {NAME: neighbour}},
                            "podSelector": {"matchLabels": {"tier": rnd.choice(gen_cluster.TIERS)}},
                        }
                    }
                ],
                "protocols": [_tcp(port)],
            },
            {
                "name": "named",
                "action": "Accept",
                "from": [{"namespaces": {"matchLabels": {"team": rnd.choice(teams)}}}],
                "protocols": [{"destinationNamedPort": rnd.choice(["http", "metrics", "db"])}],
            },
        ]
        egress = [
            {
                "name": "to-neighbour-cidr",
                "action": rnd.choice(["Accept", "Deny"]),
                "to": [{"networks": [str(gen_cluster.ns_cidr((i + 1) % len(app_ns)))]}],
                "protocols": [{"tcp": {"destinationPort": {"range": {"start": 8000, "end": 9000}}}}],
            },
        ]
        out.append(_cnp(f"{ns}-{app}", tier_name, 100 + rnd.randrange(400), subject, ingress=ingress, egress=egress))
    return out[:count]


def timed(engine: Engine, ports: str = "declared") -> tuple[float, int]:
    t0 = time.perf_counter()
    if ports == "all":  # the whole port space, per workload (what matrix --ports all and diff compute)
        comp = compile_connectivity(engine.cluster, engine.options, engine.cluster.endpoints)
        Grouped(engine.cluster.endpoints, comp, "workload").table()
        return time.perf_counter() - t0, comp.classes.n
    m = matrix(engine)
    return time.perf_counter() - t0, m.compiled.classes.n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--cnps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--max-ratio", type=float, default=1.5)
    ap.add_argument(
        "--ports",
        choices=["declared", "all"],
        default="declared",
        help="declared: full reachability on declared ports; all: the whole port space by workload",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        counts = gen_cluster.write(tmp, args.pods, None, args.seed)
        nss = list(yaml.safe_load_all(Path(tmp, "namespaces.yaml").read_text()))
        pods = list(
            yaml.load_all(Path(tmp, "pods.yaml").read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        )
        cnps = generate_cnps(nss, pods, args.cnps, args.seed)
        Path(tmp, "cnps.yaml").write_text(yaml.safe_dump_all(cnps))
        files = [str(Path(tmp, f)) for f in ("namespaces.yaml", "pods.yaml", "policies.yaml", "cnps.yaml")]
        loaded = podwall.load(files)
    with_tiers = loaded.cluster
    assert len(with_tiers.tier_policies) == len(cnps), "every generated CNP is valid"
    admin = sum(1 for p in with_tiers.tier_policies if p.tier.value == "Admin")
    without = Cluster(
        namespaces=with_tiers.namespaces,
        endpoints=with_tiers.endpoints,
        policies=with_tiers.policies,
        services=with_tiers.services,
    )
    e_without, e_with = Engine(without), Engine(with_tiers)
    base: list[float] = []
    tiered: list[float] = []
    classes = (0, 0)
    timed(e_without, args.ports)  # warm-up (imports, first allocations), not counted
    for _ in range(args.repeat):
        t, c0 = timed(e_without, args.ports)
        base.append(t)
        t, c1 = timed(e_with, args.ports)
        tiered.append(t)
        classes = (c0, c1)
    ratio = min(tiered) / min(base)
    print(
        f"{counts['pods']} pods, {counts['policies']} NetworkPolicies, {len(cnps)} ClusterNetworkPolicies "
        f"({admin} Admin, {len(cnps) - admin} Baseline)"
    )
    print(f"classes: {classes[0]} without tiers, {classes[1]} with")
    what = "whole port space by workload" if args.ports == "all" else "full reachability"
    print(f"{what}, best of {args.repeat}: without tiers {min(base):.2f} s, with {min(tiered):.2f} s")
    print(f"ratio {ratio:.2f} (target <= {args.max_ratio})")
    if ratio > args.max_ratio:
        sys.exit(1)


if __name__ == "__main__":
    main()
