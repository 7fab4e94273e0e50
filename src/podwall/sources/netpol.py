"""NetworkPolicy decoding: validation with the API server's field paths and messages, and its
defaulting (``pkg/apis/networking/validation/validation.go``, ``pkg/apis/networking/v1/defaults.go``).

A policy the API server would reject is reported and left out of the cluster: it would not
exist. Unknown fields are refused, as kubectl's strict field validation does.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from podwall.core.model import (
    Direction,
    IPBlock,
    LabelSelector,
    Operator,
    Peer,
    Policy,
    PortSpec,
    Protocol,
    Requirement,
    Rule,
)
from podwall.errors import FieldPath, Severity
from podwall.sources import validation as v
from podwall.sources.fields import FieldReader

_NP_FIELDS = {
    "": {"apiVersion", "kind", "metadata", "spec", "status"},
    "spec": {"podSelector", "ingress", "egress", "policyTypes"},
    "ingress": {"from", "ports"},
    "egress": {"to", "ports"},
    "peer": {"podSelector", "namespaceSelector", "ipBlock"},
    "port": {"protocol", "port", "endPort"},
    "ipBlock": {"cidr", "except"},
    "selector": {"matchLabels", "matchExpressions"},
    "requirement": {"key", "operator", "values"},
}


class NetworkPolicyReader(FieldReader):
    """Reads NetworkPolicy objects into :class:`Policy` values, collected in ``policies``."""

    def __init__(self, default_namespace: str) -> None:
        super().__init__(default_namespace)
        self.policies: list[Policy] = []

    def selector(self, value: Any, path: FieldPath) -> LabelSelector | None:
        m = self.mapping(value, path)
        if m is None:
            return None
        self.unknown_fields(m, _NP_FIELDS["selector"], path)
        ml = self.string_map(m.get("matchLabels"), (*path, "matchLabels"))
        for k in sorted(ml):
            for msg in v.is_qualified_name(k):
                self.issue((*path, "matchLabels"), v.invalid(k, msg), at=(*path, "matchLabels", k))
            for msg in v.is_valid_label_value(ml[k]):
                self.issue((*path, "matchLabels"), v.invalid(ml[k], msg), at=(*path, "matchLabels", k))
        reqs: list[Requirement] = []
        for i, e in enumerate(self.seq(m.get("matchExpressions"), (*path, "matchExpressions"))):
            epath: FieldPath = (*path, "matchExpressions", i)
            em = self.mapping(e, epath)
            if em is None:
                continue
            self.unknown_fields(em, _NP_FIELDS["requirement"], epath)
            key = self.string(em.get("key"), (*epath, "key")) or ""
            op_s = self.string(em.get("operator"), (*epath, "operator")) or ""
            raw_vals = self.seq(em.get("values"), (*epath, "values"))
            vals = [s for j, x in enumerate(raw_vals) if (s := self.list_string(x, (*epath, "values", j))) is not None]
            op: Operator | None
            try:
                op = Operator(op_s)
            except ValueError:
                op = None
            if op in (Operator.IN, Operator.NOT_IN):
                if not vals:
                    self.issue((*epath, "values"), v.required("must be specified when `operator` is 'In' or 'NotIn'"))
            elif op in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
                if vals:
                    self.issue(
                        (*epath, "values"),
                        v.forbidden("may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
                    )
            else:
                self.issue((*epath, "operator"), v.invalid(v.Named(op_s), "not a valid selector operator"))
            for msg in v.is_qualified_name(key):
                self.issue((*epath, "key"), v.invalid(key, msg))
            for j, val in enumerate(vals):
                for msg in v.is_valid_label_value(val):
                    self.issue((*epath, "values", j), v.invalid(val, msg))
            if op is not None:
                reqs.append(Requirement(key=key, operator=op, values=tuple(vals)))
        return LabelSelector(match_labels=tuple(sorted(ml.items())), match_expressions=tuple(reqs))

    def ip_block(self, value: Any, path: FieldPath) -> IPBlock | None:
        m = self.mapping(value, path)
        if m is None:
            return None
        self.unknown_fields(m, _NP_FIELDS["ipBlock"], path)
        cidr = self.string(m.get("cidr"), (*path, "cidr")) or ""
        raw_except = self.seq(m.get("except"), (*path, "except"))
        if not cidr:
            self.issue((*path, "cidr"), v.required())
            return None
        parsed = v.parse_cidr_sloppy(cidr)
        if parsed is None:
            self.issue((*path, "cidr"), v.invalid(cidr, v.CIDR_INVALID))
            return None
        net, canonical = parsed
        if not canonical:
            self.issue(
                (*path, "cidr"),
                f"{v.render_value(cidr)} is not in canonical form; the API server reads it as {net}",
                code="noncanonical-cidr",
                severity=Severity.WARNING,
            )
        excepts: list[str] = []
        except_nets = []
        for i, e in enumerate(raw_except):
            s = self.list_string(e, (*path, "except", i))
            if s is None:
                continue
            ep = v.parse_cidr_sloppy(s)
            if ep is None:
                self.issue((*path, "except", i), v.invalid(s, v.CIDR_INVALID))
                continue
            enet, _ = ep
            if not v.cidr_contains(net, enet.network_address) or net.prefixlen >= enet.prefixlen:
                self.issue((*path, "except", i), v.invalid(s, "must be a strict subset of `cidr`"))
                continue
            excepts.append(s)
            except_nets.append(enet)
        return IPBlock(cidr=cidr, network=net, excepts=tuple(excepts), except_networks=tuple(except_nets))

    def peer(self, value: Any, path: FieldPath) -> Peer | None:
        m = self.mapping(value, path)
        if m is None:
            if value is None:
                self.issue(path, v.required("must specify a peer"))
            return None
        self.unknown_fields(m, _NP_FIELDS["peer"], path)
        pod_sel = self.selector(m.get("podSelector"), (*path, "podSelector"))
        ns_sel = self.selector(m.get("namespaceSelector"), (*path, "namespaceSelector"))
        block = self.ip_block(m.get("ipBlock"), (*path, "ipBlock"))
        count = sum(1 for k in ("podSelector", "namespaceSelector", "ipBlock") if m.get(k) is not None)
        if count == 0:
            self.issue(path, v.required("must specify a peer"))
            return None
        if count > 1 and m.get("ipBlock") is not None:
            self.issue(path, v.forbidden("may not specify both ipBlock and another peer"))
            return None
        return Peer(pod_selector=pod_sel, namespace_selector=ns_sel, ip_block=block)

    def port_spec(self, value: Any, path: FieldPath) -> PortSpec | None:
        m = self.mapping(value, path)
        if m is None:
            return PortSpec() if value is None else None
        self.unknown_fields(m, _NP_FIELDS["port"], path)
        proto_s = self.string(m.get("protocol"), (*path, "protocol"))
        proto = Protocol.TCP
        ok = True
        if proto_s is not None:
            try:
                proto = Protocol(proto_s)
            except ValueError:
                self.issue((*path, "protocol"), v.unsupported(proto_s, ["TCP", "UDP", "SCTP"]))
                ok = False
        port = self.int_or_string(m.get("port"), (*path, "port"))
        end = self.integer(m.get("endPort"), (*path, "endPort"))
        if isinstance(port, int):
            for msg in v.is_valid_port_num(port):
                self.issue((*path, "port"), v.invalid(port, msg))
                ok = False
            if end is not None:
                if end < port:
                    # The value shown is endPort's: current validation.go (the revision with
                    # AllowCIDRsEvenIfInvalid) passes
                    # *port.EndPort; older releases passed port.Port.IntVal.
                    self.issue((*path, "endPort"), v.invalid(end, "must be greater than or equal to `port`"))
                    ok = False
                for msg in v.is_valid_port_num(end):
                    self.issue((*path, "endPort"), v.invalid(end, msg))
                    ok = False
        elif isinstance(port, str):
            if end is not None:
                self.issue((*path, "endPort"), v.invalid(end, "may not be specified when `port` is non-numeric"))
                ok = False
            for msg in v.is_valid_port_name(port):
                self.issue((*path, "port"), v.invalid(port, msg))
                ok = False
        elif end is not None:
            self.issue((*path, "endPort"), v.invalid(end, "may not be specified when `port` is not specified"))
            ok = False
        if not ok:
            return None
        return PortSpec(protocol=proto, port=port, end_port=end if isinstance(port, int) else None)

    def rules(self, value: Any, direction: Direction) -> tuple[tuple[Rule, ...], bool]:
        key = "ingress" if direction is Direction.INGRESS else "egress"
        peer_key = "from" if direction is Direction.INGRESS else "to"
        items = self.seq(value, ("spec", key))
        rules: list[Rule] = []
        for i, r in enumerate(items):
            rpath: FieldPath = ("spec", key, i)
            rm = self.mapping(r, rpath)
            if rm is None:
                if r is None:
                    rules.append(Rule(span=self.sub_span(rpath)))
                continue
            self.unknown_fields(rm, _NP_FIELDS[key], rpath)
            ports = []
            for j, p in enumerate(self.seq(rm.get("ports"), (*rpath, "ports"))):
                ps = self.port_spec(p, (*rpath, "ports", j))
                if ps is not None:
                    ports.append(ps)
            peers = []
            for j, p in enumerate(self.seq(rm.get(peer_key), (*rpath, peer_key))):
                pe = self.peer(p, (*rpath, peer_key, j))
                if pe is not None:
                    peers.append(pe)
            rules.append(Rule(peers=tuple(peers), ports=tuple(ports), span=self.sub_span(rpath)))
        return tuple(rules), bool(items)

    def network_policy(self, data: Mapping[str, Any]) -> None:
        before = sum(1 for i in self.issues if i.severity is Severity.ERROR)
        self.unknown_fields(data, _NP_FIELDS[""], ())
        name, ns, _labels, annotations, ns_explicit = self.metadata(data, namespaced=True)
        spec = self.mapping(data.get("spec"), ("spec",)) or {}
        self.unknown_fields(spec, _NP_FIELDS["spec"], ("spec",))
        pod_sel = self.selector(spec.get("podSelector"), ("spec", "podSelector")) or LabelSelector()
        ingress, _ = self.rules(spec.get("ingress"), Direction.INGRESS)
        egress, has_egress = self.rules(spec.get("egress"), Direction.EGRESS)
        raw_types = self.seq(spec.get("policyTypes"), ("spec", "policyTypes"))
        types: set[Direction] = set()
        if len(raw_types) > 2:
            self.issue(("spec", "policyTypes"), v.invalid(raw_types, "may not specify more than two policyTypes"))
        else:
            for i, t in enumerate(raw_types):
                s = self.list_string(t, ("spec", "policyTypes", i))
                if s is None:
                    continue
                try:
                    types.add(Direction(s))
                except ValueError:
                    self.issue(("spec", "policyTypes", i), v.unsupported(s, ["Ingress", "Egress"]))
        explicit = bool(raw_types)
        if not explicit:
            types = {Direction.INGRESS} | ({Direction.EGRESS} if has_egress else set())
        after = sum(1 for i in self.issues if i.severity is Severity.ERROR)
        if not name:
            return
        self.remember("NetworkPolicy", ns, name)
        if after > before:
            return  # the API server would reject it: it does not exist
        self.policies.append(
            Policy(
                namespace=ns,
                name=name,
                pod_selector=pod_sel,
                policy_types=frozenset(types),
                ingress=ingress,
                egress=egress,
                policy_types_explicit=explicit,
                namespace_explicit=ns_explicit,
                annotations=MappingProxyType(annotations),
                span=self.span(),
            )
        )
