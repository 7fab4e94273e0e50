"""The lab's plan: which namespaces, links and addresses a cluster needs. Pure data, no I/O.

Topology (research/lab.md section 1, "routed /32 per pod"): one *node* namespace that
IP-forwards between pods and carries the ruleset, and one namespace per pod endpoint, joined to
the node by a veth pair created inside the node namespace (its peer goes straight into the
pod as ``eth0``; the root namespace never sees it). Pods route everything via 169.254.1.1 (an
address on the node's ``lo``) and ``fe80::1``; the node has no uplink and no default route, so
nothing can leave the lab.

Names: every namespace is ``podwall-<lab>-...`` so two labs coexist and cleanup can find
everything by prefix. Links only exist inside those namespaces; a veth name has at most 15
bytes, so the node side is ``pw`` plus a hash of the pod key, and carries the full
``podwall-<lab>-<pod>`` name as its alias.

Each endpoint is one namespace: a Pod, or one representative pod of a workload (replicas are
not multiplied). Pods keep ``status.podIP(s)``; endpoints without an IP get a stable one from
10.250.0.0/16 (hashed from the key, kept across updates). hostNetwork pods in ``node`` mode
are node traffic and get no namespace of their own: a *host* namespace per Node (its addresses)
serves them, with no policy dispatch, as node traffic is not filtered at the node itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from podwall.core.model import Cluster, Endpoint, Options, Protocol
from podwall.core.peers import is_node_traffic
from podwall.errors import InputError, LabError

PREFIX = "podwall-"
GATEWAY4 = "169.254.1.1"
GATEWAY6 = "fe80::1"
ALLOC_NET = ipaddress.ip_network("10.250.0.0/16")
LAB_NAME = re.compile(r"^[a-z0-9]{1,16}$")


def check_lab_name(name: str) -> str:
    """Lab names are short and have no dash, so ``podwall-<lab>-`` never prefixes another lab.

    Raises:
        InputError: (exit 2) the name is not 1-16 lower-case letters or digits.
    """
    if not LAB_NAME.match(name):
        raise InputError(f"invalid lab name {name!r}: use 1-16 lower-case letters or digits")
    return name


def lab_prefix(lab: str) -> str:
    return f"{PREFIX}{check_lab_name(lab)}-"


def node_netns(lab: str) -> str:
    return lab_prefix(lab) + "node"


def ifname_for(key: str) -> str:
    return "pw" + hashlib.sha256(key.encode()).hexdigest()[:13]


def netns_for(lab: str, ep: Endpoint) -> str:
    tail = f"{ep.namespace}.{ep.name}" if ep.is_pod else f"{ep.namespace}.{ep.kind.lower()}:{ep.name}"
    return lab_prefix(lab) + "pod-" + tail


@dataclass(frozen=True)
class PodPlan:
    key: str
    netns: str
    ifname: str
    ips: tuple[str, ...]
    ports: tuple[tuple[int, str], ...]
    """Declared container ports (number, protocol) that get a listener."""


@dataclass(frozen=True)
class LabPlan:
    lab: str
    node: str
    pods: tuple[PodPlan, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    """(endpoint key, why it has no namespace)."""
    hosts: tuple[PodPlan, ...] = ()
    """Namespaces that stand for cluster nodes (keys ``host:<node>``): they carry the Node
    objects' addresses, and the hostNetwork pods of node mode live there. No policy dispatch:
    node traffic is not filtered by the ingress or egress of the node itself."""
    host_of: tuple[tuple[str, str], ...] = ()
    """(hostNetwork endpoint key, host key) for the endpoints a host serves."""

    @property
    def prefix(self) -> str:
        return lab_prefix(self.lab)

    def namespaces(self) -> tuple[PodPlan, ...]:
        """Every namespace besides the node: pods, then hosts."""
        return self.pods + self.hosts

    def place(self, key: str) -> PodPlan | None:
        """Where an endpoint lives: its own namespace, or the host of a hostNetwork pod."""
        found = self.pod(key)
        if found is not None:
            return found
        host = dict(self.host_of).get(key)
        return next((h for h in self.hosts if h.key == host), None)

    def host_with_ip(self, ip: str) -> PodPlan | None:
        want = ipaddress.ip_address(ip)
        return next((h for h in self.hosts if any(ipaddress.ip_address(a) == want for a in h.ips)), None)

    def attachments(self) -> dict[str, str]:
        return {p.key: p.ifname for p in self.pods}

    def pod(self, key: str) -> PodPlan | None:
        for p in self.pods:
            if p.key == key:
                return p
        return None


def _alloc(key: str, used: set[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> str:
    size = ALLOC_NET.num_addresses - 2
    h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % size
    for i in range(size):
        addr = ALLOC_NET.network_address + 1 + (h + i) % size
        if addr not in used:
            used.add(addr)
            return str(addr)
    raise LabError("no free lab address left in 10.250.0.0/16")


def plan(
    cluster: Cluster,
    lab: str,
    options: Options | None = None,
    previous: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[LabPlan, Cluster]:
    """Plan the lab for ``cluster``; returns the plan and the cluster with every lab IP filled in.

    The returned cluster is what both the engine and the compiler must see, so that the
    kernel and the engine reason about the same addresses.

    Args:
        previous: IPs allocated by an earlier plan (kept, so updates do not renumber pods).
    """
    options = options or Options()
    previous = previous or {}
    lab_prefix(lab)
    used: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for ep in cluster.endpoints:
        for ip in ep.ips:
            used.add(ipaddress.ip_address(ip))
    for ips in previous.values():
        for ip in ips:
            used.add(ipaddress.ip_address(ip))
    endpoints: list[Endpoint] = []
    pods: list[PodPlan] = []
    skipped: list[tuple[str, str]] = []
    seen_ips: dict[str, str] = {}
    seen_if: dict[str, str] = {}
    gw = {ipaddress.ip_address(GATEWAY4), ipaddress.ip_address(GATEWAY6)}
    for ep in sorted(cluster.endpoints, key=lambda e: e.key):
        if is_node_traffic(ep, options):
            endpoints.append(ep)
            continue
        ips = tuple(str(ipaddress.ip_address(i)) for i in ep.ips)
        if not ips:
            ips = previous.get(ep.key) or (_alloc(ep.key, used),)
        clash = [i for i in ips if i in seen_ips or ipaddress.ip_address(i) in gw]
        if clash:
            other = seen_ips.get(clash[0], "the lab gateway")
            endpoints.append(ep)
            skipped.append((ep.key, f"IP {clash[0]} is already used by {other}"))
            continue
        ifname = ifname_for(ep.key)
        if ifname in seen_if:  # pragma: no cover - 52-bit hash collision
            raise LabError(f"interface name collision between {seen_if[ifname]} and {ep.key}")
        seen_if[ifname] = ep.key
        for i in ips:
            seen_ips[i] = ep.key
        ports = tuple(sorted({(cp.port, cp.protocol.value) for cp in ep.ports}))
        pods.append(PodPlan(key=ep.key, netns=netns_for(lab, ep), ifname=ifname, ips=ips, ports=ports))
        endpoints.append(dataclasses.replace(ep, ips=ips) if ips != ep.ips else ep)
    lab_cluster = dataclasses.replace(cluster, endpoints=tuple(endpoints))
    hosts, host_of = _hosts(lab_cluster, lab, options, seen_ips, seen_if, skipped)
    lab_plan = LabPlan(
        lab=lab, node=node_netns(lab), pods=tuple(pods), skipped=tuple(skipped), hosts=hosts, host_of=host_of
    )
    return lab_plan, lab_cluster


def is_host_key(key: str) -> bool:
    """Whether a planned namespace's key is a host's (``host:<node>``) rather than a pod's."""
    return key.startswith("host:")


def host_netns(lab: str, name: str) -> str:
    return lab_prefix(lab) + "host-" + name


def _hosts(
    cluster: Cluster,
    lab: str,
    options: Options,
    seen_ips: dict[str, str],
    seen_if: dict[str, str],
    skipped: list[tuple[str, str]],
) -> tuple[tuple[PodPlan, ...], tuple[tuple[str, str], ...]]:
    """One namespace per Node (its IP addresses), plus one per hostNetwork pod (node mode) whose
    address no Node has. A hostNetwork pod is served by the host that has all its addresses:
    probes to it go there, and that host listens on the pod's declared ports."""
    groups: list[tuple[str, str, tuple[str, ...]]] = []  # (key, netns tail, ips)
    for node in sorted(cluster.nodes, key=lambda n: n.name):
        ips = tuple(sorted({str(a) for a in node.ip_addresses}, key=ipaddress.ip_address))
        if ips:
            groups.append((f"host:{node.name}", node.name, ips))
    covered = {ip for _, _, ips in groups for ip in ips}
    host_eps = [ep for ep in cluster.endpoints if is_node_traffic(ep, options) and ep.ips]
    for ep in sorted(host_eps, key=lambda e: e.key):
        ips = tuple(str(ipaddress.ip_address(i)) for i in ep.ips)
        if not set(ips) <= covered:
            groups.append((f"host:{ep.key}", ep.key.replace("/", "."), ips))
            covered |= set(ips)
    hosts: list[PodPlan] = []
    host_of: list[tuple[str, str]] = []
    for key, tail, ips in groups:
        clash = [i for i in ips if i in seen_ips]
        if clash:
            skipped.append((key, f"IP {clash[0]} is already used by {seen_ips[clash[0]]}"))
            continue
        served = [ep for ep in host_eps if set(ep.ips) <= set(ips) and ep.key not in dict(host_of)]
        ports = tuple(sorted({(cp.port, cp.protocol.value) for ep in served for cp in ep.ports}))
        ifname = ifname_for(key)
        if ifname in seen_if:  # pragma: no cover - 52-bit hash collision
            raise LabError(f"interface name collision between {seen_if[ifname]} and {key}")
        seen_if[ifname] = key
        for i in ips:
            seen_ips[i] = key
        hosts.append(PodPlan(key=key, netns=host_netns(lab, tail), ifname=ifname, ips=ips, ports=ports))
        host_of += [(ep.key, key) for ep in served]
    served_keys = dict(host_of)
    for ep in sorted(cluster.endpoints, key=lambda e: e.key):
        if is_node_traffic(ep, options) and ep.key not in served_keys:
            skipped.append((ep.key, "hostNetwork pod: node traffic, and no host namespace has its address"))
    return tuple(hosts), tuple(host_of)


def listen_protocols() -> tuple[Protocol, ...]:
    """Protocols the lab's listeners serve (the kernel of this machine kind has no SCTP)."""
    return (Protocol.TCP, Protocol.UDP)
