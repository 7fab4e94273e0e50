"""The lab's listener: one long-lived process serving every declared port of every pod.

Run as ``python -m podwall.lab.server SPEC.json``. The spec lists ``[netns, [[port, proto],
...]]``. For each pod the process enters the pod's namespace (setns, this thread only),
opens one dual-stack socket per port and protocol, and comes back; sockets stay in the
namespace they were created in. The main thread then *lives in the node namespace*, so that
``ip netns pids NODE`` finds it and crash cleanup kills it before deleting namespaces.

TCP: accept and close (the handshake is the proof). UDP: echo each datagram. No name lookups,
ever (lab.md 1c: a DNS lookup here would hang until timeout). Prints ``ready`` when listening.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import signal
import socket
import sys

from podwall.nft.apply import in_netns, netns_path, setns


def _open(port: int, proto: str) -> socket.socket:
    kind = socket.SOCK_STREAM if proto == "TCP" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    if kind == socket.SOCK_STREAM:
        s.listen(4096)
    s.setblocking(False)
    return s


def _stop(*_: object) -> None:
    raise SystemExit(0)


def serve(spec: list[tuple[str, list[tuple[int, str]]]], node: str) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sel = selectors.DefaultSelector()
    for netns, ports in spec:
        with in_netns(netns):
            for port, proto in ports:
                if proto not in ("TCP", "UDP"):
                    continue
                s = _open(port, proto)
                sel.register(s, selectors.EVENT_READ, proto)
    fd = os.open(netns_path(node), os.O_RDONLY)
    setns(fd)
    os.close(fd)
    signal.signal(signal.SIGTERM, _stop)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            assert isinstance(s, socket.socket)
            try:
                if key.data == "TCP":
                    conn, _addr = s.accept()
                    conn.close()
                else:
                    data, addr = s.recvfrom(2048)
                    s.sendto(data, addr)
            except OSError:
                continue


def main() -> None:
    with open(sys.argv[1]) as fh:
        doc = json.load(fh)
    serve([(n, [(int(p), str(q)) for p, q in ports]) for n, ports in doc["pods"]], doc["node"])


if __name__ == "__main__":
    main()
