"""Cluster-wide policy tiers and Nodes: reading and validation as the CRDs and the API server do.

Kinds read here (group ``policy.networking.k8s.io``):

* ``ClusterNetworkPolicy`` ``v1alpha2`` (network-policy-api v0.2.0,
  ``apis/v1alpha2/clusternetworkpolicy_types.go``), standard and experimental fields;
* ``AdminNetworkPolicy`` and ``BaselineAdminNetworkPolicy`` ``v1alpha1`` (v0.1.7, the last release
  that shipped their CRDs): actions ``Allow`` (read as Accept), ``Deny``, ``Pass`` (ANP only),
  ``ports`` of ``portNumber``/``portRange``/``namedPort``;
* ``v1`` ``Node``: labels (for ``nodes`` peers) and ``status.addresses`` InternalIP/ExternalIP.

A CRD is validated by its OpenAPI schema and its CEL rules, and the API server words the errors in
its own way; the messages here follow it (``field.Error`` rendering):

==========================  =============================================================================
schema keyword              message
==========================  =============================================================================
required                    ``Required value``
enum                        ``Unsupported value: "X": supported values: "A", "B"``
minimum / maximum           ``Invalid value: 1001: spec.priority in body should be less than or equal to 1000``
maxItems / maxProperties    ``Too many: 26: must have at most 25 items``
minItems                    ``Invalid value: 0: spec.egress[0].to in body should have at least 1 items``
minProperties               ``Invalid value: 0: spec.subject in body should have at least 1 properties``
maxLength                   ``Too long: may not be more than 100 bytes``
pattern                     ``Invalid value: "x": <path> in body should match '<pattern>'``
listType=set                ``Duplicate value: "10.0.0.0/8"``
CEL (x-kubernetes-val.)     ``Invalid value: "object": <message>`` (``"string"`` for a string field)
==========================  =============================================================================

Unknown fields are refused, as kubectl's strict field validation does. An object the API server
would reject is reported and left out: it would not exist. What the schema accepts but an
implementation cannot use (a label selector that ``metav1.LabelSelectorAsSelector`` rejects, a
v1alpha1 protocol outside TCP/UDP/SCTP, a CIDR with host bits set) is a warning; such a selector
matches nothing, such a port matches nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from podwall.core.model import (
    IPBlock,
    LabelSelector,
    Node,
    Operator,
    Protocol,
    Requirement,
    Tier,
    TierAction,
    TierPeer,
    TierPolicy,
    TierPort,
    TierRule,
    TierSubject,
)
from podwall.errors import FieldPath, Severity, render_path
from podwall.sources import validation as v
from podwall.sources.fields import FieldReader

GROUP = "policy.networking.k8s.io"
CNP_VERSION = "v1alpha2"
ANP_VERSION = "v1alpha1"

TIER_KINDS: tuple[tuple[str, str], ...] = (
    ("ClusterNetworkPolicy", f"{GROUP}/{CNP_VERSION}"),
    ("AdminNetworkPolicy", f"{GROUP}/{ANP_VERSION}"),
    ("BaselineAdminNetworkPolicy", f"{GROUP}/{ANP_VERSION}"),
)
"""(kind, apiVersion) pairs read by this module."""

DOMAIN_NAME_PATTERN = (
    r"^(\*\.)?([a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$"
)
"""The CRD's ``DomainName`` pattern, verbatim (``A-z`` included: it also admits ``[\\]^_```)."""
_DOMAIN_RE = re.compile(DOMAIN_NAME_PATTERN)

CEL_PORT_RANGE = "Start port must be less than End port"
CEL_CIDR = "Invalid CIDR format provided"
CEL_NAMED_PORT_CNP = (
    "networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for "
    "networks/nodes/domainNames"
)
CEL_NAMED_PORT_BANP = (
    "networks/nodes peer cannot be set with namedPorts since there are no namedPorts for networks/nodes"
)
CEL_BANP_NAME = 'Only one baseline admin network policy with metadata.name="default" can be created in the cluster'

_SELECTOR_FIELDS = {"matchLabels", "matchExpressions"}
_REQUIREMENT_FIELDS = {"key", "operator", "values"}


def _p(path: FieldPath) -> str:
    return render_path(path)


def is_cidr(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """CEL ``isCIDR`` (``netip.ParsePrefix``): an address, ``/``, a decimal prefix length without
    leading zeros; no IPv4 octet with a leading zero, no IPv6 zone. Host bits may be set."""
    addr, sep, bits = value.partition("/")
    if not sep or not bits.isdigit() or (len(bits) > 1 and bits[0] == "0") or "%" in addr:
        return None
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return None
    if int(bits) > ip.max_prefixlen:
        return None
    return ipaddress.ip_network(f"{ip}/{int(bits)}", strict=False)


class _Spec:
    """What differs between the three kinds."""

    def __init__(self, kind: str, api_version: str) -> None:
        self.kind = kind
        self.api_version = api_version
        self.v2 = kind == "ClusterNetworkPolicy"
        self.baseline_v1 = kind == "BaselineAdminNetworkPolicy"
        self.max_items = 25 if self.v2 else 100
        if self.v2:
            self.actions = {"Accept": TierAction.ACCEPT, "Deny": TierAction.DENY, "Pass": TierAction.PASS}
        elif self.baseline_v1:
            self.actions = {"Allow": TierAction.ACCEPT, "Deny": TierAction.DENY}
        else:
            self.actions = {"Allow": TierAction.ACCEPT, "Deny": TierAction.DENY, "Pass": TierAction.PASS}
        self.egress_peers = ("namespaces", "pods", "nodes", "networks") + (
            () if self.baseline_v1 else ("domainNames",)
        )
        self.ports_key = "protocols" if self.v2 else "ports"
        self.named_cel = CEL_NAMED_PORT_BANP if self.baseline_v1 else CEL_NAMED_PORT_CNP
        spec = {"subject", "ingress", "egress"}
        if not self.baseline_v1:
            spec.add("priority")
        if self.v2:
            spec.add("tier")
        self.spec_fields = spec


class TierPolicyReader(FieldReader):
    """Reads cluster-wide policies into :class:`TierPolicy` values (``tier_policies``) and Nodes."""

    def __init__(self, default_namespace: str) -> None:
        super().__init__(default_namespace)
        self.tier_policies: list[TierPolicy] = []
        self.nodes: list[Node] = []

    # -- schema helpers --------------------------------------------------------------------
    def _items(self, value: Any, path: FieldPath, *, min_items: int = 0, max_items: int | None = None) -> list[Any]:
        items = self.seq(value, path)
        if value is not None and isinstance(value, list):
            if max_items is not None and len(items) > max_items:
                self.issue(path, f"Too many: {len(items)}: must have at most {max_items} items")
            if len(items) < min_items:
                self.issue(
                    path, f"Invalid value: {len(items)}: {_p(path)} in body should have at least {min_items} items"
                )
        return items

    def _one_of(self, m: Mapping[str, Any], path: FieldPath) -> list[str]:
        """Min/MaxProperties=1 (null values are dropped before validation, as for any CRD)."""
        present = [k for k, val in m.items() if val is not None]
        if len(present) > 1:
            self.issue(path, f"Too many: {len(present)}: must have at most 1 items")
        elif not present:
            self.issue(path, f"Invalid value: 0: {_p(path)} in body should have at least 1 properties")
        return present

    def _port_number(self, value: Any, path: FieldPath) -> int | None:
        n = self.integer(value, path)
        if n is None:
            return None
        if n < 1:
            self.issue(path, f"Invalid value: {n}: {_p(path)} in body should be greater than or equal to 1")
            return None
        if n > 65535:
            self.issue(path, f"Invalid value: {n}: {_p(path)} in body should be less than or equal to 65535")
            return None
        return n

    def _required_map(self, m: Mapping[str, Any], key: str, path: FieldPath) -> dict[str, Any] | None:
        if m.get(key) is None:
            self.issue((*path, key), v.required())
            return None
        return self.mapping(m.get(key), (*path, key))

    # -- selectors ---------------------------------------------------------------------------
    def tier_selector(self, value: Any, path: FieldPath) -> LabelSelector | None:
        """A ``metav1.LabelSelector`` as the CRD schema checks it (structure only).

        What the API server accepts but ``LabelSelectorAsSelector`` rejects (bad keys, values or
        operators) is a warning, and the selector then matches nothing.
        """
        m = self.mapping(value, path)
        if m is None:
            return None
        self.unknown_fields(m, _SELECTOR_FIELDS, path)
        ml = self.string_map(m.get("matchLabels"), (*path, "matchLabels"))
        unusable: list[str] = []
        for k in sorted(ml):
            unusable += [f"key {v.render_value(k)}: {msg}" for msg in v.is_qualified_name(k)]
            unusable += [f"value {v.render_value(ml[k])}: {msg}" for msg in v.is_valid_label_value(ml[k])]
        reqs: list[Requirement] = []
        for i, e in enumerate(self.seq(m.get("matchExpressions"), (*path, "matchExpressions"))):
            epath: FieldPath = (*path, "matchExpressions", i)
            em = self.mapping(e, epath)
            if em is None:
                continue
            self.unknown_fields(em, _REQUIREMENT_FIELDS, epath)
            if em.get("key") is None:
                self.issue((*epath, "key"), v.required())
            if em.get("operator") is None:
                self.issue((*epath, "operator"), v.required())
            key = self.string(em.get("key"), (*epath, "key")) or ""
            op_s = self.string(em.get("operator"), (*epath, "operator")) or ""
            raw = self.seq(em.get("values"), (*epath, "values"))
            vals = [s for j, x in enumerate(raw) if (s := self.list_string(x, (*epath, "values", j))) is not None]
            try:
                op: Operator | None = Operator(op_s)
            except ValueError:
                op = None
                if op_s:
                    unusable.append(f"{v.render_value(op_s)} is not a valid label selector operator")
            if op in (Operator.IN, Operator.NOT_IN) and not vals:
                unusable.append(f"values: for 'in', 'notin' operators, values set can't be empty ({key})")
            if op in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and vals:
                unusable.append(f"values: values set must be empty for exists and does not exist ({key})")
            unusable += [f"key {v.render_value(key)}: {msg}" for msg in v.is_qualified_name(key)] if key else []
            for val in vals:
                unusable += [f"value {v.render_value(val)}: {msg}" for msg in v.is_valid_label_value(val)]
            if op is not None:
                reqs.append(Requirement(key=key, operator=op, values=tuple(vals)))
        if unusable:
            self.issue(
                path,
                "the API server accepts this selector but implementations cannot parse it, so podwall "
                "reads it as matching nothing: " + "; ".join(unusable),
                code="tier-selector",
                severity=Severity.WARNING,
            )
            return NOTHING
        return LabelSelector(match_labels=tuple(sorted(ml.items())), match_expressions=tuple(reqs))

    def namespaced_pod(self, value: Any, path: FieldPath) -> tuple[LabelSelector, LabelSelector] | None:
        m = self.mapping(value, path)
        if m is None:
            return None
        self.unknown_fields(m, {"namespaceSelector", "podSelector"}, path)
        ns = self.tier_selector(m.get("namespaceSelector"), (*path, "namespaceSelector")) or LabelSelector()
        if m.get("podSelector") is None:
            self.issue((*path, "podSelector"), v.required())
            return None
        pod = self.tier_selector(m.get("podSelector"), (*path, "podSelector"))
        if pod is None:
            return None
        return ns, pod

    # -- subject, peers, ports -----------------------------------------------------------------
    def subject(self, spec: Mapping[str, Any]) -> TierSubject | None:
        path: FieldPath = ("spec", "subject")
        m = self._required_map(spec, "subject", ("spec",))
        if m is None:
            return None
        self.unknown_fields(m, {"namespaces", "pods"}, path)
        present = self._one_of(m, path)
        if len(present) != 1:
            return None
        if present[0] == "namespaces":
            sel = self.tier_selector(m["namespaces"], (*path, "namespaces"))
            return TierSubject(namespace_selector=sel, pod_selector=None) if sel is not None else None
        if present[0] == "pods":
            np_ = self.namespaced_pod(m["pods"], (*path, "pods"))
            return TierSubject(namespace_selector=np_[0], pod_selector=np_[1]) if np_ is not None else None
        return None

    def tier_peer(self, value: Any, path: FieldPath, allowed: tuple[str, ...], max_items: int) -> TierPeer | None:
        m = self.mapping(value, path)
        if m is None:
            if value is None:
                self.issue(path, f"Invalid value: 0: {_p(path)} in body should have at least 1 properties")
            return None
        self.unknown_fields(m, set(allowed), path)
        present = [k for k in self._one_of(m, path) if k in allowed]
        if len(present) != 1:
            return None
        kind = present[0]
        sub: FieldPath = (*path, kind)
        if kind == "namespaces":
            sel = self.tier_selector(m[kind], sub)
            return TierPeer(kind=kind, namespace_selector=sel) if sel is not None else None
        if kind == "pods":
            np_ = self.namespaced_pod(m[kind], sub)
            if np_ is None:
                return None
            return TierPeer(kind=kind, namespace_selector=np_[0], pod_selector=np_[1])
        if kind == "nodes":
            sel = self.tier_selector(m[kind], sub)
            return TierPeer(kind=kind, node_selector=sel) if sel is not None else None
        if kind == "networks":
            items = self._items(m[kind], sub, min_items=1, max_items=25)
            blocks: list[IPBlock] = []
            seen: set[str] = set()
            for i, item in enumerate(items):
                s = self.list_string(item, (*sub, i))
                if s is None:
                    continue
                if s in seen:
                    self.issue((*sub, i), f"Duplicate value: {v.render_value(s)}")
                    continue
                seen.add(s)
                if len(s.encode()) > 43:
                    self.issue((*sub, i), "Too long: may not be more than 43 bytes")
                    continue
                net = is_cidr(s)
                if net is None:
                    self.issue((*sub, i), f'Invalid value: "string": {CEL_CIDR}')
                    continue
                if str(net) != s:
                    self.issue(
                        (*sub, i),
                        f"{v.render_value(s)} is not in canonical form; implementations read it as {net}",
                        code="noncanonical-cidr",
                        severity=Severity.WARNING,
                    )
                blocks.append(IPBlock(cidr=s, network=net))
            return TierPeer(kind=kind, networks=tuple(blocks)) if items else None
        # domainNames
        items = self._items(m[kind], sub, min_items=1, max_items=25)
        names: list[str] = []
        for i, item in enumerate(items):
            s = self.list_string(item, (*sub, i))
            if s is None:
                continue
            if s in names:
                self.issue((*sub, i), f"Duplicate value: {v.render_value(s)}")
                continue
            if not _DOMAIN_RE.fullmatch(s):
                pattern = f"{_p((*sub, i))} in body should match '{DOMAIN_NAME_PATTERN}'"
                self.issue((*sub, i), f"Invalid value: {v.render_value(s)}: {pattern}")
                continue
            names.append(s)
        return TierPeer(kind=kind, domain_names=tuple(names)) if items else None

    def _destination_port(self, value: Any, path: FieldPath, proto: Protocol) -> TierPort | None:
        m = self.mapping(value, path)
        if m is None:
            return None
        self.unknown_fields(m, {"number", "range"}, path)
        present = self._one_of(m, path)
        if present == ["number"]:
            n = self._port_number(m["number"], (*path, "number"))
            return TierPort(protocol=proto, port=n) if n is not None else None
        if present == ["range"]:
            rpath: FieldPath = (*path, "range")
            rm = self.mapping(m["range"], rpath)
            if rm is None:
                return None
            self.unknown_fields(rm, {"start", "end"}, rpath)
            for k in ("end", "start"):
                if rm.get(k) is None:
                    self.issue((*rpath, k), v.required())
            start = self._port_number(rm.get("start"), (*rpath, "start"))
            end = self._port_number(rm.get("end"), (*rpath, "end"))
            if start is None or end is None:
                return None
            if not start < end:
                self.issue(rpath, f'Invalid value: "object": {CEL_PORT_RANGE}')
                return None
            return TierPort(protocol=proto, port=start, end_port=end)
        return None

    def protocol_v2(self, value: Any, path: FieldPath) -> TierPort | None:
        """One ``protocols`` entry of a ClusterNetworkPolicy rule."""
        m = self.mapping(value, path)
        if m is None:
            if value is None:
                self.issue(path, f"Invalid value: 0: {_p(path)} in body should have at least 1 properties")
            return None
        self.unknown_fields(m, {"tcp", "udp", "sctp", "destinationNamedPort"}, path)
        present = self._one_of(m, path)
        if len(present) != 1:
            return None
        key = present[0]
        if key == "destinationNamedPort":
            name = self.string(m[key], (*path, key))
            return TierPort(protocol=None, named=name) if name is not None else None
        proto = Protocol(key.upper())
        sub: FieldPath = (*path, key)
        pm = self.mapping(m[key], sub)
        if pm is None:
            return None
        self.unknown_fields(pm, {"destinationPort"}, sub)
        if not [k for k, val in pm.items() if val is not None]:
            self.issue(sub, f"Invalid value: 0: {_p(sub)} in body should have at least 1 properties")
            return None
        return self._destination_port(pm.get("destinationPort"), (*sub, "destinationPort"), proto)

    def _v1_protocol(self, value: Any, path: FieldPath, required: bool) -> Protocol | None:
        if value is None:
            if required:
                self.issue(path, v.required())
                return None
            return Protocol.TCP
        s = self.string(value, path)
        if s is None:
            return None
        try:
            return Protocol(s)
        except ValueError:
            self.issue(
                path,
                f"{v.render_value(s)} is accepted by the CRD (a free string) but is none of TCP, UDP, SCTP: "
                "this port matches nothing",
                code="tier-protocol",
                severity=Severity.WARNING,
            )
            return None

    def port_v1(self, value: Any, path: FieldPath) -> TierPort | None:
        """One ``ports`` entry of an AdminNetworkPolicy / BaselineAdminNetworkPolicy rule.

        ``None`` with no error reported means the port matches nothing (see ``_v1_protocol``);
        the caller keeps a placeholder so that the rule does not widen to every port.
        """
        m = self.mapping(value, path)
        if m is None:
            if value is None:
                self.issue(path, f"Invalid value: 0: {_p(path)} in body should have at least 1 properties")
            return None
        self.unknown_fields(m, {"portNumber", "portRange", "namedPort"}, path)
        present = self._one_of(m, path)
        if len(present) != 1:
            return None
        key = present[0]
        sub: FieldPath = (*path, key)
        if key == "namedPort":
            name = self.string(m[key], sub)
            return TierPort(protocol=None, named=name) if name is not None else None
        pm = self.mapping(m[key], sub)
        if pm is None:
            return None
        if key == "portNumber":
            self.unknown_fields(pm, {"protocol", "port"}, sub)
            if pm.get("port") is None:
                self.issue((*sub, "port"), v.required())
            proto = self._v1_protocol(pm.get("protocol"), (*sub, "protocol"), required=True)
            n = self._port_number(pm.get("port"), (*sub, "port"))
            if n is None:
                return None
            return TierPort(protocol=proto, port=n) if proto is not None else _NO_PORT
        self.unknown_fields(pm, {"protocol", "start", "end"}, sub)
        for k in ("end", "start"):
            if pm.get(k) is None:
                self.issue((*sub, k), v.required())
        proto = self._v1_protocol(pm.get("protocol"), (*sub, "protocol"), required=False)
        start = self._port_number(pm.get("start"), (*sub, "start"))
        end = self._port_number(pm.get("end"), (*sub, "end"))
        if start is None or end is None:
            return None
        if start > end:
            # v1alpha1 has no CEL for this (added in v1alpha2): accepted, and an empty range
            self.issue(
                sub,
                f"start {start} is greater than end {end}: the range matches no port",
                code="tier-empty-range",
                severity=Severity.WARNING,
            )
        return TierPort(protocol=proto, port=start, end_port=end) if proto is not None else _NO_PORT

    # -- rules ----------------------------------------------------------------------------------
    def tier_rules(self, spec: Mapping[str, Any], key: str, sp: _Spec) -> tuple[TierRule, ...]:
        egress = key == "egress"
        peer_key = "to" if egress else "from"
        peer_kinds = sp.egress_peers if egress else ("namespaces", "pods")
        items = self._items(spec.get(key), ("spec", key), max_items=sp.max_items)
        out: list[TierRule] = []
        for i, r in enumerate(items):
            rpath: FieldPath = ("spec", key, i)
            rm = self.mapping(r, rpath)
            if rm is None:
                if r is None:
                    self.issue((*rpath, "action"), v.required())
                continue
            self.unknown_fields(rm, {"name", "action", peer_key, sp.ports_key}, rpath)
            name = self.string(rm.get("name"), (*rpath, "name")) or ""
            if len(name.encode()) > 100:
                self.issue((*rpath, "name"), "Too long: may not be more than 100 bytes")
            action: TierAction | None = None
            if rm.get("action") is None:
                self.issue((*rpath, "action"), v.required())
            else:
                a = self.string(rm.get("action"), (*rpath, "action"))
                if a is not None:
                    action = sp.actions.get(a)
                    if action is None:
                        self.issue((*rpath, "action"), v.unsupported(a, list(sp.actions)))
            if rm.get(peer_key) is None:
                self.issue((*rpath, peer_key), v.required())
            peers: list[TierPeer] = []
            raw_peers = self._items(rm.get(peer_key), (*rpath, peer_key), min_items=1, max_items=sp.max_items)
            for j, p in enumerate(raw_peers):
                tp = self.tier_peer(p, (*rpath, peer_key, j), peer_kinds, sp.max_items)
                if tp is not None:
                    peers.append(tp)
            ports: list[TierPort] | None = None
            if rm.get(sp.ports_key) is not None:
                ports = []
                pitems = self._items(rm.get(sp.ports_key), (*rpath, sp.ports_key), min_items=1, max_items=sp.max_items)
                for j, p in enumerate(pitems):
                    ppath: FieldPath = (*rpath, sp.ports_key, j)
                    tport = self.protocol_v2(p, ppath) if sp.v2 else self.port_v1(p, ppath)
                    if tport is not None:
                        ports.append(tport)
            named = bool(ports) and any(p.named is not None for p in ports or ())
            if egress and named and any(p.kind in ("networks", "nodes", "domainNames") for p in peers):
                self.issue(rpath, f'Invalid value: "object": {sp.named_cel}')
            if action is not None:
                out.append(
                    TierRule(
                        index=i,
                        name=name,
                        action=action,
                        peers=tuple(peers),
                        ports=tuple(p for p in ports if p is not _NO_PORT) if ports is not None else None,
                        span=self.sub_span(rpath),
                    )
                )
        return tuple(out)

    # -- objects ------------------------------------------------------------------------------
    def tier_policy(self, kind: str, api_version: str, data: Mapping[str, Any]) -> None:
        sp = _Spec(kind, api_version)
        before = sum(1 for i in self.issues if i.severity is Severity.ERROR)
        self.unknown_fields(data, {"apiVersion", "kind", "metadata", "spec", "status"}, ())
        name, _, _labels, _ann, _ = self.metadata(data, namespaced=False)
        if data.get("spec") is None:
            self.issue(("spec",), v.required())
        spec = self.mapping(data.get("spec"), ("spec",)) or {}
        self.unknown_fields(spec, sp.spec_fields, ("spec",))
        tier = Tier.BASELINE if sp.baseline_v1 else Tier.ADMIN
        if sp.v2:
            if spec.get("tier") is None:
                self.issue(("spec", "tier"), v.required())
            else:
                t = self.string(spec.get("tier"), ("spec", "tier"))
                if t is not None:
                    if t in ("Admin", "Baseline"):
                        tier = Tier(t)
                    else:
                        self.issue(("spec", "tier"), v.unsupported(t, ["Admin", "Baseline"]))
        priority = 0
        if not sp.baseline_v1:
            if spec.get("priority") is None:
                self.issue(("spec", "priority"), v.required())
            else:
                n = self.integer(spec.get("priority"), ("spec", "priority"))
                if n is not None:
                    where = f"Invalid value: {n}: spec.priority in body should be"
                    if n < 0:
                        self.issue(("spec", "priority"), f"{where} greater than or equal to 0")
                    elif n > 1000:
                        self.issue(("spec", "priority"), f"{where} less than or equal to 1000")
                    priority = n
        subject = self.subject(spec)
        ingress = self.tier_rules(spec, "ingress", sp)
        egress = self.tier_rules(spec, "egress", sp)
        if sp.baseline_v1 and name and name != "default":
            self.issue((), f'Invalid value: "object": {CEL_BANP_NAME}')
        after = sum(1 for i in self.issues if i.severity is Severity.ERROR)
        if not name:
            return
        self.remember(kind, "", name)
        if after > before or subject is None:
            return  # the API server would reject it: it does not exist
        self.tier_policies.append(
            TierPolicy(
                api_kind=kind,
                api_version=api_version,
                name=name,
                tier=tier,
                priority=priority,
                subject=subject,
                ingress=ingress,
                egress=egress,
                span=self.span(),
            )
        )

    def node_object(self, data: Mapping[str, Any]) -> None:
        name, _, labels, _ann, _ = self.metadata(data, namespaced=False)
        if not name:
            return
        status = self.mapping(data.get("status"), ("status",)) or {}
        addresses: list[str] = []
        for i, a in enumerate(self.seq(status.get("addresses"), ("status", "addresses"))):
            apath: FieldPath = ("status", "addresses", i)
            am = self.mapping(a, apath)
            if am is None:
                continue
            typ = self.string(am.get("type"), (*apath, "type"))
            addr = self.string(am.get("address"), (*apath, "address"))
            if typ not in ("InternalIP", "ExternalIP") or not addr:
                continue
            try:
                ipaddress.ip_address(addr)
            except ValueError:
                msg = v.invalid(addr, "must be a valid IP address")
                self.issue((*apath, "address"), msg, severity=Severity.WARNING)
                continue
            if addr not in addresses:
                addresses.append(addr)
        self.remember("Node", "", name)
        node = Node(name=name, labels=MappingProxyType(labels), addresses=tuple(addresses), span=self.span())
        self.nodes.append(node)

    def tier_objects(self) -> tuple[tuple[TierPolicy, ...], tuple[Node, ...]]:
        """The policies in evaluation order (a redefined object replaces the earlier one) and nodes."""
        last = {p.key: p for p in self.tier_policies}
        pols = sorted((p for p in self.tier_policies if last[p.key] is p), key=TierPolicy.sort_key)
        last_node = {n.name: n for n in self.nodes}
        return tuple(pols), tuple(n for n in self.nodes if last_node[n.name] is n)


NOTHING = LabelSelector(
    match_expressions=(Requirement(key="podwall.invalid/selector", operator=Operator.IN, values=()),)
)
"""A selector that matches no label set (``In`` with no values): an unparseable selector."""

_NO_PORT = TierPort(protocol=None, named=None)
"""Placeholder for a v1alpha1 port whose protocol is not TCP/UDP/SCTP (it matches nothing)."""


def tier_kind(kind: str, api: str) -> bool:
    """Whether ``(kind, apiVersion)`` is read by this module."""
    return (kind, api) in TIER_KINDS
