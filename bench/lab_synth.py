"""A synthetic cluster in the shape research/lab.md measured (shared by the lab benchmarks).

100 namespaces of 20 pods and 4 policies each (2,000 pods, 400 policies at full size): a
default-deny; server-from-client on TCP 8080 plus the named port ``metrics`` from a
namespaceSelector; a db policy with ingress from a matchExpressions selector and egress to
kube-system DNS and to ipBlock 10.0.0.0/8 except 10.244.0.0/16 on 443; a web policy with an
ipBlock with except, a namespaceSelector and ports 30000-30100 via endPort.
"""

from __future__ import annotations

ROLES = ["client", "server", "db", "web", "other"]


def pod(ns: int, i: int) -> str:
    role = ROLES[i % len(ROLES)]
    ip = f"10.244.{ns // 2}.{(ns % 2) * 100 + i + 10}"
    ports = "[{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}" + (
        ", {name: sql, containerPort: 5432}]" if role == "db" else "]"
    )
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {role}-{i}, namespace: ns{ns:03d}, labels: {{app: {role}}}}}\n"
        f"spec: {{containers: [{{name: c, ports: {ports}}}]}}\nstatus: {{podIP: {ip}}}\n"
    )


def policies(ns: int) -> str:
    n = f"ns{ns:03d}"
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: default-deny, namespace: {n}}}
spec: {{podSelector: {{}}, policyTypes: [Ingress]}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: server-from-client, namespace: {n}}}
spec:
  podSelector: {{matchLabels: {{app: server}}}}
  ingress:
  - from: [{{podSelector: {{matchLabels: {{app: client}}}}}}]
    ports: [{{port: 8080}}]
  - from: [{{namespaceSelector: {{matchLabels: {{role: monitoring}}}}}}]
    ports: [{{port: metrics}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: db, namespace: {n}}}
spec:
  podSelector: {{matchLabels: {{app: db}}}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{{podSelector: {{matchExpressions: [{{key: app, operator: In, values: [server, web]}}]}}}}]
    ports: [{{port: sql}}]
  egress:
  - to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: kube-system}}}}}}]
    ports: [{{port: 53, protocol: UDP}}, {{port: 53, protocol: TCP}}]
  - to: [{{ipBlock: {{cidr: 10.0.0.0/8, except: [10.244.0.0/16]}}}}]
    ports: [{{port: 443}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: web, namespace: {n}}}
spec:
  podSelector: {{matchLabels: {{app: web}}}}
  ingress:
  - from:
    - ipBlock: {{cidr: 172.16.0.0/12, except: [172.16.5.0/24]}}
    - namespaceSelector: {{matchLabels: {{team: ns{(ns + 1) % 100:03d}}}}}
    ports: [{{port: 30000, endPort: 30100}}]
"""


def cluster_yaml(namespaces: int = 100, pods_per_ns: int = 20, extra: str = "") -> str:
    docs = ["apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n"]
    for ns in range(namespaces):
        role = "monitoring" if ns % 10 == 0 else "app"
        docs.append(
            f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{ns:03d}, labels: {{team: ns{ns:03d}, role: "
            f"{role}}}}}\n"
        )
        docs += [pod(ns, i) for i in range(pods_per_ns)]
        docs.append(policies(ns))
    if extra:
        docs.append(extra)
    return "---\n".join(docs)
