"""Anti-spoofing and dual stack: a pod may only send from its own addresses, IPv4 and IPv6.

Policies match on source addresses, so a pod that could send from another pod's address could
borrow its rights. rp_filter only covers IPv4; the ruleset's guard chain covers both.
"""

from __future__ import annotations

import socket
import subprocess

from podwall.lab.probe import parse_expectations, run_probes
from podwall.linux.netns import in_netns
from podwall.sources.manifests import SourceText

from .conftest import shown

PODS = "\n---\n".join(
    f"""apiVersion: v1
kind: Pod
metadata: {{name: {n}, namespace: default, labels: {{app: {n}}}}}
spec: {{containers: [{{name: c, ports: [{{containerPort: 80}}, {{containerPort: 80, protocol: UDP}}]}}]}}
status:
  podIP: 10.6.0.{i}
  podIPs: [{{ip: 10.6.0.{i}}}, {{ip: "fd00:6::{i}"}}]"""
    for i, n in ((1, "a"), (2, "b"), (3, "c"))
)
# c accepts only b, on both families
POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: c-from-b, namespace: default}
spec:
  podSelector: {matchLabels: {app: c}}
  ingress: [{from: [{podSelector: {matchLabels: {app: b}}}]}]
"""


def _connect_from(netns: str, src: str, dst: str) -> str:
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    with in_netns(netns):
        s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.settimeout(0.5)
        s.bind((src, 0))
        s.connect((dst, 80))
        return "connected"
    except OSError as exc:
        return "timeout" if isinstance(exc, TimeoutError) else str(exc)
    finally:
        s.close()


def test_a_pod_cannot_borrow_another_pods_address(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab("f")
    lab.up([SourceText("pods.yaml", PODS), SourceText("policy.yaml", POLICY)])
    _, plan = lab.loaded()
    a, b = plan.pod("default/a"), plan.pod("default/b")
    assert a and b
    # both families work and are enforced
    assert _connect_from(b.netns, "10.6.0.2", "10.6.0.3") == "connected"
    assert _connect_from(b.netns, "fd00:6::2", "fd00:6::3") == "connected"
    assert _connect_from(a.netns, "10.6.0.1", "10.6.0.3") == "timeout"
    assert _connect_from(a.netns, "fd00:6::1", "fd00:6::3") == "timeout"
    # a takes b's addresses as its own and tries to use b's rights
    subprocess.run(["ip", "-n", a.netns, "addr", "add", "10.6.0.2/32", "dev", "eth0"], check=True)
    subprocess.run(["ip", "-n", a.netns, "addr", "add", "fd00:6::2/128", "dev", "eth0", "nodad"], check=True)
    assert _connect_from(a.netns, "10.6.0.2", "10.6.0.3") == "timeout"
    assert _connect_from(a.netns, "fd00:6::2", "fd00:6::3") == "timeout"
    rows = lab.nft().counters("podwall")
    spoofed = {r["comment"]: r["packets"] for r in rows if "anti-spoofing" in r["comment"]}
    assert all(n >= 1 for n in spoofed.values()) and len(spoofed) == 2


def test_probes_over_ipv6(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab("g")
    lab.up([SourceText("pods.yaml", PODS), SourceText("policy.yaml", POLICY)])
    lc, plan = lab.loaded()
    probes = parse_expectations(
        """
- {from: default/b, to: default/c, port: 80, expect: allow}
- {from: default/a, to: default/c, port: 80, expect: deny}
- {from: default/a, to: default/c, port: 80, protocol: UDP, expect: deny}
- {from: default/c, to: default/a, port: 80, protocol: UDP, expect: allow}
"""
    )
    for family in (4, 6):
        results = run_probes(lc, plan, probes, family=family)
        assert [shown(r) for r in results if r.failed or r.kernel is None] == []
        assert all((":" in r.attempts[0].ip) == (family == 6) for r in results)


def _udp_from(netns: str, src: str, port: int, dst: str) -> socket.socket:
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    with in_netns(netns):
        s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, port))
    s.connect((dst, 80))
    s.settimeout(0.5)
    return s


def test_a_pod_cannot_inject_into_another_pods_established_flow(make_lab) -> None:  # type: ignore[no-untyped-def]
    """The ruleset checks IPv4 sources on new connections only; established IPv4 packets are
    checked by the node's strict rp_filter, IPv6 ones by the guard chain. A spoofed datagram
    that matches b's established UDP flow to c must not reach c (c would echo it to b)."""
    lab = make_lab("j")
    lab.up([SourceText("pods.yaml", PODS), SourceText("policy.yaml", POLICY)])
    _, plan = lab.loaded()
    a, b = plan.pod("default/a"), plan.pod("default/b")
    assert a and b
    subprocess.run(["ip", "-n", a.netns, "addr", "add", "10.6.0.2/32", "dev", "eth0"], check=True)
    subprocess.run(["ip", "-n", a.netns, "addr", "add", "fd00:6::2/128", "dev", "eth0", "nodad"], check=True)
    for src, dst, port in (("10.6.0.2", "10.6.0.3", 40001), ("fd00:6::2", "fd00:6::3", 40002)):
        real = _udp_from(b.netns, src, port, dst)
        fake = _udp_from(a.netns, src, port, dst)
        try:
            real.send(b"hello")
            assert real.recv(100) == b"hello"  # b's flow to c is established
            fake.send(b"spoofed")
            try:
                got = real.recv(100)
            except TimeoutError:
                got = b""
            assert got == b"", f"{dst}: a's spoofed datagram reached c"
            real.send(b"again")
            assert real.recv(100) == b"again"
        finally:
            real.close()
            fake.close()
