"""The report page: one self-contained HTML file around a ``Report`` document.

Every script and style is inlined (the vendored cytoscape and fcose files, then the page's own
``assets/report.js`` and ``assets/report.css``), and the data travels as one JSON document in
``<script type="application/json" id="podwall-data">``, so the file opens from disk with no
network access, and the data can be pulled out and checked (:func:`extract_document`).
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import Any

VENDOR = ("layout-base", "cose-base", "cytoscape", "cytoscape-fcose")
"""Vendored scripts, in load order (each UMD bundle finds the previous one as a global)."""

DATA_ID = "podwall-data"


def _asset(name: str) -> str:
    return resources.files("podwall.report").joinpath("assets", name).read_text(encoding="utf-8")


def _json_for_script(doc: dict[str, Any]) -> str:
    """JSON that cannot end the ``<script>`` element it sits in (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _script(code: str) -> str:
    if re.search(r"</script", code, re.IGNORECASE):  # pragma: no cover - the vendored files are checked
        raise ValueError("an inlined script contains </script")
    return f"<script>\n{code}\n</script>"


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{generator}">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<header>
  <h1><span class="brand">podwall</span> {heading}</h1>
  <div class="summary" id="summary"></div>
  <nav class="tabs">
    <button data-view="graph" class="active">Graph</button>
    <button data-view="matrix">Matrix</button>
    <button data-view="findings">Findings <span class="count" id="count-findings">0</span></button>
    <button data-view="changes" id="tab-changes" hidden>Changes <span class="count" id="count-changes">0</span></button>
  </nav>
</header>
<div id="banner" hidden></div>
<main>
  <section class="view active" id="view-graph">
    <div class="toolbar">
      <input type="search" id="search" placeholder="find a workload (Enter)" size="28">
      <span class="sep"></span>
      <label><input type="checkbox" id="opt-externals"> external CIDRs</label>
      <label><input type="checkbox" id="opt-services"> Services</label>
      <label><input type="checkbox" id="opt-labels" checked> port labels</label>
      <span class="sep"></span>
      <button id="btn-expand">expand all</button>
      <button id="btn-collapse">collapse all</button>
      <button id="btn-layout">re-layout</button>
      <button id="btn-fit">fit</button>
    </div>
    <div class="graph-wrap">
      <div id="cy"></div>
      <div class="legend">
        <div><span class="sw" style="background:#dcfce7"></span> ingress isolated</div>
        <div><span class="sw" style="background:#fee2e2"></span> ingress open (no policy selects it)</div>
        <div><span class="sw" style="background:#fff;border-color:#15803d"></span> egress isolated
             <span class="sw" style="background:#fff;border-color:#b91c1c;border-style:dashed"></span>
             egress open</div>
        <div><span class="sw" style="background:#fff;outline:3px solid #dc2626;outline-offset:1px"></span>
             open to everything</div>
        <div><span class="sw" style="background:#fde68a;border-color:#f59e0b"></span> has lint findings</div>
        <div><span class="line" style="border-color:#94a3b8"></span> allowed (label: ports)
             <span class="line" style="border-color:#cbd5e1;border-top-width:1px"></span> every port</div>
        <div class="diff-only"><span class="line" style="border-color:#16a34a"></span> added
             <span class="line" style="border-color:#dc2626;border-top-style:dashed"></span> removed
             <span class="line" style="border-color:#d97706"></span> changed</div>
      </div>
      <div class="status" id="status">laying out…</div>
    </div>
  </section>
  <section class="view" id="view-matrix">
    <div class="toolbar">
      <label>rows and columns <select id="mx-by"><option value="workload">workloads</option>
        <option value="namespace">namespaces</option></select></label>
      <label>namespace <select id="mx-ns"><option value="">all</option></select></label>
      <label>port <input type="number" id="mx-port" min="1" max="65535" placeholder="any"></label>
      <label>protocol <select id="mx-proto"><option value="">any</option>
        <option>TCP</option><option>UDP</option><option>SCTP</option></select></label>
      <label><input type="checkbox" id="mx-denied"> only denied</label>
      <label><input type="checkbox" id="mx-open"> only open to everything</label>
      <span class="sep"></span><span id="mx-count" class="k"></span>
      <span class="k">'.' all checked ports, '~' some, 'X' none, '-' nothing to check (as podwall matrix)</span>
    </div>
    <div class="scroll" id="matrix-host"></div>
  </section>
  <section class="view" id="view-findings"><div class="scroll" id="findings-host"></div></section>
  <section class="view" id="view-changes"><div class="scroll" id="changes-host"></div></section>
  <aside id="details">
    <div class="placeholder">
      <p><b>Click a node</b> for the policies that select it and their rules.</p>
      <p><b>Click a connection</b> (or a matrix cell) for the reasoning behind it, the same text as
        <code>podwall explain</code>.</p>
      <p>Namespaces are the boxes; a collapsed namespace expands on click.</p>
    </div>
  </aside>
</main>
<script type="application/json" id="{data_id}">{data}</script>
{vendor}
{app}
</body>
</html>
"""


def render_html(doc: dict[str, Any]) -> str:
    """The page for a ``Report`` document (see :mod:`podwall.report.document`)."""
    title = str(doc.get("title") or "podwall report")
    vendor = "\n".join(_script(_asset(f"vendor/{name}.js")) for name in VENDOR)
    diff = doc.get("diff")
    heading = "report" + (f" (changes against {diff['base']})" if diff else "")
    page = PAGE.format(
        generator=html.escape(str(doc.get("generator", "podwall"))),
        title=html.escape(title),
        heading=html.escape(heading),
        css=_asset("report.css") + ("" if diff else "\n.diff-only { display: none !important; }"),
        data_id=DATA_ID,
        data=_json_for_script(doc),
        vendor=vendor,
        app=_script(_asset("report.js")),
    )
    return page


def extract_document(page: str) -> dict[str, Any]:
    """The ``Report`` document embedded in a page written by :func:`render_html`."""
    m = re.search(r'<script type="application/json" id="podwall-data">(.*?)</script>', page, re.DOTALL)
    if m is None:
        raise ValueError("no podwall-data document in the page")
    data: dict[str, Any] = json.loads(m.group(1))
    return data
