"""The report's graph as text for documentation and pull requests: Graphviz dot and Mermaid.

Both read a ``Report`` document (:mod:`podwall.report.document`): namespaces become clusters
(dot) or subgraphs (Mermaid), nodes are workloads and bare pods, edges the allowed connections
labelled with their ports. Colours follow the HTML page: green fill ingress isolated, red fill
ingress open; a dashed red border egress open. Deterministic output, in the document's order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from podwall.report import portsets

_FILL = {"isolated": "#dcfce7", "mixed": "#fef9c3", "open": "#fee2e2"}
_BORDER = {"isolated": ("#15803d", ""), "mixed": ("#a16207", ",dotted"), "open": ("#b91c1c", ",dashed")}


def _q(text: str) -> str:
    """A dot double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _label(node: dict[str, Any]) -> str:
    if node["kind"] == "External":
        return str(node["name"])
    kind = "pod" if node["kind"] == "Pod" else str(node["kind"]).lower()
    pods = f" x{node['pods']}" if node["kind"] != "Pod" and node.get("pods", 0) > 1 else ""
    return f"{node['name']}\n{kind}{pods}"


def _edges(doc: dict[str, Any], externals: bool) -> Iterable[dict[str, Any]]:
    yield from doc["edges"]
    if externals:
        yield from doc.get("external_edges", ())


def render_dot(doc: dict[str, Any], *, externals: bool = True) -> str:
    lines = [
        "digraph podwall {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.8];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, penwidth=1.6];',
        '  edge [fontname="Helvetica", fontsize=9, color="#64748b", fontcolor="#334155", arrowsize=0.7];',
    ]
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for n in doc["nodes"]:
        by_ns.setdefault(n["namespace"], []).append(n)
    for k, (ns, members) in enumerate(by_ns.items()):
        lines.append(f"  subgraph cluster_{k} {{")
        lines.append(
            f'    label={_q(ns)}; style="rounded,filled"; fillcolor="#eef2ff"; color="#a5b4fc"; fontcolor="#3730a3";'
        )
        for n in members:
            color, style = _BORDER[n["isolation"]["egress"]]
            fill = _FILL[n["isolation"]["ingress"]]
            attrs = f'label={_q(_label(n))}, fillcolor="{fill}", color="{color}", style="rounded,filled{style}"'
            lines.append(f"    {_q(n['id'])} [{attrs}];")
        lines.append("  }")
    if externals and doc.get("externals"):
        lines.append("  subgraph cluster_outside {")
        lines.append('    label="outside the cluster"; style="rounded,dashed"; color="#94a3b8"; fontcolor="#475569";')
        for n in doc["externals"]:
            attrs = f'label={_q(n["name"])}, shape=box, style="filled", fillcolor="#e2e8f0", color="#475569"'
            lines.append(f"    {_q(n['id'])} [{attrs}];")
        lines.append("  }")
    for e in _edges(doc, externals):
        attrs = f"label={_q(portsets.text(e['allowed']))}"
        if e.get("external"):
            attrs += ", style=dashed"
        lines.append(f"  {_q(e['from'])} -> {_q(e['to'])} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _m(text: str) -> str:
    """A Mermaid quoted label (quotes and angle brackets as entities, newlines as <br/>)."""
    esc = text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return '"' + esc.replace("\n", "<br/>") + '"'


def render_mermaid(doc: dict[str, Any], *, externals: bool = True) -> str:
    ids: dict[str, str] = {}

    def nid(key: str) -> str:
        got = ids.get(key)
        if got is None:
            got = ids[key] = f"n{len(ids)}"
        return got

    lines = ["flowchart LR"]
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for n in doc["nodes"]:
        by_ns.setdefault(n["namespace"], []).append(n)
    classes: dict[str, list[str]] = {}
    for k, (ns, members) in enumerate(by_ns.items()):
        lines.append(f"  subgraph ns{k}[{_m(ns)}]")
        for n in members:
            lines.append(f"    {nid(n['id'])}({_m(_label(n))})")
            cls = f"in_{n['isolation']['ingress']}_out_{n['isolation']['egress']}"
            classes.setdefault(cls, []).append(nid(n["id"]))
        lines.append("  end")
    if externals and doc.get("externals"):
        lines.append(f"  subgraph outside[{_m('outside the cluster')}]")
        for n in doc["externals"]:
            lines.append(f"    {nid(n['id'])}[/{_m(n['name'])}/]")
        lines.append("  end")
    for e in _edges(doc, externals):
        arrow = "-.->" if e.get("external") else "-->"
        lines.append(f"  {nid(e['from'])} {arrow}|{_m(portsets.text(e['allowed']))}| {nid(e['to'])}")
    for cls, members_ids in sorted(classes.items()):
        ingress, egress = cls[3:].split("_out_")
        stroke, style = _BORDER[egress]
        dash = ",stroke-dasharray: 4 3" if style else ""
        lines.append(f"  classDef {cls} fill:{_FILL[ingress]},stroke:{stroke},stroke-width:2px{dash}")
        lines.append(f"  class {','.join(members_ids)} {cls}")
    return "\n".join(lines) + "\n"


__all__ = ["render_dot", "render_mermaid"]
