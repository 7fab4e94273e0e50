"""Single probes with real packets, from inside a pod's namespace: TCP, UDP and raw SCTP.

The probing thread enters the source pod's namespace (setns, this thread only) just long
enough to create its socket; the socket stays in that namespace. So many probes run
concurrently from one process. What the packets did is a :class:`ProbeOutcome`:

* ``connected`` — TCP handshake done, or the UDP echo came back;
* ``refused`` — the destination pod answered (RST, or ICMP port unreachable): the policy let
  the connection through and nothing listens there;
* ``reached`` — SCTP: the raw INIT got an answer (this machine kind has no SCTP sockets, so
  the destination kernel answers ICMP protocol-unreachable, which conntrack relates to the
  allowed INIT);
* ``timeout`` — nothing came back within the timeout: a policy drop (drops are silent);
* ``unreachable`` — no route (the source has no address of that family, or the address is
  not in the lab);
* ``unsupported`` — this kernel cannot send such a probe (no raw sockets);
* ``error`` — anything else, with the errno's text in ``detail``;
* ``skipped`` — never sent (decided before probing, see :mod:`podwall.lab.probe`).
"""

from __future__ import annotations

import enum
import errno
import ipaddress
import os
import random
import select
import socket
import struct
import time
from dataclasses import dataclass

from podwall.core.model import Protocol
from podwall.linux.netns import in_netns


class ProbeOutcome(enum.StrEnum):
    """What the kernel did with a probe (or why none was sent)."""

    CONNECTED = "connected"
    REFUSED = "refused"
    REACHED = "reached"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"
    UNSUPPORTED = "unsupported"
    ERROR = "error"

    @property
    def got_through(self) -> bool:
        """The packets reached the destination pod: the policies allowed the connection."""
        return self in (ProbeOutcome.CONNECTED, ProbeOutcome.REFUSED, ProbeOutcome.REACHED)

    @property
    def is_verdict(self) -> bool:
        """The outcome says allowed or denied (as opposed to: could not tell)."""
        return self.got_through or self in (ProbeOutcome.TIMEOUT, ProbeOutcome.UNREACHABLE)


@dataclass(frozen=True)
class Observed:
    """One probe's outcome, and for ``error``/``unsupported`` the reason (an errno's text)."""

    outcome: ProbeOutcome
    detail: str = ""


def _family(ip: str) -> int:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def _failure(exc: OSError) -> Observed:
    """The outcome a failed connect, send or receive stands for."""
    if isinstance(exc, ConnectionRefusedError):
        return Observed(ProbeOutcome.REFUSED)
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return Observed(ProbeOutcome.TIMEOUT)
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return Observed(ProbeOutcome.UNREACHABLE, exc.strerror or "")
    return Observed(ProbeOutcome.ERROR, f"{errno.errorcode.get(exc.errno or 0, 'E?')}: {exc.strerror}")


def _socket(netns: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    """A socket created inside ``netns`` (it stays there)."""
    with in_netns(netns):
        return socket.socket(family, kind, proto)


def _no_netns(netns: str, exc: OSError) -> Observed:
    return Observed(ProbeOutcome.ERROR, f"cannot enter namespace {netns}: {exc.strerror}")


def probe_tcp(netns: str, ip: str, port: int, timeout: float) -> Observed:
    try:
        s = _socket(netns, _family(ip), socket.SOCK_STREAM)
    except OSError as exc:
        return _no_netns(netns, exc)
    try:
        s.settimeout(timeout)
        s.connect((ip, port))
        return Observed(ProbeOutcome.CONNECTED)
    except OSError as exc:
        return _failure(exc)
    finally:
        s.close()


def probe_udp(netns: str, ip: str, port: int, timeout: float) -> Observed:
    try:
        s = _socket(netns, _family(ip), socket.SOCK_DGRAM)
    except OSError as exc:
        return _no_netns(netns, exc)
    try:
        s.settimeout(timeout)
        s.connect((ip, port))
        token = os.urandom(8)
        s.send(b"podwall-probe " + token)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return Observed(ProbeOutcome.TIMEOUT)
            s.settimeout(left)
            data = s.recv(2048)
            if data.endswith(token):
                return Observed(ProbeOutcome.CONNECTED)
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


def probe_sctp(netns: str, ip: str, port: int, timeout: float) -> Observed:
    """Raw INIT: any answer (INIT-ACK, ABORT or ICMP protocol-unreachable) means "reached"."""
    fam = _family(ip)
    icmp_proto = socket.IPPROTO_ICMPV6 if fam == socket.AF_INET6 else socket.IPPROTO_ICMP
    try:
        tx = _socket(netns, fam, socket.SOCK_RAW, 132)
    except FileNotFoundError as exc:
        return _no_netns(netns, exc)
    except OSError as exc:
        return Observed(ProbeOutcome.UNSUPPORTED, f"no raw SCTP socket: {exc.strerror}")
    try:
        rx = _socket(netns, fam, socket.SOCK_RAW, icmp_proto)
    except OSError as exc:
        tx.close()
        return Observed(ProbeOutcome.UNSUPPORTED, f"no raw ICMP socket: {exc.strerror}")
    sport = random.randint(20000, 60000)
    try:
        tx.sendto(sctp_init(sport, port), (ip, 0))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return Observed(ProbeOutcome.TIMEOUT)
            ready, _, _ = select.select([tx, rx], [], [], left)
            for s in ready:
                data, _addr = s.recvfrom(4096)
                if s is tx and _sctp_answer(data, fam, ip, sport):
                    return Observed(ProbeOutcome.REACHED)
                if s is rx and _icmp_about(data, fam, ip, sport):
                    return Observed(ProbeOutcome.REACHED)
    except OSError as exc:
        return _failure(exc)
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


def probe_once(netns: str, ip: str, port: int, protocol: Protocol, timeout: float = 1.0) -> Observed:
    """One probe from inside ``netns`` to ``ip``:``port``; never raises for network errors."""
    if protocol is Protocol.TCP:
        return probe_tcp(netns, ip, port, timeout)
    if protocol is Protocol.UDP:
        return probe_udp(netns, ip, port, timeout)
    return probe_sctp(netns, ip, port, timeout)
