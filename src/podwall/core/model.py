"""The normalised, immutable model that podwall's semantics work on.

Everything here is already *defaulted* the way the API server defaults it (protocol TCP,
``policyTypes`` inferred, namespace filled in), so evaluation never has to think about missing
fields. ``sources.decode`` builds these objects from manifests; nothing in ``core`` reads files.

A ``None`` selector and an empty selector mean different things in a NetworkPolicy peer, so the
model keeps ``None`` (absent) apart from ``LabelSelector()`` (present and empty: matches all).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from podwall.errors import SourceSpan

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

EMPTY_LABELS: Mapping[str, str] = MappingProxyType({})


def _no_labels() -> Mapping[str, str]:
    return EMPTY_LABELS


class Protocol(enum.StrEnum):
    """Transport protocols a NetworkPolicy port may name."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"

    def __str__(self) -> str:
        return self.value


class Direction(enum.StrEnum):
    """A policy type: which side of a connection a policy governs."""

    INGRESS = "Ingress"
    EGRESS = "Egress"

    def __str__(self) -> str:
        return self.value


class Operator(enum.StrEnum):
    """Label selector operators allowed in a NetworkPolicy (``metav1.LabelSelectorOperator``)."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class HostNetworkMode(enum.StrEnum):
    """How pods with ``hostNetwork: true`` are treated (implementation-defined upstream).

    ``node``: the common reading. Selectors never match them (neither as the pods a policy
    applies to nor as peers); their traffic is node traffic, which only ``ipBlock`` rules (on the
    node address) and "all" rules match.
    ``pod``: they are treated like any other pod.
    """

    NODE = "node"
    POD = "pod"


def _no_domains() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({})


class TierTieBreak(enum.StrEnum):
    """How same-tier, same-priority cluster-wide policies are ordered (upstream: undefined).

    ``name``: by policy name, ascending, as kube-network-policies sorts them.
    """

    NAME = "name"


@dataclass(frozen=True, kw_only=True)
class Options:
    """Semantics that Kubernetes leaves to the implementation, made explicit."""

    ipblock_matches_pods: bool = True
    """Whether an ``ipBlock`` matches traffic of pods whose IP falls in it. The upstream e2e
    suite requires it (egress-to-cidr-block); Cilium historically does not."""
    host_network: HostNetworkMode = HostNetworkMode.NODE
    """See :class:`HostNetworkMode`."""
    domain_addresses: Mapping[str, tuple[str, ...]] = field(default_factory=_no_domains, hash=False)
    """For ``domainNames`` peers of cluster-wide policies: which addresses each DNS name resolves to.
    podwall never resolves names itself; a name missing from this map matches nothing, and the
    explanation says the rule cannot be decided offline. Keys are lower-case names as written in
    the policy (``*.example.com`` wildcards included); values are IP address strings."""
    tier_tie_break: TierTieBreak = TierTieBreak.NAME
    """How two policies of one tier with the same priority are ordered (undefined upstream)."""


@dataclass(frozen=True, kw_only=True)
class Requirement:
    """One ``matchExpressions`` entry (``matchLabels`` entries become ``In`` with one value)."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.operator is Operator.EXISTS:
            return self.key
        if self.operator is Operator.DOES_NOT_EXIST:
            return f"!{self.key}"
        if self.operator is Operator.IN and len(self.values) == 1:
            return f"{self.key}={self.values[0]}"
        word = "in" if self.operator is Operator.IN else "notin"
        return f"{self.key} {word} ({','.join(self.values)})"


@dataclass(frozen=True, kw_only=True)
class LabelSelector:
    """A present label selector. ``LabelSelector()`` (empty) matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    """Sorted ``(key, value)`` pairs."""
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def requirements(self) -> tuple[Requirement, ...]:
        """All requirements, ``matchLabels`` first, as apimachinery converts them."""
        return tuple(
            Requirement(key=k, operator=Operator.IN, values=(v,)) for k, v in self.match_labels
        ) + self.match_expressions

    def __str__(self) -> str:
        if self.is_empty:
            return "{}"
        return ",".join(str(r) for r in self.requirements())


@dataclass(frozen=True, kw_only=True)
class IPBlock:
    """``cidr`` minus every ``except`` entry, parsed the way the API server parses them."""

    cidr: str
    network: IPNetwork
    excepts: tuple[str, ...] = ()
    except_networks: tuple[IPNetwork, ...] = ()

    def contains(self, address: IPAddress) -> bool:
        if address.version != self.network.version or address not in self.network:
            return False
        return not any(address in e for e in self.except_networks)

    def __str__(self) -> str:
        if not self.excepts:
            return self.cidr
        return f"{self.cidr} except {', '.join(self.excepts)}"


@dataclass(frozen=True, kw_only=True)
class PortSpec:
    """One ``ports`` entry: a protocol and a number, a name, a range, or every port."""

    protocol: Protocol = Protocol.TCP
    port: int | str | None = None
    """A number, a container port name, or ``None`` for every port of the protocol."""
    end_port: int | None = None

    def __str__(self) -> str:
        if self.port is None:
            return f"{self.protocol}/any"
        if self.end_port is not None:
            return f"{self.protocol}/{self.port}-{self.end_port}"
        return f"{self.protocol}/{self.port}"


@dataclass(frozen=True, kw_only=True)
class Peer:
    """One ``from``/``to`` entry. Exactly one of the two shapes is used:

    selectors (``pod_selector`` and/or ``namespace_selector``; ``None`` = absent), or ``ip_block``.
    """

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None

    def __str__(self) -> str:
        if self.ip_block is not None:
            return f"ipBlock {self.ip_block}"
        parts = []
        if self.namespace_selector is not None:
            parts.append(f"namespaceSelector {self.namespace_selector}")
        if self.pod_selector is not None:
            parts.append(f"podSelector {self.pod_selector}")
        return " AND ".join(parts)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One ingress or egress rule. Empty ``peers`` = every peer; empty ``ports`` = every port."""

    peers: tuple[Peer, ...] = ()
    ports: tuple[PortSpec, ...] = ()
    span: SourceSpan | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class Policy:
    """A defaulted NetworkPolicy."""

    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: frozenset[Direction]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    policy_types_explicit: bool = True
    """False when ``policyTypes`` was absent or empty and podwall defaulted it."""
    namespace_explicit: bool = True
    """False when ``metadata.namespace`` was absent and podwall filled it in."""
    annotations: Mapping[str, str] = field(default_factory=_no_labels, compare=False, hash=False)
    span: SourceSpan | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, kw_only=True)
class ContainerPort:
    """A declared container port of a pod."""

    port: int
    protocol: Protocol = Protocol.TCP
    name: str | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Namespace:
    """A namespace with its labels (always including ``kubernetes.io/metadata.name``)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=_no_labels)
    declared: bool = True
    """False when the namespace was only referenced, not declared in the input."""
    annotations: Mapping[str, str] = field(default_factory=_no_labels)
    span: SourceSpan | None = None


WORKLOAD_KINDS = (
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
)


@dataclass(frozen=True, kw_only=True, eq=False)
class Endpoint:
    """Something that sends and receives traffic: a pod, or a workload's pods (its template)."""

    kind: str
    """``Pod`` or one of :data:`WORKLOAD_KINDS`."""
    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=_no_labels)
    ports: tuple[ContainerPort, ...] = ()
    ips: tuple[str, ...] = ()
    host_network: bool = False
    replicas: int | None = None
    owner: str | None = None
    """For a pod whose owning workload is not in the input: that workload, as ``ns/kind/name``
    (a ReplicaSet of a Deployment is traced to the Deployment by its ``pod-template-hash``)."""
    annotations: Mapping[str, str] = field(default_factory=_no_labels)
    span: SourceSpan | None = None

    @property
    def is_pod(self) -> bool:
        return self.kind == "Pod"

    @property
    def key(self) -> str:
        """``ns/name`` for a pod, ``ns/kind/name`` (kind in lower case) for a workload."""
        if self.is_pod:
            return f"{self.namespace}/{self.name}"
        return f"{self.namespace}/{self.kind.lower()}/{self.name}"

    @property
    def addresses(self) -> tuple[IPAddress, ...]:
        return tuple(ipaddress.ip_address(ip) for ip in self.ips)

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, kw_only=True)
class Address:
    """An endpoint outside the cluster, known only by its IP address."""

    ip: IPAddress

    @property
    def key(self) -> str:
        return str(self.ip)

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, kw_only=True)
class ServicePort:
    name: str | None
    port: int
    protocol: Protocol = Protocol.TCP
    target_port: int | str | None = None
    """A number or a container port name; ``None`` means the same as ``port``."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Service:
    namespace: str
    name: str
    selector: Mapping[str, str] | None = None
    """``None``: a Service without selector (its endpoints are managed by hand)."""
    ports: tuple[ServicePort, ...] = ()
    span: SourceSpan | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/service/{self.name}"


class Tier(enum.StrEnum):
    """A tier of cluster-wide policies (``policy.networking.k8s.io``).

    Admin is evaluated before NetworkPolicy, Baseline after it.
    """

    ADMIN = "Admin"
    BASELINE = "Baseline"

    @property
    def order(self) -> int:
        return 0 if self is Tier.ADMIN else 1

    def __str__(self) -> str:
        return self.value


class TierAction(enum.StrEnum):
    """What a matching cluster-wide rule does. v1alpha1 ``Allow`` is read as ``Accept``."""

    ACCEPT = "Accept"
    DENY = "Deny"
    PASS = "Pass"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, kw_only=True)
class TierSubject:
    """The pods a cluster-wide policy applies to."""

    namespace_selector: LabelSelector
    """Empty selector = every namespace."""
    pod_selector: LabelSelector | None
    """``None``: a ``namespaces`` subject (every pod of the matching namespaces)."""

    def __str__(self) -> str:
        if self.pod_selector is None:
            return f"namespaces {self.namespace_selector}"
        return f"pods namespaceSelector {self.namespace_selector} AND podSelector {self.pod_selector}"


TIER_PEER_KINDS = ("namespaces", "pods", "networks", "nodes", "domainNames")


@dataclass(frozen=True, kw_only=True)
class TierPeer:
    """One ``from``/``to`` entry of a cluster-wide rule; exactly one kind is set."""

    kind: str
    """One of :data:`TIER_PEER_KINDS`."""
    namespace_selector: LabelSelector | None = None
    """For ``namespaces`` and ``pods``."""
    pod_selector: LabelSelector | None = None
    """For ``pods``."""
    networks: tuple[IPBlock, ...] = ()
    """For ``networks``: CIDRs without ``except``. They match pod IPs too."""
    node_selector: LabelSelector | None = None
    """For ``nodes``: matches the addresses of the selected Node objects."""
    domain_names: tuple[str, ...] = ()
    """For ``domainNames``: matched only through :attr:`Options.domain_addresses`."""

    def __str__(self) -> str:
        if self.kind == "namespaces":
            return f"namespaces {self.namespace_selector}"
        if self.kind == "pods":
            return f"pods namespaceSelector {self.namespace_selector} AND podSelector {self.pod_selector}"
        if self.kind == "networks":
            return "networks " + ", ".join(n.cidr for n in self.networks)
        if self.kind == "nodes":
            return f"nodes {self.node_selector}"
        return "domainNames " + ", ".join(self.domain_names)


@dataclass(frozen=True, kw_only=True)
class TierPort:
    """One destination port of a cluster-wide rule: a number, an inclusive range, or a name."""

    protocol: Protocol | None
    """``None`` only for a named port: v1alpha2 ``destinationNamedPort`` has no protocol; it
    matches the destination pod's container port of that name, with that port's protocol."""
    port: int | None = None
    """A single port (when ``end_port`` is ``None``) or the start of a range."""
    end_port: int | None = None
    """The inclusive end of a range."""
    named: str | None = None
    """``destinationNamedPort`` (v1alpha2) or ``namedPort`` (v1alpha1)."""

    def __str__(self) -> str:
        if self.named is not None:
            return f"{self.protocol}/{self.named}" if self.protocol is not None else f"named {self.named}"
        if self.end_port is not None:
            return f"{self.protocol}/{self.port}-{self.end_port}"
        return f"{self.protocol}/{self.port}"


@dataclass(frozen=True, kw_only=True)
class TierRule:
    """One ingress or egress rule of a cluster-wide policy."""

    index: int
    """0-based position in ``spec.ingress`` / ``spec.egress``."""
    name: str
    """The rule's name (``""`` when absent)."""
    action: TierAction
    peers: tuple[TierPeer, ...]
    ports: tuple[TierPort, ...] | None
    """``None``: every port of every protocol."""
    span: SourceSpan | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """``rule #2 (allow-monitoring)``: how explanations name the rule (1-based number)."""
        return f"rule #{self.index + 1}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True, kw_only=True)
class TierPolicy:
    """A ClusterNetworkPolicy (v1alpha2), AdminNetworkPolicy or BaselineAdminNetworkPolicy (v1alpha1)."""

    api_kind: str
    """``ClusterNetworkPolicy`` | ``AdminNetworkPolicy`` | ``BaselineAdminNetworkPolicy``."""
    api_version: str
    name: str
    tier: Tier
    priority: int
    """BaselineAdminNetworkPolicy: 0 (it is a singleton)."""
    subject: TierSubject
    ingress: tuple[TierRule, ...]
    egress: tuple[TierRule, ...]
    span: SourceSpan | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """``ClusterNetworkPolicy/name``: how explanations, lint and nft comments name it."""
        return f"{self.api_kind}/{self.name}"

    def rules(self, direction: Direction) -> tuple[TierRule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress

    def sort_key(self) -> tuple[int, int, str, str]:
        """Evaluation order: tier (Admin first), priority ascending, then name (the tie-break)."""
        return (self.tier.order, self.priority, self.name, self.api_kind)

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, kw_only=True, eq=False)
class Node:
    """A cluster node: its labels (for ``nodes`` peers) and addresses (what they match)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=_no_labels)
    addresses: tuple[str, ...] = ()
    """``status.addresses`` of type InternalIP or ExternalIP."""
    span: SourceSpan | None = None

    @property
    def ip_addresses(self) -> tuple[IPAddress, ...]:
        return tuple(ipaddress.ip_address(a) for a in self.addresses)


@dataclass(frozen=True, kw_only=True, eq=False)
class Cluster:
    """Everything podwall knows: namespaces, endpoints, policies and services."""

    namespaces: Mapping[str, Namespace]
    endpoints: tuple[Endpoint, ...] = ()
    policies: tuple[Policy, ...] = ()
    services: tuple[Service, ...] = ()
    tier_policies: tuple[TierPolicy, ...] = ()
    """Cluster-wide policies, sorted by :meth:`TierPolicy.sort_key` (tier, priority, name)."""
    nodes: tuple[Node, ...] = ()

    def namespace_labels(self, name: str) -> Mapping[str, str]:
        ns = self.namespaces.get(name)
        if ns is None:
            return MappingProxyType({"kubernetes.io/metadata.name": name})
        return ns.labels


Target = Endpoint | Address
"""Either end of a connection."""
