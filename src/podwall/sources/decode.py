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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, BinaryIO

from podwall.core.model import (
    WORKLOAD_KINDS,
    Cluster,
    ContainerPort,
    Endpoint,
    Namespace,
    Protocol,
    Service,
    ServicePort,
)
from podwall.errors import (
    Diagnostic,
    FieldPath,
    ManifestError,
    Severity,
    SourceSpan,
    render_path,
)
from podwall.sources import validation as v
from podwall.sources.fields import NS_NAME_LABEL
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


class _Decoder(NetworkPolicyReader, TierPolicyReader):
    def __init__(self, default_namespace: str) -> None:
        super().__init__(default_namespace)
        self.skipped: list[tuple[Document, str]] = []
        self.namespaces: dict[str, Namespace] = {}
        self.raw_endpoints: list[_Raw] = []
        self.services: list[Service] = []


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
        elif tier_kind(kind, api):
            self.tier_policy(kind, api, data)
        elif kind == "Node" and group == "":
            self.node_object(data)
        else:
            self.skipped.append((doc, f"{api} {kind}"))

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
        tier_policies, nodes = self.tier_objects()
        return Cluster(
            namespaces=MappingProxyType(dict(sorted(namespaces.items()))),
            endpoints=tuple(endpoints),
            policies=tuple(p for p in self.policies if last_policy[p.key] is p),
            services=tuple(s for s in self.services if last_service[s.key] is s),
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
