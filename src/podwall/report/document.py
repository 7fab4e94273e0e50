"""The data behind ``podwall report``: one JSON document (kind ``Report``) that the page draws.

Everything the page shows is decided here, in Python, with the same code the commands use, so
that the page and the CLI cannot disagree:

* nodes are the rows of ``podwall matrix --by workload`` (a workload, or a pod that no
  workload in the input owns; pods owned by a workload that is not in the input are grouped
  under it, as ``matrix`` does) or, with ``by="pod"``, every endpoint;
* an edge is a cell of that matrix whose state is ``all`` or ``some``; its ``allowed`` is the
  port set (in the encoding of :mod:`podwall.report.portsets`) that some pod of the source may
  open to some pod of the destination, among the ports checked (see ``ports``);
* an explanation is the text of ``podwall explain`` (:func:`podwall.report.render.explain_text`)
  for a representative pair of endpoints of the cell, with the command that reproduces it;
* lint findings are those of :func:`podwall.core.lint.lint`, linked to nodes and policies.

Large clusters: the document always holds every node and edge; above ``graph_limit`` nodes
the page starts with namespaces collapsed (it says so). Explanations are precomputed up to
``explain_limit`` (allowed connections first, then denied cells while the budget lasts); past
it the page prints the ``podwall explain`` command instead of the text.

Pure: no I/O. The caller loads the input and passes the engine and matrix in.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from podwall.core.connectivity import AddressRange
from podwall.core.diff import Diff
from podwall.core.evaluate import Engine
from podwall.core.lint import Finding
from podwall.core.matrix_aggregate import groups
from podwall.core.matrix_ports import Grouped, compile_connectivity
from podwall.core.model import (
    WORKLOAD_KINDS,
    Address,
    Direction,
    Endpoint,
    Policy,
    Protocol,
    Rule,
    Target,
    Tier,
    TierPolicy,
    TierRule,
)
from podwall.core.portsets import PortSet
from podwall.core.reachability import ClassMatrix, PortKey
from podwall.errors import SourceSpan
from podwall.report import portsets
from podwall.report.fixes import fix_yaml
from podwall.report.render import explain_text
from podwall.report.serialize import document

KIND = "Report"
WORLD = Address(ip=ipaddress.ip_address("192.0.2.1"))
"""The "anywhere outside" address behind a node's ``open_to_all`` (TEST-NET-1, RFC 5737)."""

LineOf = Callable[..., int]
_KIND_OF = {k.lower(): k for k in WORKLOAD_KINDS}
_CODE_STATE = {0: "n/a", 1: "all", 2: "none"}
_SYMBOL = {0: "-", 1: ".", 2: "X"}
RULE_LINES_LIMIT = 400
"""Objects and rules get their line numbers (re-reading the YAML with positions) up to this many
nodes, and rules; above, the file only (the page stays as fast to build as the matrix)."""


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """What to put in the report (the CLI fills this from its flags)."""

    by: str = "workload"
    """``workload`` (as ``matrix --by workload``) or ``pod`` (every endpoint)."""
    services: bool = False
    """Add Services as nodes, linked to the nodes they select."""
    graph_limit: int = 400
    """Above this many nodes the page opens with namespaces collapsed."""
    explain_limit: int = 1_000
    """How many explanations to precompute at most."""
    ports_per_cell: int = 4
    """Explanations per edge or cell: its first ports."""
    inputs: tuple[str, ...] = ()
    """The paths as given (for the ``podwall explain`` commands the page prints)."""
    namespace: str = "default"
    title: str = ""
    lint_ran: bool = True
    """Whether the findings passed in are lint's (False: lint was not run)."""
    generator: str = "podwall"
    """Who wrote it (the CLI puts its version in)."""


@dataclass
class _Groups:
    """Endpoints grouped into the matrix's rows, with the class structure beneath."""

    keys: list[str]
    of: list[int]
    members: list[list[int]]
    codes: np.ndarray[Any, np.dtype[np.uint8]]
    classes_of: list[list[tuple[int, list[int]]]] = field(default_factory=list)
    """Per group: ``(class, member endpoint indices in that class)``."""


def _group(m: ClassMatrix, by: str, state: np.ndarray[Any, np.dtype[np.uint8]]) -> _Groups:
    """Group endpoints and combine class-pair states, as ``matrix --by`` does.

    A group pair's state is the OR (bit flags: 1 all, 2 none, 4 some, 0 nothing to check) of
    its class pairs' states, leaving out a pod's pair with itself (a pod always reaches
    itself): a (group, class) with exactly one member that is a pod does not pair with itself.
    """
    keys, of = groups(m, by)
    members: list[list[int]] = [[] for _ in keys]
    for i, g in enumerate(of):
        members[g].append(i)
    comp = m.compiled
    cls = comp.classes.cls.tolist()
    classes_of: list[list[tuple[int, list[int]]]] = []
    for mem in members:
        by_cls: dict[int, list[int]] = {}
        for i in mem:
            by_cls.setdefault(cls[i], []).append(i)
        classes_of.append(list(by_cls.items()))
    n = len(keys)
    pair_g = np.asarray([g for g, cs in enumerate(classes_of) for _ in cs], dtype=np.int64)
    pair_c = np.asarray([c for cs in classes_of for c, _ in cs], dtype=np.int64)
    if not len(pair_c):
        return _Groups(keys, of, members, np.zeros((n, n), dtype=np.uint8), classes_of)
    starts = np.flatnonzero(np.r_[True, pair_g[1:] != pair_g[:-1]])
    by_rows = np.bitwise_or.reduceat(state[pair_c], starts, axis=0)
    codes = np.bitwise_or.reduceat(by_rows[:, pair_c], starts, axis=1).astype(np.uint8)
    for g, cs in enumerate(classes_of):
        lonely = [len(mem) == 1 and m.endpoints[mem[0]].is_pod for _, mem in cs]
        if not any(lonely):
            continue
        code = 0
        for a, (ca, _) in enumerate(cs):
            for b, (cb, _) in enumerate(cs):
                if a == b and lonely[a]:
                    continue
                code |= int(state[ca, cb])
        codes[g, g] = code
    return _Groups(keys, of, members, codes, classes_of)


def _state(code: int) -> str:
    return _CODE_STATE.get(code, "some")


ALL_PEERS = {Direction.INGRESS: "all sources", Direction.EGRESS: "all destinations"}


def _tier_rule_json(rule: TierRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "action": rule.action.value,
        "peers": [str(p) for p in rule.peers],
        "ports": [str(p) for p in rule.ports] if rule.ports is not None else ["all ports"],
        "line": rule.span.line if rule.span is not None else 0,
    }


def _rule_json(rule: Rule, direction: Direction, line_of: LineOf | None, pol: Policy, i: int) -> dict[str, Any]:
    field_name = "ingress" if direction is Direction.INGRESS else "egress"
    line = line_of(pol.span, "spec", field_name, i) if line_of is not None and pol.span is not None else 0
    return {
        "peers": [str(p) for p in rule.peers] or [ALL_PEERS[direction]],
        "ports": [str(s) for s in rule.ports] or ["all ports"],
        "line": line,
    }


def _span_json(span: SourceSpan | None, line_of: LineOf | None = None) -> dict[str, Any]:
    if span is None:
        return {"file": "", "line": 0}
    return {"file": span.file, "line": span.line or (line_of(span) if line_of is not None else 0)}


class _Builder:
    def __init__(
        self,
        engine: Engine,
        m: ClassMatrix,
        findings: Sequence[Finding],
        line_of: LineOf | None,
        options: ReportOptions,
        ranges: tuple[AddressRange, ...] | None = None,
    ) -> None:
        self.engine = engine
        self.m = m
        self.findings = findings
        self.line_of = line_of
        self.opt = options
        self.states = m.compiled.states()
        self.g = _group(m, options.by, self.states)
        self.explanations: list[dict[str, Any]] = []
        self.explain_budget = options.explain_limit
        self.skipped_explanations = 0
        self.node_ports: list[portsets.PortSetJSON] = []
        # a line number needs the YAML re-read with positions: worth it for inputs a person reads
        self.object_lines = line_of if len(self.g.keys) <= RULE_LINES_LIMIT else None
        # per group: (connectivity target, members) units; ranges are groups of one target
        self.units: list[list[tuple[int, list[Target]]]] = []
        cm = self.cm = compile_connectivity(engine.cluster, engine.options, m.endpoints, ranges=ranges)
        self.grouped = Grouped(m.endpoints, cm, options.by)
        self.names: list[str] = self.grouped.names
        if self.names[: len(self.g.keys)] != self.g.keys:  # pragma: no cover - both group the same endpoints
            raise AssertionError("connectivity groups differ from the matrix's")
        ccls = cm.classes.cls.tolist()
        for mem in self.g.members:
            by_t: dict[int, list[Target]] = {}
            for i in mem:
                by_t.setdefault(ccls[i], []).append(m.endpoints[i])
            self.units.append(list(by_t.items()))
        for k, r in enumerate(cm.ranges):
            self.units.append([(cm.n + k, [r.representative])])
        self.jobs: list[tuple[int, int, dict[str, int], Endpoint | Address, Endpoint | Address, str, int]] = []
        comp = m.compiled
        self.reps = comp.classes.reps
        self.checked = comp.checked

    # -- explanations ------------------------------------------------------------------------
    def command(self, src: str, dst: str, protocol: str, port: int) -> str:
        words = ["podwall", "explain", *self.opt.inputs]
        if self.opt.namespace != "default":
            words += ["-n", self.opt.namespace]
        words += ["--from", src, "--to", dst, "-p", str(port)]
        if protocol != "TCP":
            words += ["--protocol", protocol]
        return shlex.join(words)

    def explain(self, into: dict[str, int], src: Target, dst: Target, protocol: str, port: int, rank: int) -> None:
        """Queue an explanation of ``src -> dst`` for ``into[protocol/port]`` (lower rank first)."""
        self.jobs.append((rank, len(self.jobs), into, src, dst, protocol, port))

    def run_jobs(self) -> None:
        """Compute the queued explanations, most wanted first, while the budget lasts."""
        self.jobs.sort(key=lambda j: (j[0], j[1]))
        for _, _, into, src, dst, protocol, port in self.jobs:
            name = f"{protocol}/{port}"
            if name in into:
                continue
            idx = self._explain(src, dst, protocol, port)
            if idx is None:
                self.skipped_explanations += 1
            else:
                into[name] = idx
        self.jobs = []

    def _explain(self, src: Endpoint | Address, dst: Endpoint | Address, protocol: str, port: int) -> int | None:
        if self.explain_budget <= 0:
            return None
        self.explain_budget -= 1
        v = self.engine.verdict(src, dst, port, Protocol(protocol))
        self.explanations.append(
            {
                "from": src.key,
                "to": dst.key,
                "protocol": protocol,
                "port": port,
                "allowed": v.allowed,
                "text": explain_text(v),
                "command": self.command(src.key, dst.key, protocol, port),
            }
        )
        return len(self.explanations) - 1

    # -- nodes -----------------------------------------------------------------------------
    def node(self, g: int) -> dict[str, Any]:
        key = self.g.keys[g]
        mem = self.g.members[g]
        eps = self.m.endpoints
        first = eps[mem[0]]
        parts = key.split("/")
        if len(mem) == 1 and first.key == key:
            kind, name = first.kind, first.name
        elif len(parts) == 3:
            kind, name = _KIND_OF.get(parts[1], parts[1]), parts[2]
        else:
            kind, name = "Group", key
        pods = sum(eps[i].replicas or 1 if not eps[i].is_pod else 1 for i in mem)
        iso: dict[str, set[bool]] = {"ingress": set(), "egress": set()}
        pols: dict[str, dict[str, None]] = {"ingress": {}, "egress": {}}
        ports: set[PortKey] = set()
        tiered: dict[str, None] = {}
        for c, _ in self.g.classes_of[g]:
            rep = self.reps[c]
            ports.update(self.checked[c])
            for d, word in ((Direction.INGRESS, "ingress"), (Direction.EGRESS, "egress")):
                sel = self.engine.selecting(rep, d)
                iso[word].add(bool(sel))
                for p in sel:
                    pols[word][p.key] = None
            for tier in Tier:  # cluster-wide policies whose subject selects it, in evaluation order
                for tp in self.engine.tiers.subject_of(rep, tier):
                    tiered[tp.key] = None
        labels = dict(sorted(first.labels.items()))
        return {
            "id": key,
            "namespace": first.namespace,
            "kind": kind,
            "name": name,
            "pods": pods,
            "endpoints": [eps[i].key for i in mem[:20]],
            "endpoint_count": len(mem),
            "labels": labels,
            "ports": portsets.from_keys(ports),
            "isolation": {
                w: ("isolated" if s == {True} else "open" if s == {False} else "mixed") for w, s in iso.items()
            },
            "policies": {w: list(p) for w, p in pols.items()},
            "tier_policies": list(tiered),
            "host_network": any(eps[i].host_network for i in mem),
            "open_to_all": False,
            "lint": [],
            **_span_json(first.span, self.object_lines),
        }

    def open_to_all(self, g: int) -> bool:
        """Ingress at ``g`` admits anything on every declared port: WORLD and every endpoint.

        Only the destination's side is judged (a source's own egress isolation does not make the
        destination less exposed); a node that declares no port is not open to anything.
        """
        cs = self.g.classes_of[g]
        if not cs or not all(self.checked[c] for c, _ in cs):
            return False
        for c, _ in cs:
            rep = self.reps[c]
            if not self.engine.selecting(rep, Direction.INGRESS):
                continue  # not isolated for ingress: everything may come in
            for proto, port in self.checked[c]:
                sources: list[Target] = [WORLD, *self.reps]
                for src in sources:
                    if not self.engine.direction(Direction.INGRESS, rep, src, rep, port, proto, explain=False).allowed:
                        return False
        return True

    # -- edges -----------------------------------------------------------------------------
    def _rep_pair(self, g: int, h: int, proto: Protocol, port: int) -> tuple[Target, Target] | None:
        """A member pair of groups ``g -> h`` whose connections contain ``proto/port``."""
        for ct, src_m in self.units[g]:
            for dt, dst_m in self.units[h]:
                if g == h and ct == dt and len(src_m) == 1 and isinstance(src_m[0], Endpoint) and src_m[0].is_pod:
                    continue
                if not self.cm.cell(ct, dt).contains(proto, port):
                    continue
                for a in src_m[:2]:
                    for b in dst_m[:2]:
                        if a is not b or (isinstance(a, Endpoint) and not a.is_pod):
                            return a, b
        return None

    def edge(self, g: int, h: int, allowed: PortSet) -> dict[str, Any]:
        n = len(self.g.keys)
        external = g >= n or h >= n
        checked = self.node_ports[h] if h < n else {}
        declared = PortSet.from_json(checked) if checked else PortSet.none()
        if h < n and g < n:
            state = _state(int(self.g.codes[g, h]))
        else:
            hit = allowed & declared
            state = "n/a" if declared.is_empty else "all" if hit == declared else "none" if hit.is_empty else "some"
        out: dict[str, Any] = {
            "from": self.names[g],
            "to": self.names[h],
            "allowed": allowed.to_json(),
            "checked": checked,
            "state": state,
            "explain": {},
        }
        if external:
            out["external"] = True
        wanted = portsets.first_ports((allowed & declared).to_json(), self.opt.ports_per_cell) or portsets.first_ports(
            allowed.to_json(), 1
        )
        for k, (proto, port) in enumerate(wanted):
            pair = self._rep_pair(g, h, Protocol(proto), port)
            if pair is not None:
                self.explain(out["explain"], pair[0], pair[1], proto, port, (1 if external else 0) if k == 0 else 3)
        return out

    def connections(self) -> list[tuple[int, int, PortSet]]:
        """``(g, h, allowed)`` for every group pair with something allowed (as ``matrix --ports all``)."""
        out: list[tuple[int, int, PortSet]] = []
        atoms = self.cm.atoms
        for g0, block in self.grouped.blocks():
            rows, cols = np.nonzero(block.any(axis=2))
            for r, h in zip(rows.tolist(), cols.tolist(), strict=True):
                out.append((g0 + r, h, atoms.portset(atoms.from_words(block[r, h]))))
        return out

    def denied_cell(self, g: int, h: int, into: dict[str, int], allowed_ports: Iterable[str]) -> None:
        """Queue explanations of the checked ports of ``g -> h`` that no edge allows (first ports)."""
        eps = self.m.endpoints
        src_i = self.g.members[g][0]
        dst_c, dst_m = self.g.classes_of[h][0]
        dst_i = dst_m[0]
        if src_i == dst_i and eps[src_i].is_pod:
            if len(dst_m) > 1:
                dst_i = dst_m[1]
            else:
                return
        have = set(allowed_ports)
        allowed = set(self.m.allowed(src_i, dst_i))
        k = 0
        for proto, port in self.checked[dst_c]:
            name = f"{proto.value}/{port}"
            if name in have or (proto, port) in allowed:
                continue
            if k + len(have) >= self.opt.ports_per_cell:
                break
            self.explain(into, eps[src_i], eps[dst_i], proto.value, port, 2 if k == 0 else 4)
            k += 1

    # -- external addresses ---------------------------------------------------------------
    def externals(self) -> list[dict[str, Any]]:
        """A node per address range (the address space as the policies' ipBlocks split it)."""
        nodes: list[dict[str, Any]] = []
        for r in self.cm.ranges if self.cm is not None else ():
            nodes.append(
                {
                    "id": r.key,
                    "namespace": None,
                    "kind": "External",
                    "name": range_label(r),
                    "address": r.representative.key,
                    "pods": 0,
                    "labels": {},
                    "ports": {},
                    "isolation": {"ingress": "open", "egress": "open"},
                    "policies": {"ingress": [], "egress": []},
                    "open_to_all": False,
                    "lint": [],
                    "file": "",
                    "line": 0,
                }
            )
        return nodes

    # -- the rest ----------------------------------------------------------------------------
    def policies(self, nodes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        selects: dict[str, dict[str, list[str]]] = {}
        for n in nodes:
            for word in ("ingress", "egress"):
                for p in n["policies"][word]:
                    selects.setdefault(p, {"ingress": [], "egress": []})[word].append(n["id"])
        out: list[dict[str, Any]] = []
        tier_selects: dict[str, list[str]] = {}
        for n in nodes:
            for key in n.get("tier_policies", ()):
                tier_selects.setdefault(key, []).append(n["id"])
        for tp in sorted(self.engine.cluster.tier_policies, key=TierPolicy.sort_key):
            out.append(
                {
                    "id": tp.key,
                    "tier": tp.tier.value,
                    "priority": tp.priority,
                    "kind": tp.api_kind,
                    "namespace": None,
                    "name": tp.name,
                    "types": [t for t, rules in (("Ingress", tp.ingress), ("Egress", tp.egress)) if rules],
                    "pod_selector": str(tp.subject),
                    "ingress": [_tier_rule_json(r) for r in tp.ingress],
                    "egress": [_tier_rule_json(r) for r in tp.egress],
                    "selects": {"ingress": tier_selects.get(tp.key, []), "egress": tier_selects.get(tp.key, [])},
                    "lint": [],
                    **_span_json(tp.span, self.object_lines),
                }
            )
        # a rule's line needs the YAML re-read with positions: worth it for what a person reads
        n_rules = sum(len(p.ingress) + len(p.egress) for p in self.engine.cluster.policies)
        line_of = self.line_of if n_rules <= RULE_LINES_LIMIT else None
        for pol in self.engine.cluster.policies:
            out.append(
                {
                    "id": pol.key,
                    "tier": "NetworkPolicy",
                    "namespace": pol.namespace,
                    "name": pol.name,
                    "types": sorted(t.value for t in pol.policy_types),
                    "pod_selector": str(pol.pod_selector),
                    "ingress": [_rule_json(r, Direction.INGRESS, line_of, pol, i) for i, r in enumerate(pol.ingress)],
                    "egress": [_rule_json(r, Direction.EGRESS, line_of, pol, i) for i, r in enumerate(pol.egress)],
                    "selects": selects.get(pol.key, {"ingress": [], "egress": []}),
                    "lint": [],
                    **_span_json(pol.span, line_of),
                }
            )
        return out

    def services(self, index: dict[str, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        nodes: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        eps = self.m.endpoints
        for svc in self.engine.cluster.services:
            targets: dict[str, None] = {}
            if svc.selector:
                for i, ep in enumerate(eps):
                    if ep.namespace == svc.namespace and matches_labels(svc.selector, ep.labels):
                        targets[self.g.keys[self.g.of[i]]] = None
            nodes.append(
                {
                    "id": svc.key,
                    "namespace": svc.namespace,
                    "kind": "Service",
                    "name": svc.name,
                    "pods": 0,
                    "labels": dict(svc.selector or {}),
                    "ports": portsets.from_keys((p.protocol, p.port) for p in svc.ports),
                    "isolation": {"ingress": "open", "egress": "open"},
                    "policies": {"ingress": [], "egress": []},
                    "open_to_all": False,
                    "lint": [],
                    **_span_json(svc.span, self.object_lines),
                }
            )
            links.extend({"from": svc.key, "to": t} for t in targets if t in index)
        return nodes, links

    def namespace_matrix(self) -> dict[str, Any]:
        ns = _group(self.m, "namespace", self.states)
        rows = ["".join(_SYMBOL.get(int(c), "~") for c in row) for row in ns.codes.tolist()]
        return {"groups": ns.keys, "rows": rows, "legend": "'.' all, 'X' none, '~' some, '-' nothing to check"}

    def build(self) -> dict[str, Any]:
        opt = self.opt
        n = len(self.g.keys)
        nodes = [self.node(g) for g in range(n)]
        self.node_ports = [node["ports"] for node in nodes]
        index = {node["id"]: k for k, node in enumerate(nodes)}
        for g in range(n):
            nodes[g]["open_to_all"] = self.open_to_all(g)
            nodes[g]["self_state"] = _state(int(self.g.codes[g, g]))
        conns = self.connections()
        all_edges = [self.edge(g, h, ps) for g, h, ps in conns]
        edges = [e for e in all_edges if not e.get("external")]
        ext_edges = [e for e in all_edges if e.get("external")]
        ext_nodes = self.externals()
        # denied cells (and the denied ports of partly open edges), while the budget lasts
        denied: list[dict[str, Any]] = []
        edge_at = {(e["from"], e["to"]): e for e in edges}
        dg, dh = np.nonzero(self.g.codes & 6)
        for queued, (g, h) in enumerate(zip(dg.tolist(), dh.tolist(), strict=True)):
            if queued >= opt.explain_limit:  # beyond the budget whatever the ranks: not queued at all
                break
            e = edge_at.get((self.g.keys[g], self.g.keys[h]))
            if e is not None:
                self.denied_cell(g, h, e["explain"], list(e["explain"]))
            else:
                cell: dict[str, Any] = {"from": self.g.keys[g], "to": self.g.keys[h], "explain": {}}
                self.denied_cell(g, h, cell["explain"], ())
                denied.append(cell)
        self.run_jobs()
        denied = [c for c in denied if c["explain"]]
        policies = self.policies(nodes)
        svc_nodes, svc_links = self.services(index) if opt.services else ([], [])
        lint = self.lint(nodes, index, policies)
        namespaces = []
        cluster = self.engine.cluster
        for name in sorted({node["namespace"] for node in nodes} | {p.namespace for p in cluster.policies}):
            members = [node for node in nodes if node["namespace"] == name]
            namespaces.append(
                {
                    "name": name,
                    "labels": dict(sorted(cluster.namespace_labels(name).items())),
                    "nodes": len(members),
                    "pods": sum(node["pods"] for node in members),
                    "policies": sum(1 for p in cluster.policies if p.namespace == name),
                }
            )
        total_explain = len(self.explanations) + self.skipped_explanations
        return document(
            KIND,
            {
                "generator": opt.generator,
                "title": opt.title or "podwall report",
                "inputs": list(opt.inputs),
                "default_namespace": opt.namespace,
                "lint_ran": opt.lint_ran,
                "by": opt.by,
                "ports": "all",
                "ports_note": (
                    "edges carry every connection allowed over the whole port space (as matrix --ports all), "
                    "cluster-wide tiers included; state and checked are about the destination's declared "
                    "container ports (as matrix)"
                ),
                "aggregated": n > opt.graph_limit,
                "limits": {
                    "graph_nodes": opt.graph_limit,
                    "explanations": opt.explain_limit,
                    "explained": len(self.explanations),
                    "not_explained": total_explain - len(self.explanations) if total_explain else 0,
                },
                "counts": {
                    "nodes": n,
                    "edges": len(edges),
                    "endpoints": len(self.m.endpoints),
                    "policies": len(cluster.policies),
                    "externals": len(ext_nodes),
                    "findings": len(lint),
                },
                "namespaces": namespaces,
                "nodes": nodes,
                "edges": edges,
                "externals": ext_nodes,
                "external_edges": ext_edges,
                "services": svc_nodes,
                "service_links": svc_links,
                "policies": policies,
                "lint": lint,
                "denied": denied,
                "explanations": self.explanations,
                "namespace_matrix": self.namespace_matrix(),
            },
        )

    def lint(
        self, nodes: list[dict[str, Any]], index: dict[str, int], policies: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        node_of_endpoint = {ep.key: self.g.keys[self.g.of[i]] for i, ep in enumerate(self.m.endpoints)}
        pol_index = {p["id"]: k for k, p in enumerate(policies)}
        out: list[dict[str, Any]] = []
        for f in self.findings:
            file, line = f.line(self.line_of) if self.line_of is not None else ("", 0)
            node = node_of_endpoint.get(f.endpoint) if f.endpoint else None
            k = len(out)
            out.append(
                {
                    "rule": f.rule,
                    "severity": f.severity.value,
                    "message": f.message,
                    "hint": f.hint,
                    "file": file,
                    "line": line,
                    "namespace": f.namespace,
                    "policy": f.policy,
                    "node": node,
                    "fix": fix_yaml(f.fix) if f.fix is not None else "",
                }
            )
            if node is not None and node in index:
                nodes[index[node]]["lint"].append(k)
            if f.policy is not None and f.policy in pol_index:
                policies[pol_index[f.policy]]["lint"].append(k)
        return out


def matches_labels(selector: dict[str, str] | Any, labels: Any) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def build_report(
    engine: Engine,
    m: ClassMatrix,
    *,
    findings: Sequence[Finding] = (),
    line_of: LineOf | None = None,
    options: ReportOptions | None = None,
    ranges: tuple[AddressRange, ...] | None = None,
) -> dict[str, Any]:
    """The ``Report`` document for a loaded cluster and its matrix (``reachability.matrix``).

    ``ranges``: the address ranges to split the outside into (default: the cluster's own; a diff
    passes those of both versions, :func:`podwall.core.connectivity.address_ranges`).
    """
    return _Builder(engine, m, findings, line_of, options or ReportOptions(), ranges).build()


def range_label(r: AddressRange) -> str:
    """A short name for an address range: its CIDRs (the first three, then how many more)."""
    nets: list[str] = []
    addr = ipaddress.IPv6Address if r.version == 6 else ipaddress.IPv4Address
    for lo, hi in r.ranges:
        nets.extend(str(n) for n in ipaddress.summarize_address_range(addr(lo), addr(hi)))
    if len(nets) > 3:
        return ", ".join(nets[:3]) + f" +{len(nets) - 3} more"
    return ", ".join(nets)


__all__ = ["KIND", "WORLD", "ReportOptions", "build_report"]


def _targets(engine: Engine) -> dict[str, Endpoint]:
    return {e.key: e for e in engine.cluster.endpoints}


def _resolve(key: str, eps: dict[str, Endpoint]) -> Endpoint | Address | None:
    hit = eps.get(key)
    if hit is not None:
        return hit
    try:
        return Address(ip=ipaddress.ip_address(key))
    except ValueError:
        return None


def add_diff(
    new: dict[str, Any],
    old: dict[str, Any],
    diff: Diff,
    new_engine: Engine,
    old_engine: Engine,
    *,
    base: str,
    causes: int = 2,
) -> dict[str, Any]:
    """``new`` with a ``diff`` section for the changes of ``diff`` (:func:`compute_diff` of the two).

    Each change keeps the diff's kind (``added``, ``removed``, ``changed``, ``new endpoint``,
    ``removed endpoint``; ``class`` folds the last two into added/removed for the colours), the
    port sets before and after, the policy-level causes, and, on its first changed ports, the
    ``podwall explain`` text of a representative pair before and after. The nodes only in
    ``old`` are listed so that the page can draw removed connections.
    """

    def rep(doc: dict[str, Any], node_id: str) -> str:
        for n in (*doc["nodes"], *doc.get("externals", ())):
            if n["id"] == node_id:
                return str(n.get("address") or (n.get("endpoints") or [node_id])[0])
        return node_id

    new_ids = {n["id"] for n in (*new["nodes"], *new.get("externals", ()))}
    in_cluster = {n["id"] for n in new["nodes"]} | {n["id"] for n in old["nodes"]}
    new_eps, old_eps = _targets(new_engine), _targets(old_engine)
    changes: list[dict[str, Any]] = []
    for c in diff.changes:
        plus, minus = c.opened.to_json(), c.closed.to_json()
        ch: dict[str, Any] = {
            "from": c.src,
            "to": c.dst,
            "change": c.change,
            "class": {"new endpoint": "added", "removed endpoint": "removed"}.get(c.change, c.change),
            "before": c.before.to_json(),
            "after": c.after.to_json(),
            "added": plus,
            "removed": minus,
            "external": c.src not in in_cluster or c.dst not in in_cluster,
            "policy_causes": [str(x) for x in c.causes],
            "causes": [],
        }
        side = new if c.src in new_ids and c.dst in new_ids else old
        src_key, dst_key = rep(side, c.src), rep(side, c.dst)
        for proto, port in (portsets.first_ports(plus, causes) + portsets.first_ports(minus, causes))[:causes]:
            cause: dict[str, Any] = {"port": f"{proto}/{port}"}
            for word, engine, eps in (("before", old_engine, old_eps), ("after", new_engine, new_eps)):
                s, d = _resolve(src_key, eps), _resolve(dst_key, eps)
                if s is None or d is None:
                    missing = src_key if s is None else dst_key
                    cause[word] = f"{missing} is not in the {'base' if word == 'before' else 'new input'}"
                    continue
                v = engine.verdict(s, d, port, Protocol(proto))
                cause[word] = explain_text(v)
                if word == "after":
                    cause["summary"] = v.reason()
            ch["causes"].append(cause)
        changes.append(ch)
    new_ids = {n["id"] for n in (*new["nodes"], *new.get("externals", ()))}
    old_nodes = [n for n in (*old["nodes"], *old.get("externals", ())) if n["id"] not in new_ids]
    out = dict(new)
    counts = {k: sum(1 for c in changes if c["class"] == k) for k in ("added", "removed", "changed")}
    out["diff"] = {"base": base, "counts": counts, "changes": changes, "old_nodes": old_nodes}
    kind_of = {(c["from"], c["to"]): c["class"] for c in changes}
    for e in (*out["edges"], *out.get("external_edges", ())):
        k = kind_of.get((e["from"], e["to"]))
        if k is not None:
            e["change"] = k
    return out
