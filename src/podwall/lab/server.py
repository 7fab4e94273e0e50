"""The lab's listener: one long-lived process serving every declared port of every pod.

Run as ``python -m podwall.lab.server SPEC.json``. The spec names the node and lists
``[netns, [[port, proto], ...]]`` per pod, plus a ``generation``. For each pod the process
enters the pod's namespace (setns, this thread only), opens one dual-stack socket per port and
protocol, and comes back; sockets stay in the namespace they were created in. The main thread
*lives in the node namespace*, so ``ip netns pids NODE`` finds the process and crash cleanup
kills it before deleting namespaces.

SIGHUP re-reads the spec: sockets of pods that left are closed (so their namespaces can go
away), sockets of new pods are opened, and the others are never interrupted. After every
(re)load the process writes the spec's generation to ``SPEC.ack``; that is how the lab knows
the listeners are ready.

TCP: accept and close (the handshake is the proof). UDP: echo each datagram. No name lookups,
ever (lab.md 1c: a DNS lookup here would hang until timeout).
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

Key = tuple[str, int, str]


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


class Listener:
    def __init__(self, spec_path: str) -> None:
        self.spec_path = spec_path
        self.sel = selectors.DefaultSelector()
        self.sockets: dict[Key, socket.socket] = {}

    def load(self) -> None:
        with open(self.spec_path) as fh:
            doc = json.load(fh)
        want: set[Key] = {
            (str(n), int(p), str(q)) for n, ports in doc["pods"] for p, q in ports if str(q) in ("TCP", "UDP")
        }
        for key in [k for k in self.sockets if k not in want]:
            s = self.sockets.pop(key)
            self.sel.unregister(s)
            s.close()
        by_ns: dict[str, list[Key]] = {}
        for key in sorted(want - self.sockets.keys()):
            by_ns.setdefault(key[0], []).append(key)
        for netns, keys in by_ns.items():
            with in_netns(netns):
                for key in keys:
                    s = _open(key[1], key[2])
                    self.sockets[key] = s
                    self.sel.register(s, selectors.EVENT_READ, key[2])
        ack = self.spec_path + ".ack"
        with open(ack + ".tmp", "w") as fh:
            fh.write(str(doc.get("generation", 0)))
        os.replace(ack + ".tmp", ack)

    def run(self, node: str) -> None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        fd = os.open(netns_path(node), os.O_RDONLY)
        setns(fd)
        os.close(fd)
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno())
        signal.signal(signal.SIGHUP, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: None)
        self.sel.register(wake_r, selectors.EVENT_READ, "wake")
        self.load()
        while True:
            for key, _ in self.sel.select():
                if key.data == "wake":
                    sigs = wake_r.recv(64)
                    if signal.SIGTERM in sigs:
                        return  # only the CLI exits; returning from main ends this process with status 0
                    if signal.SIGHUP in sigs:
                        self.load()
                    continue
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
    spec_path = os.path.abspath(sys.argv[1])
    with open(spec_path) as fh:
        node = json.load(fh)["node"]
    Listener(spec_path).run(node)


if __name__ == "__main__":
    main()
