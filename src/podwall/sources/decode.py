"""Decode Kubernetes objects into podwall's model, validating and defaulting like the API server.

Shared by every input (files, stdin, later a live cluster), so the same objects always give the
same cluster. What this module does, in order, per object:

* type checks (a string where a list belongs, a number where a label value belongs, ...):
  diagnostics with code ``type``, which make the input unreadable (exit code 2);
* NetworkPolicy validation with the API server's field paths and messages
  (``pkg/apis/networking/validation/validation.go``), code ``invalid``; unknown fields of a
  NetworkPolicy are refused as kubectl's strict field validation does (code ``unknown-field``);
* defaulting (``pkg/apis/networking/v1/defaults.go``): ``protocol`` ← TCP; empty
  ``policyTypes`` ← ``[Ingress]`` plus ``Egress`` iff ``spec.egress`` is non-empty; a missing
  namespace ← the default namespace;
* what the API server accepts but a careful user wants to know (a CIDR with host bits set):
  warnings, never errors.

Workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob)
become endpoints from their pod templates. A Pod or ReplicaSet owned (through
``ownerReferences``) by a workload that is also present is folded into that workload, so it is
not counted twice; its IPs become the workload's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, BinaryIO

from podwall.core.model import (
    WORKLOAD_KINDS,
    Cluster,
    ContainerPort,
    Direction,
    Endpoint,
    IPBlock,
    LabelSelector,
    Namespace,
    Operator,
    Peer,
    Policy,
    PortSpec,
    Protocol,
    Requirement,
    Rule,
    Service,
    ServicePort,
)
from podwall.errors import Diagnostic, ManifestError, Severity, SourceSpan
from podwall.sources import validation as v
from podwall.sources.manifests import Document, Locator, SourceText, parse_source, read_sources, type_name

FieldPath = tuple[str | int, ...]
NS_NAME_LABEL = "kubernetes.io/metadata.name"

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


def render_path(path: FieldPath) -> str:
    """``("spec", "ingress", 0, "ports")`` → ``spec.ingress[0].ports``."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + step
    return out


@dataclass
class _Issue:
    severity: Severity
    code: str
    message: str
    doc: Document
    path: FieldPath
    at: FieldPath | None = None
    """Where to look for the line when it is more precise than ``path`` (a label's own key)."""


@dataclass
class LoadResult:
    """What loading produced: the cluster, every diagnostic, and what was skipped."""

    cluster: Cluster
    diagnostics: list[Diagnostic]
    skipped: list[str] = field(default_factory=list)
    locator: Locator = field(default_factory=Locator)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def unreadable(self) -> bool:
        """True when some input could not even be decoded (YAML or type errors)."""
        return any(d.code in ("yaml", "type", "read") for d in self.errors)

    def line_of(self, span: SourceSpan | None, *sub: str | int) -> int:
        """The line of an object (or of a field below it, by path) in its source."""
        if span is None:
            return 0
        return self.locator.line(span.file, span.doc, span.path + tuple(sub))

    def raise_for_errors(self) -> None:
        if self.errors:
            raise ManifestError(self.diagnostics)


@dataclass
class _Raw:
    """An endpoint before owner folding."""

    kind: str
    namespace: str
    name: str
    labels: Mapping[str, str]
    ports: tuple[ContainerPort, ...]
    ips: tuple[str, ...]
    host_network: bool
    replicas: int | None
    owners: tuple[tuple[str, str], ...]
    annotations: Mapping[str, str]
    span: SourceSpan


class _Decoder:
    def __init__(self, default_namespace: str) -> None:
        self.default_namespace = default_namespace
        self.issues: list[_Issue] = []
        self.skipped: list[tuple[Document, str]] = []
        self.namespaces: dict[str, Namespace] = {}
        self.raw_endpoints: list[_Raw] = []
        self.policies: list[Policy] = []
        self.services: list[Service] = []
        self.seen: dict[tuple[str, str, str], Document] = {}
        self.doc: Document | None = None

    # -- diagnostics ---------------------------------------------------------------------
    def issue(
        self,
        path: FieldPath,
        message: str,
        code: str = "invalid",
        severity: Severity = Severity.ERROR,
        at: FieldPath | None = None,
    ) -> None:
        assert self.doc is not None
        self.issues.append(_Issue(severity, code, message, self.doc, path, at))

    def type_error(self, path: FieldPath, expected: str, value: object, hint: str = "") -> None:
        msg = f"Invalid type: expected {expected}, got {type_name(value)}"
        self.issue(path, msg + (f" ({hint})" if hint else ""), code="type")

    # -- typed access --------------------------------------------------------------------
    def mapping(self, value: Any, path: FieldPath) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.type_error(path, "a mapping", value)
            return None
        for k in value:
            if not isinstance(k, str):
                self.type_error(path, "string keys", k)
                return None
        return value

    def seq(self, value: Any, path: FieldPath) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.type_error(path, "a list", value)
            return []
        return value

    def string(self, value: Any, path: FieldPath) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            hint = f'quote it: "{value}"' if isinstance(value, (int, float, bool)) else ""
            self.type_error(path, "a string", value, hint)
            return None
        return value

    def list_string(self, value: Any, path: FieldPath) -> str | None:
        """An item of a list of strings: JSON ``null`` there decodes to ``""`` in Go."""
        return "" if value is None else self.string(value, path)

    def integer(self, value: Any, path: FieldPath) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.type_error(path, "an integer", value)
            return None
        return value

    def int_or_string(self, value: Any, path: FieldPath) -> int | str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.type_error(path, "an integer or a string", value)
            return None
        return value

    def boolean(self, value: Any, path: FieldPath) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.type_error(path, "a boolean", value)
            return False
        return value

    def string_map(self, value: Any, path: FieldPath) -> dict[str, str]:
        m = self.mapping(value, path)
        if m is None:
            return {}
        out: dict[str, str] = {}
        for k, val in m.items():
            if val is None:
                val = ""
            s = self.string(val, (*path, k))
            if s is not None:
                out[k] = s
        return out

    def unknown_fields(self, m: Mapping[str, Any], allowed: set[str], path: FieldPath) -> None:
        for k in m:
            if k not in allowed:
                full = render_path((*path, k))
                self.issue((*path, k), f'unknown field "{full}" (the API server rejects it)', code="unknown-field")

    # -- metadata ------------------------------------------------------------------------
    def metadata(
        self,
        data: Mapping[str, Any],
        namespaced: bool,
        name_check: Callable[[str], list[str]] = v.is_dns1123_subdomain,
    ) -> tuple[str, str, dict[str, str], dict[str, str], bool]:
        meta = self.mapping(data.get("metadata"), ("metadata",)) or {}
        raw_name = meta.get("name")
        name = self.string(raw_name, ("metadata", "name")) or ""
        if name:
            for msg in name_check(name):
                self.issue(("metadata", "name"), v.invalid(name, msg))
        elif raw_name is None or raw_name == "":  # (a name of the wrong type is reported already)
            if meta.get("generateName"):
                name = str(meta.get("generateName"))
            else:
                self.issue(("metadata", "name"), v.required("name or generateName is required"))
        ns = ""
        explicit = False
        if namespaced:
            ns_val = self.string(meta.get("namespace"), ("metadata", "namespace"))
            if ns_val:
                explicit = True
                ns = ns_val
                for msg in v.is_dns1123_label(ns):
                    self.issue(("metadata", "namespace"), v.invalid(ns, msg))
            else:
                ns = self.default_namespace
        labels = self.string_map(meta.get("labels"), ("metadata", "labels"))
        self.validate_labels(labels, ("metadata", "labels"))
        annotations = self.string_map(meta.get("annotations"), ("metadata", "annotations"))
        return name, ns, labels, annotations, explicit

    def validate_labels(self, labels: Mapping[str, str], path: FieldPath) -> None:
        for k in sorted(labels):
            for msg in v.is_qualified_name(k):
                self.issue(path, v.invalid(k, msg), at=(*path, k))
            for msg in v.is_valid_label_value(labels[k]):
                self.issue(path, v.invalid(labels[k], msg), at=(*path, k))

    def span(self) -> SourceSpan:
        assert self.doc is not None
        return SourceSpan(file=self.doc.source, doc=self.doc.doc, path=self.doc.path)

    # -- objects -------------------------------------------------------------------------
    def object(self, doc: Document) -> None:
        self.doc = doc
        data = doc.data
        if not isinstance(data, dict):
            self.type_error((), "a Kubernetes object (a mapping)", data)
            return
        kind = data.get("kind")
        api = data.get("apiVersion")
        if not isinstance(kind, str) or not kind:
            self.issue(("kind",), "Required value: every object needs a kind", code="type")
            return
        if not isinstance(api, str) or not api:
            self.issue(("apiVersion",), "Required value: every object needs an apiVersion", code="type")
            return
        group = api.rpartition("/")[0] if "/" in api else ""
        if kind == "NetworkPolicy" and group == "networking.k8s.io":
            self.network_policy(data)
        elif kind == "Namespace" and group == "":
            self.namespace_object(data)
        elif kind == "Pod" and group == "":
            self.pod(data)
        elif kind == "Service" and group == "":
            self.service(data)
        elif kind in WORKLOAD_KINDS and group in ("apps", "batch", "extensions", ""):
            self.workload(kind, data)
        else:
            self.skipped.append((doc, f"{api} {kind}"))

    def remember(self, kind: str, ns: str, name: str) -> None:
        key = (kind, ns, name)
        prev = self.seen.get(key)
        if prev is not None:
            where = f"{prev.source}"
            self.issue(
                ("metadata", "name"),
                f"{kind} {ns + '/' if ns else ''}{name} is defined again (first in {where}); the later one wins",
                code="duplicate",
                severity=Severity.WARNING,
            )
        assert self.doc is not None
        self.seen[key] = self.doc

    def namespace_object(self, data: Mapping[str, Any]) -> None:
        # ValidateNamespaceName is a DNS-1123 label (not a subdomain, as most names are)
        name, _, labels, annotations, _ = self.metadata(data, namespaced=False, name_check=v.is_dns1123_label)
        if not name:
            return
        labels[NS_NAME_LABEL] = name
        self.remember("Namespace", "", name)
        self.namespaces[name] = Namespace(
            name=name,
            labels=MappingProxyType(labels),
            annotations=MappingProxyType(annotations),
            declared=True,
            span=self.span(),
        )

    def owners(self, data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        meta = data.get("metadata") or {}
        refs = meta.get("ownerReferences") if isinstance(meta, dict) else None
        out = []
        if isinstance(refs, list):
            for r in refs:
                if isinstance(r, dict) and isinstance(r.get("kind"), str) and isinstance(r.get("name"), str):
                    out.append((r["kind"], r["name"]))
        return tuple(out)

    def container_ports(self, pod_spec: Mapping[str, Any], path: FieldPath) -> tuple[ContainerPort, ...]:
        out: list[ContainerPort] = []
        for group in ("containers", "initContainers"):
            for i, c in enumerate(self.seq(pod_spec.get(group), (*path, group))):
                cpath: FieldPath = (*path, group, i)
                cm = self.mapping(c, cpath)
                if cm is None:
                    continue
                for j, p in enumerate(self.seq(cm.get("ports"), (*cpath, "ports"))):
                    ppath: FieldPath = (*cpath, "ports", j)
                    pm = self.mapping(p, ppath)
                    if pm is None:
                        continue
                    num = self.integer(pm.get("containerPort"), (*ppath, "containerPort"))
                    if num is None:
                        continue
                    proto = self.protocol(pm.get("protocol"), (*ppath, "protocol"))
                    pname = self.string(pm.get("name"), (*ppath, "name"))
                    out.append(ContainerPort(port=num, protocol=proto or Protocol.TCP, name=pname or None))
        return tuple(out)

    def protocol(self, value: Any, path: FieldPath) -> Protocol | None:
        s = self.string(value, path)
        if s is None:
            return Protocol.TCP
        try:
            return Protocol(s)
        except ValueError:
            self.issue(path, v.unsupported(s, ["TCP", "UDP", "SCTP"]))
            return None

    def pod(self, data: Mapping[str, Any]) -> None:
        name, ns, labels, annotations, _ = self.metadata(data, namespaced=True)
        if not name:
            return
        spec = self.mapping(data.get("spec"), ("spec",)) or {}
        status = self.mapping(data.get("status"), ("status",)) or {}
        phase = status.get("phase")
        if phase in ("Succeeded", "Failed"):
            assert self.doc is not None
            self.skipped.append((self.doc, f"Pod {ns}/{name} (phase {phase}: not running)"))
            return
        ips: list[str] = []
        for i, entry in enumerate(self.seq(status.get("podIPs"), ("status", "podIPs"))):
            em = self.mapping(entry, ("status", "podIPs", i))
            ip = self.string(em.get("ip"), ("status", "podIPs", i, "ip")) if em else None
            if ip:
                ips.append(ip)
        pod_ip = self.string(status.get("podIP"), ("status", "podIP"))
        if pod_ip and pod_ip not in ips:
            ips.insert(0, pod_ip)
        ips = self.check_ips(ips)
        self.remember("Pod", ns, name)
        self.raw_endpoints.append(
            _Raw(
                kind="Pod",
                namespace=ns,
                name=name,
                labels=MappingProxyType(labels),
                ports=self.container_ports(spec, ("spec",)),
                ips=tuple(ips),
                host_network=self.boolean(spec.get("hostNetwork"), ("spec", "hostNetwork")),
                replicas=None,
                owners=self.owners(data),
                annotations=MappingProxyType(annotations),
                span=self.span(),
            )
        )

    def check_ips(self, ips: list[str]) -> list[str]:
        import ipaddress

        good = []
        for ip in ips:
            try:
                ipaddress.ip_address(ip)
                good.append(ip)
            except ValueError:
                self.issue(("status", "podIP"), v.invalid(ip, "must be a valid IP address"), severity=Severity.WARNING)
        return good

    def workload(self, kind: str, data: Mapping[str, Any]) -> None:
        name, ns, _labels, annotations, _ = self.metadata(data, namespaced=True)
        if not name:
            return
        spec = self.mapping(data.get("spec"), ("spec",)) or {}
        base: FieldPath = ("spec",)
        if kind == "CronJob":
            jt = self.mapping(spec.get("jobTemplate"), ("spec", "jobTemplate")) or {}
            spec = self.mapping(jt.get("spec"), ("spec", "jobTemplate", "spec")) or {}
            base = ("spec", "jobTemplate", "spec")
        tmpl = self.mapping(spec.get("template"), (*base, "template")) or {}
        tmeta = self.mapping(tmpl.get("metadata"), (*base, "template", "metadata")) or {}
        tlabels = self.string_map(tmeta.get("labels"), (*base, "template", "metadata", "labels"))
        self.validate_labels(tlabels, (*base, "template", "metadata", "labels"))
        tspec = self.mapping(tmpl.get("spec"), (*base, "template", "spec")) or {}
        replicas: int | None = None
        if kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
            r = self.integer(spec.get("replicas"), ("spec", "replicas"))
            replicas = 1 if r is None else r
        self.remember(kind, ns, name)
        self.raw_endpoints.append(
            _Raw(
                kind=kind,
                namespace=ns,
                name=name,
                labels=MappingProxyType(tlabels),
                ports=self.container_ports(tspec, (*base, "template", "spec")),
                ips=(),
                host_network=self.boolean(tspec.get("hostNetwork"), (*base, "template", "spec", "hostNetwork")),
                replicas=replicas,
                owners=self.owners(data),
                annotations=MappingProxyType(annotations),
                span=self.span(),
            )
        )

    def service(self, data: Mapping[str, Any]) -> None:
        # ValidateServiceName is a DNS-1035 label
        name, ns, _labels, _ann, _ = self.metadata(data, namespaced=True, name_check=v.is_dns1035_label)
        if not name:
            return
        spec = self.mapping(data.get("spec"), ("spec",)) or {}
        selector: dict[str, str] | None = None
        if spec.get("selector") is not None:
            selector = self.string_map(spec.get("selector"), ("spec", "selector"))
        ports: list[ServicePort] = []
        for i, p in enumerate(self.seq(spec.get("ports"), ("spec", "ports"))):
            pm = self.mapping(p, ("spec", "ports", i))
            if pm is None:
                continue
            num = self.integer(pm.get("port"), ("spec", "ports", i, "port"))
            if num is None:
                self.issue(("spec", "ports", i, "port"), v.required(), code="type")
                continue
            ports.append(
                ServicePort(
                    name=self.string(pm.get("name"), ("spec", "ports", i, "name")) or None,
                    port=num,
                    protocol=self.protocol(pm.get("protocol"), ("spec", "ports", i, "protocol")) or Protocol.TCP,
                    target_port=self.int_or_string(pm.get("targetPort"), ("spec", "ports", i, "targetPort")),
                )
            )
        self.remember("Service", ns, name)
        self.services.append(
            Service(
                namespace=ns,
                name=name,
                selector=MappingProxyType(selector) if selector is not None else None,
                ports=tuple(ports),
                span=self.span(),
            )
        )

    # -- NetworkPolicy -------------------------------------------------------------------
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
                    # AllowCIDRsEvenIfInvalid, which anchors.md §6.1 describes) passes
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

    def sub_span(self, path: FieldPath) -> SourceSpan:
        assert self.doc is not None
        return SourceSpan(file=self.doc.source, doc=self.doc.doc, path=self.doc.path + path)

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

    # -- assembly ------------------------------------------------------------------------
    def endpoints(self) -> list[Endpoint]:
        """Fold owned pods and ReplicaSets into the workloads present that own them."""
        present = {(r.namespace, r.kind, r.name): r for r in self.raw_endpoints}
        # a redefined object replaces the earlier one (as a later `kubectl apply` would)
        self.raw_endpoints = [r for r in self.raw_endpoints if present[(r.namespace, r.kind, r.name)] is r]

        def owner_of(r: _Raw) -> _Raw | None:
            for kind, name in r.owners:
                hit = present.get((r.namespace, kind, name))
                if hit is not None:
                    return hit
                if kind == "ReplicaSet":
                    h = r.labels.get("pod-template-hash")
                    if h and name.endswith("-" + h):
                        dep = present.get((r.namespace, "Deployment", name[: -len(h) - 1]))
                        if dep is not None:
                            return dep
            return None

        top: dict[int, _Raw] = {}
        for r in self.raw_endpoints:
            cur, hops = r, 0
            while (o := owner_of(cur)) is not None and hops < 8:
                cur, hops = o, hops + 1
            top[id(r)] = cur
        extra_ips: dict[int, list[str]] = {}
        for r in self.raw_endpoints:
            t = top[id(r)]
            if t is not r:
                extra_ips.setdefault(id(t), []).extend(r.ips)
        def absent_owner(r: _Raw) -> str | None:
            for kind, name in r.owners:
                if kind == "ReplicaSet":
                    h = r.labels.get("pod-template-hash")
                    if h and name.endswith("-" + h):
                        return f"{r.namespace}/deployment/{name[: -len(h) - 1]}"
                return f"{r.namespace}/{kind.lower()}/{name}"
            return None

        out = []
        for r in self.raw_endpoints:
            if top[id(r)] is not r:
                continue
            out.append(
                Endpoint(
                    kind=r.kind,
                    namespace=r.namespace,
                    name=r.name,
                    labels=r.labels,
                    ports=r.ports,
                    ips=r.ips + tuple(extra_ips.get(id(r), ())),
                    host_network=r.host_network,
                    replicas=r.replicas,
                    owner=absent_owner(r),
                    annotations=r.annotations,
                    span=r.span,
                )
            )
        return out

    def cluster(self) -> Cluster:
        endpoints = self.endpoints()
        referenced = {e.namespace for e in endpoints} | {p.namespace for p in self.policies}
        referenced |= {s.namespace for s in self.services}
        namespaces = dict(self.namespaces)
        for name in sorted(referenced - namespaces.keys()):
            namespaces[name] = Namespace(
                name=name, labels=MappingProxyType({NS_NAME_LABEL: name}), declared=False
            )
        last_policy = {p.key: p for p in self.policies}
        last_service = {s.key: s for s in self.services}
        return Cluster(
            namespaces=MappingProxyType(dict(sorted(namespaces.items()))),
            endpoints=tuple(endpoints),
            policies=tuple(p for p in self.policies if last_policy[p.key] is p),
            services=tuple(s for s in self.services if last_service[s.key] is s),
        )


def decode_documents(
    docs: Iterable[Document],
    locator: Locator,
    *,
    default_namespace: str = "default",
    diagnostics: list[Diagnostic] | None = None,
) -> LoadResult:
    """Decode parsed documents into a cluster, with every diagnostic located by line."""
    dec = _Decoder(default_namespace)
    for d in docs:
        try:
            dec.object(d)
        except RecursionError:
            dec.doc = d
            dec.issue((), "object nested too deeply to read", code="type")
    diags = list(diagnostics or [])
    for i in dec.issues:
        line = locator.line(i.doc.source, i.doc.doc, i.doc.path + (i.path if i.at is None else i.at))
        diags.append(
            Diagnostic(
                severity=i.severity,
                code=i.code,
                message=i.message,
                file=i.doc.source,
                line=line,
                field=render_path(i.path),
            )
        )
    skipped = []
    for d, what in dec.skipped:
        line = locator.line(d.source, d.doc, d.path)
        skipped.append(f"{d.source}:{line}: {what}")
    return LoadResult(cluster=dec.cluster(), diagnostics=diags, skipped=skipped, locator=locator)


def load(
    paths: Iterable[str],
    *,
    default_namespace: str = "default",
    stdin: BinaryIO | None = None,
) -> LoadResult:
    """Read, parse and decode manifests. Never raises for bad content: see ``diagnostics``.

    Raises:
        InputError: a path cannot be read, or holds binary data.
    """
    return load_texts(read_sources(paths, stdin=stdin), default_namespace=default_namespace)


def load_texts(sources: Iterable[SourceText], *, default_namespace: str = "default") -> LoadResult:
    """Like :func:`load`, from texts already in memory."""
    locator = Locator()
    docs: list[Document] = []
    diags: list[Diagnostic] = []
    for src in sources:
        locator.add(src)
        d, errs = parse_source(src)
        docs.extend(d)
        diags.extend(errs)
    return decode_documents(docs, locator, default_namespace=default_namespace, diagnostics=diags)
