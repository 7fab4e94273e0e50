"""Just enough rtnetlink to configure a pod's side in-process: links up, addresses, routes.

Spawning ``ip -n POD -b -`` per pod costs a process per pod (most of the time of a 500-pod
``lab up``). Here a thread enters the pod's namespace, opens a NETLINK_ROUTE socket there (the
socket belongs to that namespace for good) and sends the same requests ``ip`` would:

    link set lo up; link set eth0 up
    addr add IP/32 dev eth0            (IPv6: /128, nodad)
    route add 169.254.1.1 dev eth0 scope link; route add default via 169.254.1.1 dev eth0
    route add ::/0 via fe80::1 dev eth0

Every request asks for an acknowledgement; an error becomes a LabError naming the request.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

from podwall.errors import LabError
from podwall.lab.topology import GATEWAY4, GATEWAY6
from podwall.linux.netns import in_netns

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 20, 24
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLMSG_ERROR = 2
IFF_UP = 0x1
IFA_ADDRESS, IFA_LOCAL = 1, 2
IFA_F_NODAD = 0x02
RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK = 0, 253
RTN_UNICAST = 1


def _attr(kind: int, data: bytes) -> bytes:
    length = 4 + len(data)
    return struct.pack("HH", length, kind) + data + b"\0" * ((4 - length % 4) % 4)


class _Conn:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def request(self, msg_type: int, body: bytes, what: str, flags: int = NLM_F_CREATE | NLM_F_EXCL) -> None:
        self.seq += 1
        header = struct.pack("IHHII", 16 + len(body), msg_type, NLM_F_REQUEST | NLM_F_ACK | flags, self.seq, 0)
        self.sock.send(header + body)
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, kind, _flags, seq, _pid = struct.unpack_from("IHHII", data, off)
                if kind == NLMSG_ERROR and seq == self.seq:
                    (err,) = struct.unpack_from("i", data, off + 16)
                    if err != 0:
                        raise LabError(f"netlink {what}: {os.strerror(-err)}")
                    return
                off += max(length, 16) + ((4 - length % 4) % 4)

    def close(self) -> None:
        self.sock.close()


def _link_up(c: _Conn, index: int, name: str) -> None:
    body = struct.pack("BxHiII", socket.AF_UNSPEC, 0, index, IFF_UP, IFF_UP)
    c.request(RTM_NEWLINK, body, f"link set {name} up", flags=0)


def _addr(c: _Conn, index: int, ip: str) -> None:
    addr = ipaddress.ip_address(ip)
    fam = socket.AF_INET if addr.version == 4 else socket.AF_INET6
    flags = IFA_F_NODAD if addr.version == 6 else 0
    body = struct.pack("BBBBI", fam, addr.max_prefixlen, flags, RT_SCOPE_UNIVERSE, index)
    body += _attr(IFA_LOCAL, addr.packed) if addr.version == 4 else b""
    body += _attr(IFA_ADDRESS, addr.packed)
    c.request(RTM_NEWADDR, body, f"addr add {ip}")


def _route(c: _Conn, index: int, dst: str | None, gateway: str | None, what: str) -> None:
    ref = ipaddress.ip_address(dst or gateway or "0.0.0.0")
    fam = socket.AF_INET if ref.version == 4 else socket.AF_INET6
    dst_len = ref.max_prefixlen if dst else 0
    scope = RT_SCOPE_LINK if gateway is None else RT_SCOPE_UNIVERSE
    body = struct.pack("BBBBBBBBI", fam, dst_len, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, scope, RTN_UNICAST, 0)
    if dst:
        body += _attr(RTA_DST, ipaddress.ip_address(dst).packed)
    if gateway:
        body += _attr(RTA_GATEWAY, ipaddress.ip_address(gateway).packed)
    body += _attr(RTA_OIF, struct.pack("I", index))
    c.request(RTM_NEWROUTE, body, what)


ICMP_RATELIMIT = ("/proc/sys/net/ipv4/icmp_ratelimit", "/proc/sys/net/ipv6/icmp/ratelimit")


def _no_icmp_ratelimit() -> None:
    """In this thread's (pod) namespace: send every ICMP error. A UDP probe to a port nothing
    listens on, and every SCTP probe, is answered by an ICMP error, which the kernel otherwise
    limits per peer (a burst of 6, then 1 a second): later probes would look dropped."""
    for path in ICMP_RATELIMIT:
        try:
            with open(path, "w") as fh:
                fh.write("0")
        except OSError:  # no IPv6, or a kernel without the knob: probes may then be retried
            continue


def configure_pod(netns: str, ips: tuple[str, ...]) -> None:
    """The pod side of the routed /32 topology, inside ``netns`` (whose ``eth0`` exists)."""
    with in_netns(netns):
        c = _Conn()
        eth0 = socket.if_nametoindex("eth0")
        lo = socket.if_nametoindex("lo")
        _no_icmp_ratelimit()
    try:
        _link_up(c, lo, "lo")
        _link_up(c, eth0, "eth0")
        for ip in ips:
            _addr(c, eth0, ip)
        if any(":" not in ip for ip in ips):
            _route(c, eth0, GATEWAY4, None, f"route add {GATEWAY4} dev eth0 scope link")
            _route(c, eth0, None, GATEWAY4, f"route add default via {GATEWAY4}")
        if any(":" in ip for ip in ips):
            _route(c, eth0, None, GATEWAY6, f"route add ::/0 via {GATEWAY6}")
    finally:
        c.close()
