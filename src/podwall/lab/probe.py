"""Real connections inside the lab, judged against the engine.

A probe runs in-process: the probing thread enters the source pod's namespace (setns, this
thread only) just long enough to create its socket; the socket stays in that namespace. So
hundreds of probes run concurrently from one process (bounded by ``parallel``).

Kernel outcomes (what the packets did):

* ``connected`` — TCP handshake done, or the UDP echo came back;
* ``refused`` — the destination pod answered (RST, or ICMP port unreachable): the policy let
  the connection through and nothing listens there;
* ``reached`` — SCTP: the raw INIT got an answer (this machine kind has no SCTP sockets, so
  the destination kernel answers ICMP protocol-unreachable, which conntrack relates to the
  allowed INIT). ``unsupported`` when even raw probing is impossible;
* ``timeout`` — nothing came back within the timeout: a policy drop (drops are silent);
* ``unreachable`` — no route (only addresses outside the lab, which are never probed).

Destinations outside the lab are never sent a packet: such probes are reported ``skipped``.
Probes from a pod to itself never leave its namespace and are advisory, as upstream treats them.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import random
import select
import socket
import struct
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from podwall.api import LoadedCluster
from podwall.core.model import Address, Endpoint, Protocol, Service
from podwall.core.services import evaluate_service, resolve_port, service_backends
from podwall.errors import PodwallError
from podwall.lab.topology import LabPlan
from podwall.nft.apply import in_netns
from podwall.sources.expectations import Expectation
from podwall.sources.expectations import parse_expectations as parse_expectations_file

REACHED = ("connected", "refused", "reached")


@dataclass(frozen=True)
class Probe:
    src: str
    dst: str
    port: int | str
    protocol: Protocol = Protocol.TCP
    expect: bool | None = None
    """From the expectations file: True allow, False deny, None not stated."""
    advisory: bool = False


@dataclass
class Attempt:
    endpoint: str
    ip: str
    port: int
    outcome: str = ""
    detail: str = ""


@dataclass
class ProbeResult:
    probe: Probe
    engine: bool | None = None
    kernel: bool | None = None
    outcome: str = ""
    detail: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    reason: str = ""
    advisory: bool = False

    @property
    def agrees(self) -> bool | None:
        if self.kernel is None or self.engine is None:
            return None
        return self.kernel == self.engine

    @property
    def failed(self) -> bool:
        """A real disagreement: kernel vs engine, or kernel vs the expectation (not advisory)."""
        if self.advisory or self.kernel is None:
            return False
        if self.engine is not None and self.kernel != self.engine:
            return True
        return self.probe.expect is not None and self.kernel != self.probe.expect

    def to_dict(self) -> dict[str, Any]:
        p = self.probe
        return {
            "from": p.src,
            "to": p.dst,
            "port": p.port,
            "protocol": p.protocol.value,
            "expect": None if p.expect is None else ("allow" if p.expect else "deny"),
            "engine": None if self.engine is None else ("allow" if self.engine else "deny"),
            "kernel": None if self.kernel is None else ("allow" if self.kernel else "deny"),
            "outcome": self.outcome,
            "detail": self.detail,
            "advisory": self.advisory,
            "agrees": self.agrees,
            "failed": self.failed,
            "attempts": [a.__dict__ for a in self.attempts],
        }


# -- expectations ---------------------------------------------------------------------------


def probes_from(expectations: Iterable[Expectation]) -> list[Probe]:
    """Lab probes for the assertions of an expectations file (``podwall.sources.expectations``)."""
    return [
        Probe(src=e.src, dst=e.dst, port=e.port, protocol=e.protocol, expect=e.expect, advisory=e.advisory)
        for e in expectations
    ]


def parse_expectations(text: str, name: str = "<expect>") -> list[Probe]:
    """Lab probes for an expectations file's text, read by the one expectations parser."""
    return probes_from(parse_expectations_file(text, name))


# -- low-level probes -----------------------------------------------------------------------


def _family(ip: str) -> int:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def _failure(exc: OSError) -> str:
    """The outcome a failed connect, send or receive stands for."""
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return "timeout"
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "unreachable"
    return f"error: {exc.strerror}"


def probe_tcp(netns: str, ip: str, port: int, timeout: float) -> str:
    with in_netns(netns):
        s = socket.socket(_family(ip), socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect((ip, port))
        return "connected"
    except OSError as exc:
        return _failure(exc)
    finally:
        s.close()


def probe_udp(netns: str, ip: str, port: int, timeout: float) -> str:
    with in_netns(netns):
        s = socket.socket(_family(ip), socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.connect((ip, port))
        token = os.urandom(8)
        s.send(b"podwall-probe " + token)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            s.settimeout(left)
            data = s.recv(2048)
            if data.endswith(token):
                return "connected"
    except OSError as exc:
        return _failure(exc)
    finally:
        s.close()


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def sctp_init(sport: int, dport: int) -> bytes:
    """An SCTP INIT chunk in a common header with a valid CRC32c (RFC 9260)."""
    tag = random.getrandbits(32) or 1
    chunk = struct.pack("!BBHIIHHI", 1, 0, 20, tag, 65535, 10, 10, random.getrandbits(32))
    head = struct.pack("!HHII", sport, dport, 0, 0)
    pkt = head + chunk
    return pkt[:8] + struct.pack("<I", crc32c(pkt)) + pkt[12:]


def probe_sctp(netns: str, ip: str, port: int, timeout: float) -> str:
    """Raw INIT: any answer (INIT-ACK, ABORT or ICMP protocol-unreachable) means "reached"."""
    fam = _family(ip)
    icmp_proto = socket.IPPROTO_ICMPV6 if fam == socket.AF_INET6 else socket.IPPROTO_ICMP
    try:
        with in_netns(netns):
            tx = socket.socket(fam, socket.SOCK_RAW, 132)
            rx = socket.socket(fam, socket.SOCK_RAW, icmp_proto)
    except OSError:
        return "unsupported"
    sport = random.randint(20000, 60000)
    try:
        tx.sendto(sctp_init(sport, port), (ip, 0))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            ready, _, _ = select.select([tx, rx], [], [], left)
            for s in ready:
                data, _addr = s.recvfrom(4096)
                if s is tx and _sctp_answer(data, fam, ip, sport):
                    return "reached"
                if s is rx and _icmp_about(data, fam, ip, sport):
                    return "reached"
    finally:
        tx.close()
        rx.close()


def _sctp_answer(data: bytes, fam: int, ip: str, sport: int) -> bool:
    off = (data[0] & 0x0F) * 4 if fam == socket.AF_INET else 0
    if fam == socket.AF_INET and socket.inet_ntoa(data[12:16]) != ip:
        return False
    return len(data) >= off + 4 and struct.unpack("!H", data[off + 2 : off + 4])[0] == sport


def _icmp_about(data: bytes, fam: int, ip: str, sport: int) -> bool:
    if fam == socket.AF_INET:
        off = (data[0] & 0x0F) * 4
        icmp = data[off:]
        if len(icmp) < 8 or icmp[0] != 3:
            return False
        inner = icmp[8:]
        ihl = (inner[0] & 0x0F) * 4
        if len(inner) < ihl + 2 or inner[9] != 132 or socket.inet_ntoa(inner[16:20]) != ip:
            return False
        return bool(struct.unpack("!H", inner[ihl : ihl + 2])[0] == sport)
    icmp = data
    if len(icmp) < 8 + 40 + 2 or icmp[0] not in (1, 4):
        return False
    inner = icmp[8:]
    dst = socket.inet_ntop(socket.AF_INET6, inner[24:40])
    return inner[6] == 132 and ipaddress.ip_address(dst) == ipaddress.ip_address(ip) and struct.unpack(
        "!H", inner[40:42]
    )[0] == sport


def probe_once(netns: str, ip: str, port: int, protocol: Protocol, timeout: float = 1.0) -> str:
    if protocol is Protocol.TCP:
        return probe_tcp(netns, ip, port, timeout)
    if protocol is Protocol.UDP:
        return probe_udp(netns, ip, port, timeout)
    return probe_sctp(netns, ip, port, timeout)


# -- probes against the engine ----------------------------------------------------------------


def _pick_ip(ep: Endpoint, family: int | None) -> str | None:
    for ip in ep.ips:
        if family is None or ipaddress.ip_address(ip).version == family:
            return ip
    return None


def _prepare(
    lc: LoadedCluster, lab_plan: LabPlan, p: Probe, family: int | None
) -> tuple[ProbeResult, str | None]:
    """Resolve names, ask the engine, and list what to send (returns the source netns)."""
    r = ProbeResult(probe=p, advisory=p.advisory)
    try:
        src = lc.target(p.src)
        dst = lc.endpoint(p.dst, allow_service=True)
    except PodwallError as exc:
        r.outcome, r.detail = "skipped", str(exc)
        return r, None
    if isinstance(src, Address):
        r.outcome, r.detail = "skipped", "the source must be a pod of the lab"
        return r, None
    src_plan = lab_plan.place(src.key)
    if src_plan is None:
        r.outcome, r.detail = "skipped", f"{src.key} has no namespace in the lab"
        return r, None
    if isinstance(dst, Address):
        owner = [e for e in lc.cluster.endpoints if str(dst.ip) in e.ips]
        host = lab_plan.host_with_ip(str(dst.ip))
        if not owner and host is not None and str(p.port).isdigit():
            v = lc.engine.verdict(src, dst, int(p.port), p.protocol)
            r.engine, r.reason = v.allowed, v.reason()
            r.attempts.append(Attempt(host.key, str(dst.ip), int(p.port)))
            return r, src_plan.netns
        if not owner:
            r.engine = lc.engine.verdict(src, dst, int(p.port) if str(p.port).isdigit() else 0, p.protocol).allowed
            r.outcome, r.detail = "skipped", "outside the lab: never probed (nothing may leave the lab)"
            r.advisory = True
            return r, None
        dst = owner[0]
    try:
        if isinstance(dst, Service):
            sv = evaluate_service(lc.engine, lc.cluster, src, dst, p.port, p.protocol)
            r.engine = sv.allowed
            r.reason = sv.reason()
            for b in sv.backends:
                bep = next(e for e in service_backends(lc.cluster, dst) if e.key == b.endpoint)
                ip = _pick_ip(bep, family)
                if b.port is None or ip is None or lab_plan.place(bep.key) is None:
                    r.attempts.append(
                        Attempt(b.endpoint, ip or "", b.port or 0, "skipped", "not in the lab or no port")
                    )
                else:
                    r.attempts.append(Attempt(b.endpoint, ip, b.port))
        else:
            num = resolve_port(p.port, p.protocol, dst)
            v = lc.engine.verdict(src, dst, num, p.protocol)
            r.engine, r.reason = v.allowed, v.reason()
            ip = _pick_ip(dst, family)
            if ip is None or lab_plan.place(dst.key) is None:
                r.outcome, r.detail = (
                    "skipped",
                    f"{dst.key} has no {'IPv' + str(family) + ' ' if family else ''}address in the lab",
                )
                return r, None
            r.attempts.append(Attempt(dst.key, ip, num))
    except PodwallError as exc:
        r.outcome, r.detail = "skipped", str(exc)
        return r, None
    if src is dst:
        r.advisory = True
        if p.protocol is Protocol.SCTP:
            # the probe's own raw socket would receive its INIT, so nothing would answer
            for a in r.attempts:
                a.outcome = "unsupported"
            r.detail = "SCTP to itself cannot be probed with raw packets"
    return r, src_plan.netns


def run_probes(
    lc: LoadedCluster,
    lab_plan: LabPlan,
    probes: Sequence[Probe],
    *,
    timeout: float = 1.0,
    parallel: int = 64,
    family: int | None = 4,
    retry: bool = True,
) -> list[ProbeResult]:
    """Run every probe with real packets (concurrently) and compare with the engine.

    ``retry``: probe once more what timed out although the engine allows it (never the
    reverse), as upstream's e2e harness re-polls.
    """
    prepared = [_prepare(lc, lab_plan, p, family) for p in probes]
    jobs: list[tuple[Attempt, str, Protocol]] = []
    for r, netns in prepared:
        if netns is None:
            continue
        for a in r.attempts:
            if not a.outcome:
                jobs.append((a, netns, r.probe.protocol))

    def go(job: tuple[Attempt, str, Protocol]) -> None:
        a, netns, proto = job
        a.outcome = probe_once(netns, a.ip, a.port, proto, timeout)

    # A raw SCTP socket open in a pod swallows SCTP packets arriving there, so that pod would
    # not answer other probes' INITs: SCTP probes run one source pod at a time (concurrently
    # within it), while TCP and UDP probes all run at once.
    plain = [j for j in jobs if j[2] is not Protocol.SCTP]
    groups: dict[str, list[tuple[Attempt, str, Protocol]]] = {}
    for j in jobs:
        if j[2] is Protocol.SCTP:
            groups.setdefault(j[1], []).append(j)
    batches = ([plain] if plain else []) + list(groups.values())
    if jobs:
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(jobs)))) as pool:
            for batch in batches:
                list(pool.map(go, batch))
            # Like upstream's harness, a probe that timed out although the engine allows it is
            # tried once more (a lost packet on a loaded machine is not a verdict). Never the
            # other way round: a connection that got through is never retried away.
            allowed = {id(r) for r, _ in prepared if r.engine and not r.advisory}
            owner = {id(a): r for r, _ in prepared for a in r.attempts}
            again = [j for j in jobs if j[0].outcome == "timeout" and id(owner[id(j[0])]) in allowed]
            if again and retry:
                for batch in (
                    [j for j in again if j[2] is not Protocol.SCTP],
                    [j for j in again if j[2] is Protocol.SCTP],
                ):
                    for j in batch:
                        j[0].detail = "retried after a timeout"
                    if batch and batch[0][2] is Protocol.SCTP:
                        for j in batch:
                            go(j)
                    elif batch:
                        list(pool.map(go, batch))
    out = []
    for r, netns in prepared:
        if netns is not None:
            outcomes = [a.outcome for a in r.attempts]
            if not outcomes:
                r.outcome, r.detail = "no backends", "the Service has no backing pod"
                r.kernel = False
            elif any(o == "unsupported" for o in outcomes):
                r.outcome = "unsupported"
                r.detail = r.detail or f"{r.probe.protocol} unsupported by this kernel"
            elif any(o.startswith("error") or o == "skipped" for o in outcomes):
                r.outcome = next(o for o in outcomes if o.startswith("error") or o == "skipped")
            else:
                r.kernel = all(o in REACHED for o in outcomes)
                r.outcome = ",".join(sorted(set(outcomes)))
        out.append(r)
    return out


def summary(results: Sequence[ProbeResult]) -> dict[str, int]:
    counted = [r for r in results if not r.advisory and r.kernel is not None]
    return {
        "probes": len(results),
        "compared": len(counted),
        "agree": sum(1 for r in counted if r.agrees),
        "disagree": sum(1 for r in counted if r.agrees is False),
        "unexpected": sum(1 for r in counted if r.probe.expect is not None and r.kernel != r.probe.expect),
        "advisory": sum(1 for r in results if r.advisory),
        "not_run": sum(1 for r in results if r.kernel is None and not r.advisory),
    }
