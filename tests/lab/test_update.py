"""Updates never fail open, and revocation does what docs/lab.md says.

A client whose connections every policy version denies hammers the server while the policies
change in place many times (element diffs, chain diffs, full in-place replacements, pod churn):
not one of its connections may succeed.
"""

from __future__ import annotations

import threading
import time

from podwall.core.model import Protocol
from podwall.lab.packets import probe_once
from podwall.sources.manifests import SourceText

PODS = """
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: app}}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: app, labels: {app: server}}
spec:
  containers:
  - name: c
    ports: [{name: http, containerPort: 8080}, {name: alt, containerPort: 9090}, {containerPort: 53, protocol: UDP}]
status: {podIP: 10.9.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: friend, namespace: app, labels: {app: friend}}
spec: {containers: [{name: c}]}
status: {podIP: 10.9.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app, labels: {app: client}}
spec: {containers: [{name: c}]}
status: {podIP: 10.9.0.4}
"""

EXTRA_POD = """
---
apiVersion: v1
kind: Pod
metadata: {name: extra, namespace: app, labels: {app: friend}}
spec: {containers: [{name: c, ports: [{containerPort: 7000}]}]}
status: {podIP: 10.9.0.5}
"""

VARIANTS = [
    # friend may reach the server on 8080
    """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: app}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {matchLabels: {app: friend}}}], ports: [{port: 8080}]}]
""",
    # named port, endPort range, ipBlock with the client cut out, UDP
    """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: app}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: friend}}}]
    ports: [{port: http}, {port: 9000, endPort: 9100}]
  - from: [{ipBlock: {cidr: 10.9.0.0/24, except: [10.9.0.4/32]}}]
  - ports: [{protocol: UDP, port: 53}]
""",
    # two policies; the client gets an egress policy that allows everything
    """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: app}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: nobody}}}]
  - from: [{podSelector: {matchLabels: {app: friend}}}]
    ports: [{port: alt}, {port: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out, namespace: app}
spec: {podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{}]}
""",
    # the client may send nothing at all; the server is open to friends only
    """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out, namespace: app}
spec: {podSelector: {matchLabels: {app: client}}, policyTypes: [Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: app}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {matchLabels: {app: friend}}}]}]
""",
]


def _src(i: int) -> list[SourceText]:
    pods = PODS + (EXTRA_POD if i % 5 == 4 else "")
    return [SourceText("pods.yaml", pods), SourceText("policies.yaml", VARIANTS[i % len(VARIANTS)])]


def test_no_denied_connection_gets_through_while_policies_change(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab("u")
    lab.up(_src(0))
    _, plan = lab.loaded()
    client = plan.pod("app/client")
    friend = plan.pod("app/friend")
    assert client is not None and friend is not None
    stop = threading.Event()
    denied = {"tries": 0, "through": 0}
    allowed: dict[str, int] = {"tries": 0, "failed": 0}

    def hammer() -> None:
        while not stop.is_set():
            out = probe_once(client.netns, "10.9.0.2", 8080, Protocol.TCP, timeout=0.05).outcome
            denied["tries"] += 1
            if out in ("connected", "refused"):
                denied["through"] += 1

    def friendly() -> None:
        while not stop.is_set():
            out = probe_once(friend.netns, "10.9.0.2", 8080, Protocol.TCP, timeout=0.5).outcome
            allowed["tries"] += 1
            if out != "connected":
                allowed["failed"] += 1
                allowed[out] = allowed.get(out, 0) + 1

    threads = [threading.Thread(target=hammer) for _ in range(4)] + [threading.Thread(target=friendly)]
    for t in threads:
        t.start()
    hows = []
    try:
        t0 = time.monotonic()
        i = 0
        # at least 150 changes, and on until the hammer has tried 300 denied connections during them
        while i < 150 or (denied["tries"] <= 300 and time.monotonic() - t0 < 50):
            i += 1
            ch = lab.apply(_src(i))
            hows.append(ch.nft)
            if i % 7 == 0:  # also the full in-place replacement path
                lc, plan2 = lab.loaded()
                from podwall.nft.compile import compile_ruleset

                lab.nft().replace(compile_ruleset(lc.cluster, plan2.attachments(), lc.engine.options))
                hows.append("replace")
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert denied["tries"] > 300, denied
    assert denied["through"] == 0, f"{denied['through']} of {denied['tries']} denied connections got through"
    assert "diff" in hows and "replace" in hows
    # every variant allows friend -> server:8080, and pod churn never touches friend:
    # established-first rules and in-place set updates mean no allowed SYN is lost
    assert allowed["tries"] > 20
    assert allowed["failed"] == 0, allowed
    assert elapsed < 60


REVOKE = [
    """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: app}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
""",
    """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: app}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {matchLabels: {app: friend}}}]}]
""",
]


def _udp_stream(netns: str):  # type: ignore[no-untyped-def]
    """An "established" UDP flow: one socket, one 4-tuple, request/reply round trips."""
    import socket

    from podwall.linux.netns import in_netns

    with in_netns(netns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    s.connect(("10.9.0.2", 53))

    def round_trip() -> bool:
        try:
            s.send(b"ping")
            return s.recv(100) == b"ping"
        except OSError:
            return False

    return s, round_trip


def test_revocation_keeps_established_flows_unless_cut(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab("r")
    pods = SourceText("pods.yaml", PODS)
    lab.up([pods, SourceText("p.yaml", REVOKE[0])])
    _, plan = lab.loaded()
    client = plan.pod("app/client")
    assert client is not None
    # default (keep): the established flow survives, new connections are refused
    s, rt = _udp_stream(client.netns)
    assert rt()
    lab.apply([pods, SourceText("p.yaml", REVOKE[1])])
    assert rt(), "an established flow survives a revocation by default"
    assert probe_once(client.netns, "10.9.0.2", 53, Protocol.UDP, 0.5).outcome == "timeout"
    s.close()
    # strict (cut): the established flow is cut as well
    lab.apply([pods, SourceText("p.yaml", REVOKE[0])])
    s, rt = _udp_stream(client.netns)
    assert rt()
    ch = lab.apply([pods, SourceText("p.yaml", REVOKE[1])], cut=True)
    assert ch.cut >= 1
    assert not rt(), "--cut deletes the conntrack entry: the next packet is a new, denied flow"
    s.close()
