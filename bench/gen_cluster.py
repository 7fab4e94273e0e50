"""Generate a realistic synthetic cluster: namespaces, pods and NetworkPolicies, as YAML files.

    python bench/gen_cluster.py --pods 10000 --out /tmp/c10k          # 2,000 policies by default
    python bench/gen_cluster.py --pods 2000 --policies 500 --seed 3 --out /tmp/c2k

Writes ``namespaces.yaml``, ``pods.yaml`` and ``policies.yaml`` (three multi-document files;
pass them as files, never the directory, to tools that also read other files).

Shape (about 100 pods per namespace, policies = pods / 5 unless ``--policies`` says otherwise):

* namespaces labelled ``team``, ``env`` and ``kubernetes.io/metadata.name``; a ``kube-system``
  with two kube-dns pods (``k8s-app=kube-dns``, named ports ``dns``/UDP 53, ``dns-tcp``/TCP 53)
  and a ``monitoring`` namespace with prometheus;
* bare Pods of Deployment-style workloads: ``app``, ``tier``, ``version`` and
  ``pod-template-hash`` labels, ``ownerReferences`` to a ReplicaSet that is *not* in the files
  (so every pod is an endpoint for podwall, and network-config-analyzer collapses pods by owner
  as it does on real clusters; ``--no-owner-refs`` drops them), named container ports whose
  numbers differ between apps (``http`` is 8080 on some, 80 on others), a pod IP from a /22
  per namespace;
* per namespace: default deny (both directions), DNS egress to kube-dns on UDP and TCP 53,
  egress within the namespace, ingress from the monitoring namespace on the named port
  ``metrics``; per app: ingress from
  upstream tiers (``matchExpressions``), from other teams' namespaces (namespace selector AND pod
  selector in one peer), from a neighbour namespace's pod CIDR by ``ipBlock`` with ``except``;
  egress to the database tier on named ports, to a port range (``endPort``), to the internet
  (``0.0.0.0/0`` except private ranges) on 443, and canary rules on ``version NotIn``.

Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import os
import random
from typing import Any

import yaml

TEAMS = ["payments", "search", "identity", "catalog", "checkout", "ads", "media", "platform"]
ENVS = ["prod", "staging", "dev"]
TIERS = ["web", "api", "api", "worker", "db", "cache", "queue"]
UPSTREAM = {
    "web": ["web"],
    "api": ["web", "api"],
    "worker": ["api"],
    "db": ["api", "worker"],
    "cache": ["api", "web"],
    "queue": ["api", "worker"],
}
POD_CIDR = ipaddress.ip_network("10.0.0.0/8")
NS_BLOCK = 1024  # addresses per namespace (/22)

try:
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _Dumper = yaml.SafeDumper


def _h(text: str, n: int) -> str:
    """A stable hex digest (``hash()`` is salted per process)."""
    return hashlib.sha1(text.encode()).hexdigest()[:n]


def tier_ports(tier: str, rnd: random.Random) -> list[dict[str, Any]]:
    http = rnd.choice([8080, 8080, 80, 8000])
    if tier == "web":
        return [
            {"name": "http", "containerPort": http, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
        ]
    if tier == "api":
        return [
            {"name": "http", "containerPort": http, "protocol": "TCP"},
            {"name": "grpc", "containerPort": 9000, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
        ]
    if tier == "worker":
        return [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
    if tier == "db":
        return [
            {"name": "db", "containerPort": 5432, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9187, "protocol": "TCP"},
        ]
    if tier == "cache":
        return [
            {"name": "redis", "containerPort": 6379, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9121, "protocol": "TCP"},
        ]
    return [
        {"name": "amqp", "containerPort": 5672, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 15692, "protocol": "TCP"},
    ]


def ns_cidr(index: int) -> ipaddress.IPv4Network:
    base = int(POD_CIDR.network_address) + index * NS_BLOCK
    return ipaddress.IPv4Network((base, 22))


def pod_ip(index: int, j: int) -> str:
    return str(ipaddress.IPv4Address(int(POD_CIDR.network_address) + index * NS_BLOCK + 2 + j))


def namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}},
    }


def pod(
    ns: str,
    name: str,
    labels: dict[str, str],
    ports: list[dict[str, Any]],
    ip: str,
    owner: tuple[str, str] | None,
    image: str,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels}
    if owner is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": owner[0],
                "name": owner[1],
                "uid": _h(ns + "/" + owner[1], 8) + "-0000-4000-8000-" + _h(owner[1], 12),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "containers": [{"name": labels.get("app", labels.get("k8s-app", "main")), "image": image, "ports": ports}]
        },
        "status": {"phase": "Running", "podIP": ip},
    }


def policy(
    ns: str,
    name: str,
    selector: dict[str, Any],
    types: list[str],
    ingress: list[Any] | None = None,
    egress: list[Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": selector, "policyTypes": types}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def generate(
    pods: int, policies: int | None, seed: int, owner_refs: bool = True
) -> tuple[list[Any], list[Any], list[Any]]:
    """Return (namespaces, pods, policies) as lists of manifests."""
    rnd = random.Random(seed)
    n_pol = policies if policies is not None else max(10, pods // 5)
    n_ns = max(2, (pods - 4) // 100)
    app_pods = pods - 4  # two kube-dns pods and two prometheus pods
    namespaces: list[Any] = [
        namespace("kube-system", {}),
        namespace("monitoring", {"team": "observability", "env": "prod"}),
    ]
    pod_docs: list[Any] = []
    pol_docs: list[Any] = []
    for i in range(2):
        lab = {"k8s-app": "kube-dns", "pod-template-hash": "5d78c9869d"}
        ports = [
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
        ]
        owner = ("ReplicaSet", "coredns-5d78c9869d") if owner_refs else None
        pod_docs.append(
            pod("kube-system", f"coredns-5d78c9869d-{i:05d}", lab, ports, f"10.255.0.{10 + i}", owner, "coredns:1.11")
        )
        lab = {"app": "prometheus", "tier": "monitoring", "pod-template-hash": "7c9f8d6b5"}
        owner = ("ReplicaSet", "prometheus-7c9f8d6b5") if owner_refs else None
        pod_docs.append(
            pod(
                "monitoring",
                f"prometheus-7c9f8d6b5-{i:05d}",
                lab,
                [{"name": "web", "containerPort": 9090, "protocol": "TCP"}],
                f"10.255.1.{10 + i}",
                owner,
                "prometheus:2.50",
            )
        )
    ns_names = [f"ns-{i:04d}" for i in range(n_ns)]
    ns_team = {n: TEAMS[i % len(TEAMS)] for i, n in enumerate(ns_names)}
    for i, n in enumerate(ns_names):
        namespaces.append(namespace(n, {"team": ns_team[n], "env": ENVS[(i // len(TEAMS)) % len(ENVS)]}))
    # apps per namespace
    per_ns = [app_pods // n_ns + (1 if i < app_pods % n_ns else 0) for i in range(n_ns)]
    apps: dict[str, list[tuple[str, str, list[dict[str, Any]]]]] = {}
    for i, n in enumerate(ns_names):
        left, j, k = per_ns[i], 0, 0
        apps[n] = []
        while left > 0:
            replicas = min(left, rnd.randint(2, 8))
            tier = TIERS[k % len(TIERS)] if k < len(TIERS) else rnd.choice(TIERS)
            app = f"{tier}-{k}"
            ports = tier_ports(tier, rnd)
            apps[n].append((app, tier, ports))
            for version_idx, count in enumerate(_split(replicas, rnd)):
                version = f"v{version_idx + 1}"
                h = _h(f"{seed}/{n}/{app}/{version}", 9)
                owner = ("ReplicaSet", f"{app}-{h}") if owner_refs else None
                for _ in range(count):
                    labels = {"app": app, "tier": tier, "version": version, "pod-template-hash": h}
                    pod_docs.append(
                        pod(
                            n,
                            f"{app}-{h}-{j:05d}",
                            labels,
                            ports,
                            pod_ip(i, j),
                            owner,
                            f"registry.example/{app}:{version}",
                        )
                    )
                    j += 1
            left -= replicas
            k += 1
    # policies: four per namespace, the rest per app
    for n in ns_names:
        pol_docs.append(policy(n, "default-deny", {}, ["Ingress", "Egress"]))
        pol_docs.append(
            policy(
                n,
                "allow-dns",
                {},
                ["Egress"],
                egress=[
                    {
                        "to": [
                            {
                                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            )
        )
        pol_docs.append(
            policy(
                n,
                "allow-monitoring",
                {},
                ["Ingress"],
                ingress=[
                    {
                        "from": [{"namespaceSelector": {"matchLabels": {"team": "observability"}}}],
                        "ports": [{"port": "metrics"}],
                    }
                ],
            )
        )
        pol_docs.append(
            policy(n, "allow-egress-same-namespace", {}, ["Egress"], egress=[{"to": [{"podSelector": {}}]}])
        )
    budget = n_pol - len(pol_docs)
    slots = [(n, a) for n in ns_names for a in apps[n]]
    rnd.shuffle(slots)
    made = 0
    while made < budget and slots:
        n, (app, tier, ports) = slots[made % len(slots)]
        round_ = made // len(slots)
        pol_docs.append(_app_policy(rnd, ns_names, ns_team, n, app, tier, ports, round_))
        made += 1
    return namespaces, pod_docs, pol_docs


def _split(replicas: int, rnd: random.Random) -> list[int]:
    """Most apps run one version; some are mid-rollout (v1 and v2)."""
    if replicas >= 4 and rnd.random() < 0.25:
        first = rnd.randint(1, replicas - 1)
        return [first, replicas - first]
    return [replicas]


def _app_policy(
    rnd: random.Random,
    ns_names: list[str],
    ns_team: dict[str, str],
    n: str,
    app: str,
    tier: str,
    ports: list[dict[str, Any]],
    round_: int,
) -> dict[str, Any]:
    idx = ns_names.index(n) if len(ns_names) < 64 else int(n.split("-")[1])
    sel = {"matchLabels": {"app": app}}
    kind = (round_ + rnd.randint(0, 3)) % 4
    if kind == 0:
        # ingress from upstream tiers of this namespace and from another team's namespace
        other_team = rnd.choice(TEAMS)
        name = ports[0]["name"]
        rule_ports: list[dict[str, Any]] = [{"port": name}]
        if tier == "api":
            rule_ports.append({"protocol": "TCP", "port": 9000})
        return policy(
            n,
            f"{app}-ingress-{round_}",
            sel,
            ["Ingress"],
            ingress=[
                {
                    "from": [
                        {
                            "podSelector": {
                                "matchExpressions": [{"key": "tier", "operator": "In", "values": UPSTREAM[tier]}]
                            }
                        }
                    ],
                    "ports": rule_ports,
                },
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"team": other_team},
                                "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}],
                            },
                            "podSelector": {"matchLabels": {"tier": rnd.choice(["web", "api"])}},
                        }
                    ],
                    "ports": [{"port": name}],
                },
            ],
        )
    if kind == 1:
        # ingress from a neighbour namespace's pod CIDR, minus one /24
        nb = (idx + 1 + rnd.randint(0, 2)) % len(ns_names)
        cidr = ns_cidr(nb)
        exc = list(cidr.subnets(new_prefix=24))[rnd.randint(0, 3)]
        return policy(
            n,
            f"{app}-from-cidr-{round_}",
            sel,
            ["Ingress"],
            ingress=[
                {
                    "from": [{"ipBlock": {"cidr": str(cidr), "except": [str(exc)]}}],
                    "ports": [{"protocol": "TCP", "port": ports[0]["containerPort"]}],
                }
            ],
        )
    if kind == 2:
        # egress to databases and caches on named ports, and to a port range in prod namespaces
        return policy(
            n,
            f"{app}-egress-{round_}",
            sel,
            ["Egress"],
            egress=[
                {
                    "to": [
                        {
                            "podSelector": {
                                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db", "cache"]}]
                            }
                        }
                    ],
                    "ports": [{"port": "db"}, {"port": "redis"}],
                },
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [
                                    {"key": "env", "operator": "In", "values": ["prod"]},
                                    {"key": "team", "operator": "Exists"},
                                ]
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 8000, "endPort": 8999}],
                },
            ],
        )
    # internet egress on 443 and canary: only v1 pods of the same namespace may call it
    return policy(
        n,
        f"{app}-canary-{round_}",
        sel,
        ["Ingress", "Egress"],
        ingress=[
            {
                "from": [
                    {
                        "podSelector": {
                            "matchExpressions": [
                                {"key": "version", "operator": "NotIn", "values": ["v2"]},
                                {"key": "app", "operator": "Exists"},
                            ]
                        }
                    }
                ]
            }
        ],
        egress=[
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
                "ports": [{"protocol": "TCP", "port": 443}],
            }
        ],
    )


def write(out: str, pods: int, policies: int | None, seed: int, owner_refs: bool = True) -> dict[str, int]:
    """Generate and write the three files; return counts."""
    os.makedirs(out, exist_ok=True)
    nss, pds, pols = generate(pods, policies, seed, owner_refs)
    for fname, docs in (("namespaces.yaml", nss), ("pods.yaml", pds), ("policies.yaml", pols)):
        with open(os.path.join(out, fname), "w") as fh:
            yaml.dump_all(docs, fh, Dumper=_Dumper, default_flow_style=False, sort_keys=False)
    return {"namespaces": len(nss), "pods": len(pds), "policies": len(pols)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, required=True)
    ap.add_argument("--policies", type=int, default=None, help="default: pods / 5")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-owner-refs", action="store_true", help="bare pods without ownerReferences")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    counts = write(a.out, a.pods, a.policies, a.seed, not a.no_owner_refs)
    print(f"{a.out}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
