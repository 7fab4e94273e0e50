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

import dataclasses
import functools
import gc
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, BinaryIO

from podwall.core.model import (
    WORKLOAD_KINDS,
    Cluster,
    ContainerPort,
    Endpoint,
    EndpointAddress,
    EndpointPort,
    Namespace,
    Protocol,
    Service,
    ServicePort,
)
from podwall.core.selectors import matches as selector_matches
from podwall.errors import (
    Diagnostic,
    FieldPath,
    InputError,
    ManifestError,
    Severity,
    SourceSpan,
    render_path,
)
from podwall.sources import kinds
from podwall.sources import validation as v
from podwall.sources.fields import INT32_MAX, INT32_MIN, NS_NAME_LABEL, WRITTEN
from podwall.sources.manifests import (
    Document,
    Locator,
    SourceText,
    parse_source,
    read_sources,
)
from podwall.sources.netpol import NetworkPolicyReader
from podwall.sources.tiers import TierPolicyReader, tier_kind


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
        return any(d.code in ("yaml", "type", "read", "empty") for d in self.errors)

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


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(_OCTET + r"(?:\." + _OCTET + "){3}")
_PROTOCOLS = {p.value: p for p in Protocol}
_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
_SELECTOR_REQUIRED = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
_SELECTOR_MISMATCH = "`selector` does not match template `labels`"


class _Decoder(NetworkPolicyReader, TierPolicyReader):
    def __init__(self, default_namespace: str) -> None:
        super().__init__(default_namespace)
        self.skipped: list[tuple[Document, str]] = []
        self.namespaces: dict[str, Namespace] = {}
        self.raw_endpoints: list[_Raw] = []
        self.services: list[Service] = []
        self.endpoints_by_service: dict[tuple[str, str], list[EndpointAddress]] = {}
        self.slices_by_service: dict[tuple[str, str], list[EndpointAddress]] = {}
        self._handlers = self.handlers()


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
        checked = kinds.check(api, kind)
        if checked.error is not None:
            self.issue(("apiVersion",), checked.error, code="kind")
            return
        handler = self._handlers.get(checked.kind or "")
        if handler is None:
            self.other_kind(doc, api, kind, data)
            return
        handler(data)

    def other_kind(self, doc: Document, api: str, kind: str, data: Mapping[str, Any]) -> None:
        """A kind outside :data:`kinds.SERVED`: a tier policy (``policy.networking.k8s.io``), or
        one podwall does not read (a CRD, a ConfigMap), skipped and listed with -v."""
        if tier_kind(kind, api):
            self.tier_policy(kind, api, data)
        else:
            self.skipped.append((doc, f"{api} {kind}"))

    def handlers(self) -> dict[str, Callable[[Mapping[str, Any]], None]]:
        """kind → the method that reads it (the kinds of :data:`kinds.SERVED`)."""
        out: dict[str, Callable[[Mapping[str, Any]], None]] = {
            "NetworkPolicy": self.network_policy,
            "Namespace": self.namespace_object,
            "Pod": self.pod,
            "Service": self.service,
            "Endpoints": self.endpoints_object,
            "EndpointSlice": self.endpoint_slice,
            "Node": self.node_object,
        }
        for k in WORKLOAD_KINDS:
            out[k] = functools.partial(self.workload, k)
        return out

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
                    if p.__class__ is dict:  # the common, well-typed case, without the accessors
                        num, pr, pn = p.get("containerPort"), p.get("protocol", "TCP"), p.get("name")
                        proto = _PROTOCOLS.get(pr) if pr.__class__ is str else None
                        if (num.__class__ is int and INT32_MIN <= num <= INT32_MAX and proto is not None
                                and (pn is None or pn.__class__ is str)):
                            out.append(ContainerPort(port=num, protocol=proto, name=pn or None))
                            continue
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
        if value is None:
            return Protocol.TCP
        known = _PROTOCOLS.get(value) if isinstance(value, str) else None
        if known is not None:
            return known
        s = self.string(value, path)
        if s is None:
            return Protocol.TCP
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
            if _IPV4.fullmatch(ip):  # the common case, without building an address object
                good.append(ip)
                continue
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
        if kind in _SELECTOR_REQUIRED:
            self.workload_selector(kind, spec, tlabels, "template" in spec)
        elif kind == "ReplicationController":
            rc_sel = self.string_map(spec.get("selector"), ("spec", "selector"))
            if rc_sel and any(tlabels.get(k) != val for k, val in rc_sel.items()):
                self.issue(("spec", "template", "metadata", "labels"), v.invalid(tlabels, _SELECTOR_MISMATCH))
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

    def workload_selector(
        self, kind: str, spec: Mapping[str, Any], tlabels: Mapping[str, str], has_template: bool
    ) -> None:
        """apps/v1: ``spec.selector`` is required, not empty, and selects the template's labels
        (``ValidateDeploymentSpec`` and its siblings, ``ValidatePodTemplateSpecForReplicaSet``)."""
        if spec.get("selector") is None:
            self.issue(("spec", "selector"), v.required())
            return
        sel = self.selector(spec.get("selector"), ("spec", "selector"))
        if sel is None:
            return
        if sel.is_empty:
            noun = "deployment" if kind == "ReplicaSet" else kind.lower()
            self.issue(("spec", "selector"), v.invalid(spec.get("selector"), f"empty selector is invalid for {noun}"))
            return
        if not has_template:
            self.issue(("spec", "template"), v.required())
        elif not selector_matches(sel, tlabels):
            self.issue(("spec", "template", "metadata", "labels"), v.invalid(dict(tlabels), _SELECTOR_MISMATCH))

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
        stype = self.string(spec.get("type"), ("spec", "type")) or "ClusterIP"
        if stype not in _SERVICE_TYPES:
            self.issue(("spec", "type"), v.unsupported(stype, list(_SERVICE_TYPES)))
        external = self.string(spec.get("externalName"), ("spec", "externalName")) if stype == "ExternalName" else None
        if stype == "ExternalName" and not external:
            self.issue(("spec", "externalName"), v.required())
        self.remember("Service", ns, name)
        self.services.append(
            Service(
                namespace=ns,
                name=name,
                selector=MappingProxyType(selector) if selector is not None else None,
                ports=tuple(ports),
                span=self.span(),
                type=stype,
                external_name=external or None,
            )
        )

    def endpoint_ports(self, value: Any, path: FieldPath) -> tuple[EndpointPort, ...]:
        out = []
        for i, p in enumerate(self.seq(value, path)):
            pm = self.mapping(p, (*path, i))
            if pm is None:
                continue
            num = self.integer(pm.get("port"), (*path, i, "port"))
            if num is None:  # (an EndpointSlice port without a number means "all ports": not modelled)
                continue
            out.append(
                EndpointPort(
                    name=self.string(pm.get("name"), (*path, i, "name")) or None,
                    port=num,
                    protocol=self.protocol(pm.get("protocol"), (*path, i, "protocol")) or Protocol.TCP,
                )
            )
        return tuple(out)

    def target_ref(self, value: Any, path: FieldPath, ns: str) -> str | None:
        ref = self.mapping(value, path)
        if not ref or ref.get("kind") != "Pod" or not isinstance(ref.get("name"), str):
            return None
        rns = ref.get("namespace") if isinstance(ref.get("namespace"), str) else ns
        return f"{rns}/{ref['name']}"

    def endpoints_object(self, data: Mapping[str, Any]) -> None:
        """v1 Endpoints: each ready address of a subset serves each port of that subset
        (``notReadyAddresses`` receive no traffic from kube-proxy)."""
        name, ns, _l, _a, _ = self.metadata(data, namespaced=True)
        if not name:
            return
        addresses: list[EndpointAddress] = []
        for i, sub in enumerate(self.seq(data.get("subsets"), ("subsets",))):
            sm = self.mapping(sub, ("subsets", i))
            if sm is None:
                continue
            ports = self.endpoint_ports(sm.get("ports"), ("subsets", i, "ports"))
            for j, a in enumerate(self.seq(sm.get("addresses"), ("subsets", i, "addresses"))):
                am = self.mapping(a, ("subsets", i, "addresses", j))
                ip = self.string(am.get("ip"), ("subsets", i, "addresses", j, "ip")) if am else None
                if am and ip:
                    target = self.target_ref(am.get("targetRef"), ("subsets", i, "addresses", j, "targetRef"), ns)
                    addresses.append(EndpointAddress(ip=ip, target=target, ports=ports))
        self.remember("Endpoints", ns, name)
        self.endpoints_by_service[(ns, name)] = addresses

    def endpoint_slice(self, data: Mapping[str, Any]) -> None:
        """discovery.k8s.io/v1 EndpointSlice, tied to its Service by the
        ``kubernetes.io/service-name`` label; endpoints whose ``conditions.ready`` is false
        receive no traffic."""
        name, ns, labels, _a, _ = self.metadata(data, namespaced=True)
        if not name:
            return
        svc = labels.get("kubernetes.io/service-name")
        if not svc:
            assert self.doc is not None
            self.skipped.append((self.doc, f"EndpointSlice {ns}/{name} (no kubernetes.io/service-name label)"))
            return
        family = self.string(data.get("addressType"), ("addressType",))
        ports = self.endpoint_ports(data.get("ports"), ("ports",))
        out = self.slices_by_service.setdefault((ns, svc), [])
        if family == "FQDN":  # deprecated, and not something kube-proxy routes to
            return
        for i, e in enumerate(self.seq(data.get("endpoints"), ("endpoints",))):
            em = self.mapping(e, ("endpoints", i))
            if em is None:
                continue
            cond = self.mapping(em.get("conditions"), ("endpoints", i, "conditions")) or {}
            if cond.get("ready") is False:
                continue
            target = self.target_ref(em.get("targetRef"), ("endpoints", i, "targetRef"), ns)
            for j, ip in enumerate(self.seq(em.get("addresses"), ("endpoints", i, "addresses"))):
                text = self.list_string(ip, ("endpoints", i, "addresses", j))
                if text:
                    out.append(EndpointAddress(ip=text, target=target, ports=ports))

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
        folded: dict[int, list[str]] = {}
        for r in self.raw_endpoints:
            t = top[id(r)]
            if t is not r:
                extra_ips.setdefault(id(t), []).extend(r.ips)
                folded.setdefault(id(t), []).append(f"{r.kind}/{r.name}")

        def absent_owner(r: _Raw) -> str | None:
            for kind, name in r.owners:
                if kind == "Node":  # a mirror pod (a static pod, owned by its node): a pod
                    continue
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
                    folded=tuple(folded.get(id(r), ())),
                )
            )
        return out

    def with_addresses(self, svc: Service) -> Service:
        """The Service with the addresses kube-proxy would use: its EndpointSlices', or without
        any, its Endpoints object's."""
        key = (svc.namespace, svc.name)
        found = self.slices_by_service.get(key)
        if found is None:
            found = self.endpoints_by_service.get(key)
        return svc if found is None else dataclasses.replace(svc, addresses=tuple(found))

    def last(self, svc: Service, last: Mapping[str, Service]) -> bool:
        """True for the last definition of a Service (a redefined one replaces the earlier)."""
        return last[svc.key].span is svc.span

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
        last_service = {s.key: self.with_addresses(s) for s in self.services}
        tier_policies, nodes = self.tier_objects()
        return Cluster(
            namespaces=MappingProxyType(dict(sorted(namespaces.items()))),
            endpoints=tuple(endpoints),
            policies=tuple(p for p in self.policies if last_policy[p.key] is p),
            services=tuple(last_service[s.key] for s in self.services if self.last(s, last_service)),
            tier_policies=tier_policies,
            nodes=nodes,
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
        message = i.message
        if i.written is not None:
            text = locator.scalar(i.doc.source, i.doc.doc, i.doc.path + i.path)
            message = message.replace(WRITTEN, i.written if text is None else text)
        if i.quote is not None:
            written = locator.scalar(i.doc.source, i.doc.doc, i.doc.path + i.path)
            message += f' (quote it: "{i.quote if written is None else written}")'
        diags.append(
            Diagnostic(
                severity=i.severity,
                code=i.code,
                message=message,
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


def check_namespace(namespace: str) -> None:
    """The default namespace (``-n``) must be a namespace name: a DNS-1123 label.

    Raises:
        InputError: it is not.
    """
    problems = v.is_dns1123_label(namespace)
    if problems:
        raise InputError(f"invalid namespace {v.go_quote(namespace)} (-n): {'; '.join(problems)}")


def load(
    paths: Iterable[str],
    *,
    default_namespace: str = "default",
    stdin: BinaryIO | None = None,
) -> LoadResult:
    """Read, parse and decode manifests. Never raises for bad content: see ``diagnostics``.

    Raises:
        InputError: a path cannot be read, holds binary data, or ``default_namespace`` is not
            a namespace name.
    """
    paths = list(paths)
    check_namespace(default_namespace)
    sources = read_sources(paths, stdin=stdin)
    return load_texts(sources, default_namespace=default_namespace, named=paths)


def load_texts(
    sources: Iterable[SourceText], *, default_namespace: str = "default", named: Iterable[str] | None = None
) -> LoadResult:
    """Like :func:`load`, from texts already in memory (``named``: the paths the user gave,
    for the message when they hold no object at all)."""
    check_namespace(default_namespace)
    locator = Locator()
    docs: list[Document] = []
    diags: list[Diagnostic] = []
    sources = list(sources)
    was_enabled = gc.isenabled()
    gc.disable()  # parsing allocates millions of objects that all live on: no cycles to find
    try:
        for src in sources:
            diags.extend(src.warnings)
            d, errs = parse_source(src, locator)
            docs.extend(d)
            diags.extend(errs)
        if not docs and not any(x.severity is Severity.ERROR for x in diags):
            diags.append(_nothing_read(sources, list(named) if named is not None else None))
        return decode_documents(docs, locator, default_namespace=default_namespace, diagnostics=diags)
    finally:
        if was_enabled:
            gc.freeze()  # what loading built lives on: keep later collections from walking it
            gc.enable()


def _nothing_read(sources: list[SourceText], named: list[str] | None) -> Diagnostic:
    where = ", ".join(named) if named else ", ".join(s.name for s in sources) or "the input"
    if not sources:
        msg = f"no manifest files (.yaml, .yml, .json) in {where}: nothing to read"
    else:
        msg = f"no Kubernetes objects in {where}"
    return Diagnostic(
        severity=Severity.ERROR, code="empty", message=msg, file=sources[0].name if sources else where,
        line=1 if sources else 0,
    )
