/* podwall report page: draws the embedded Report document (id "podwall-data").
 * Everything it shows was computed by podwall in Python; this script only lays it out,
 * filters it and looks things up. No network access. */
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("podwall-data").textContent);
  const $ = (sel, root) => (root || document).querySelector(sel);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false) e.append(kid instanceof Node ? kid : String(kid));
    return e;
  };

  // ---- indexes -------------------------------------------------------------------------
  const nodes = DATA.nodes, edges = DATA.edges;
  const externals = DATA.externals || [], extEdges = DATA.external_edges || [];
  const services = DATA.services || [];
  const diff = DATA.diff || null;
  const nodeById = new Map();
  for (const n of nodes) nodeById.set(n.id, n);
  for (const n of externals) nodeById.set(n.id, n);
  for (const n of services) nodeById.set(n.id, n);
  if (diff) for (const n of diff.old_nodes || []) if (!nodeById.has(n.id)) nodeById.set(n.id, Object.assign({ removed: true }, n));
  const policyById = new Map((DATA.policies || []).map((p) => [p.id, p]));
  const edgeAt = new Map();
  const allEdges = [];  // every connection the graph can draw: {edge, kind}
  edges.forEach((e) => { edgeAt.set(e.from + "\u0000" + e.to, e); allEdges.push(e); });
  extEdges.forEach((e) => { e.external = true; edgeAt.set(e.from + "\u0000" + e.to, e); allEdges.push(e); });
  const changeAt = new Map();
  if (diff) for (const c of diff.changes) {
    changeAt.set(c.from + "\u0000" + c.to, c);
    if (c.class === "removed") { const e = { from: c.from, to: c.to, allowed: c.before, state: "none", explain: {}, removed: true, external: !!c.external }; allEdges.push(e); }
  }
  const deniedAt = new Map((DATA.denied || []).map((d) => [d.from + "\u0000" + d.to, d]));
  const nsNames = DATA.namespaces.map((n) => n.name);
  const nodesByNs = new Map(nsNames.map((n) => [n, []]));
  for (const n of nodes) { if (!nodesByNs.has(n.namespace)) nodesByNs.set(n.namespace, []); nodesByNs.get(n.namespace).push(n); }
  if (diff) for (const n of diff.old_nodes || []) if (n.namespace && nodesByNs.has(n.namespace)) nodesByNs.get(n.namespace).push(nodeById.get(n.id));

  // ---- port sets (the diff encoding: {"TCP": [[lo, hi], ...]}) ------------------------------
  const PROTOS = ["TCP", "UDP", "SCTP"];
  function psText(s, max) {
    const parts = [];
    for (const p of PROTOS) {
      const r = (s || {})[p];
      if (!r || !r.length) continue;
      if (PROTOS.every((q) => s[q] && s[q].length === 1 && s[q][0][0] === 1 && s[q][0][1] === 65535)) return "all";
      if (r.length === 1 && r[0][0] === 1 && r[0][1] === 65535) { parts.push(p + " all"); continue; }
      parts.push(p + " " + r.map(([a, b]) => (a === b ? a : a + "-" + b)).join(","));
    }
    let t = parts.length ? parts.join("; ") : "none";
    if (max && t.length > max) t = t.slice(0, max - 1) + "\u2026";
    return t;
  }
  function psUnion(a, b) {
    const out = {};
    for (const p of PROTOS) {
      const r = [...((a || {})[p] || []), ...((b || {})[p] || [])].map((x) => [x[0], x[1]]).sort((x, y) => x[0] - y[0]);
      const m = [];
      for (const [lo, hi] of r) { if (m.length && lo <= m[m.length - 1][1] + 1) m[m.length - 1][1] = Math.max(m[m.length - 1][1], hi); else m.push([lo, hi]); }
      if (m.length) out[p] = m;
    }
    return out;
  }
  const psHas = (s, proto, port) => ((s || {})[proto] || []).some(([a, b]) => a <= port && port <= b);
  const psEmpty = (s) => !PROTOS.some((p) => (s || {})[p] && s[p].length);
  const psProto = (s, proto) => (s && s[proto] ? { [proto]: s[proto] } : {});
  const psCount = (s) => PROTOS.reduce((k, p) => k + ((s || {})[p] || []).reduce((a, [lo, hi]) => a + hi - lo + 1, 0), 0);

  // ---- header -----------------------------------------------------------------------------
  const c = DATA.counts;
  $("#summary").innerHTML = "";
  const inputs = (DATA.inputs || []).join(" ");
  const shortInputs = inputs.length > 70 ? (DATA.inputs || []).map((x) => x.split("/").slice(-2).join("/")).join(" ") : inputs;
  $("#summary").append(el("span", {},
    el("b", { text: c.nodes }), " ", DATA.by === "pod" ? "endpoints" : "workloads", " in ", el("b", { text: DATA.namespaces.length }), " namespaces \u00b7 ",
    el("b", { text: c.edges }), " allowed connections \u00b7 ", el("b", { text: c.policies }), " policies",
    c.externals ? [" \u00b7 ", el("b", { text: c.externals }), " external CIDRs"] : "",
    " \u00b7 ", el("span", { title: inputs, text: shortInputs.length > 90 ? shortInputs.slice(0, 89) + "\u2026" : shortInputs })));
  $("#count-findings").textContent = DATA.lint_ran === false ? "off" : (DATA.lint || []).length;
  if (diff) { $("#tab-changes").hidden = false; $("#count-changes").textContent = diff.changes.length; }
  const notes = [];
  if (DATA.aggregated) notes.push(`This cluster has ${c.nodes} ${DATA.by === "pod" ? "endpoints" : "workloads"} (more than ${DATA.limits.graph_nodes}): the graph starts with each namespace collapsed into one node. Click a namespace to expand it, or search for a workload.`);
  if (DATA.limits.not_explained) notes.push(`Explanations are embedded for ${DATA.limits.explained} connections (--explain-limit ${DATA.limits.explanations}); for the others the page shows the podwall explain command to run.`);
  if (notes.length) { $("#banner").hidden = false; $("#banner").textContent = notes.join(" "); }

  // ---- graph --------------------------------------------------------------------------------
  cytoscape.use(cytoscapeFcose);
  const state = {
    expanded: new Set(DATA.aggregated ? [] : nsNames),
    externals: !DATA.aggregated, services: services.length > 0 && !DATA.aggregated, labels: true,
  };
  const nsId = (ns) => "ns:" + ns;
  function visible(id) {
    const n = nodeById.get(id);
    if (!n || !n.namespace) return id;
    if (n.kind === "Service" && !state.services) return null;
    return state.expanded.has(n.namespace) ? id : nsId(n.namespace);
  }
  function nodeClasses(n) {
    const k = [];
    if (n.kind === "External") return "external";
    if (n.kind === "Service") return "service";
    k.push("in-" + n.isolation.ingress, "out-" + n.isolation.egress);
    if (n.open_to_all) k.push("open-all");
    if ((n.lint || []).length) k.push("has-lint");
    if (n.removed) k.push("removed-node");
    return k.join(" ");
  }
  function nodeLabel(n) {
    if (n.kind === "External") return n.name;
    const kind = n.kind === "Pod" ? "pod" : n.kind.toLowerCase();
    const pods = n.kind !== "Pod" && n.pods > 1 ? ` \u00d7${n.pods}` : "";
    return `${n.name}\n${kind}${pods}`;
  }
  function box(label, px) {
    const lines = label.split("\n");
    return { w: Math.max(46, Math.max(...lines.map((l) => l.length)) * (px || 6.1) + 16), h: lines.length * 13 + 12 };
  }
  function nodeEl(id, parent, label, classes, px) {
    return { group: "nodes", data: Object.assign({ id, parent, label }, box(label, px)), classes };
  }
  function elements() {
    const els = [];
    for (const ns of nsNames) {
      const members = nodesByNs.get(ns) || [];
      if (!members.length) continue;
      if (state.expanded.has(ns)) {
        els.push({ group: "nodes", data: { id: nsId(ns), label: ns, ns, w: 10, h: 10 }, classes: "namespace" });
        for (const n of members) els.push(nodeEl(n.id, nsId(ns), nodeLabel(n), nodeClasses(n)));
      } else {
        const lint = members.some((n) => (n.lint || []).length);
        const e = nodeEl(nsId(ns), undefined, `${ns}\n${members.length} workloads`, "collapsed" + (lint ? " has-lint" : ""), 7.2);
        e.data.ns = ns;
        els.push(e);
      }
    }
    if (state.services) for (const s of services) {
      if (!state.expanded.has(s.namespace)) continue;
      els.push(nodeEl(s.id, nsId(s.namespace), s.name + "\nservice", "service"));
    }
    if (state.externals && externals.length) {
      els.push({ group: "nodes", data: { id: "ext:", label: "outside the cluster", w: 10, h: 10 }, classes: "outside" });
      for (const n of externals) els.push(nodeEl(n.id, "ext:", n.name, "external", 5.6));
    }
    const agg = new Map();
    const have = new Set(els.filter((x) => x.group === "nodes").map((x) => x.data.id));
    for (const e of allEdges) {
      if (e.external && !state.externals) continue;
      const s = visible(e.from), t = visible(e.to);
      if (!s || !t || !have.has(s) || !have.has(t)) continue;
      const key = s + "\u0000" + t;
      let a = agg.get(key);
      if (!a) { a = { s, t, list: [], allowed: {}, changes: new Set() }; agg.set(key, a); }
      a.list.push(e);
      if (!e.removed) a.allowed = psUnion(a.allowed, e.allowed);
      const ch = e.removed ? "removed" : (changeAt.get(e.from + "\u0000" + e.to) || {}).class;
      if (ch) a.changes.add(ch);
    }
    let k = 0;
    if (state.services) for (const l of DATA.service_links || []) {
      const t = visible(l.to);
      if (have.has(l.from) && t && have.has(t)) els.push({ group: "edges", data: { id: "s" + k++, source: l.from, target: t, label: "" }, classes: "svc-link" });
    }
    for (const a of agg.values()) {
      const one = a.list.length === 1;
      let cls = one ? "" : "bundle";
      if (a.changes.size) cls += " " + (a.changes.size === 1 ? [...a.changes][0] : "changed");
      if (a.list.every((e) => e.external)) cls += " ext-edge";
      const label = one ? psText(a.list[0].allowed, 30) : `${a.list.length} connections`;
      if (a.s === a.t) cls += " loop";
      if (!a.changes.size && a.list.every((e) => !e.removed && psText(e.allowed) === "all")) cls += " all-ports";
      els.push({ group: "edges", data: { id: "e" + k++, source: a.s, target: a.t, label, n: a.list.length }, classes: cls.trim(), scratch: { _list: a.list } });
    }
    return els;
  }
  const big = nodes.length + allEdges.length > 3000;
  const style = [
    { selector: "node", style: { label: "data(label)", "text-wrap": "wrap", "text-valign": "center", "text-halign": "center", "font-size": 10, color: "#111827",
      shape: "round-rectangle", width: "data(w)", height: "data(h)", "background-color": "#f3f4f6", "border-width": 2, "border-color": "#64748b",
      "text-max-width": 150, "min-zoomed-font-size": 5 } },
    { selector: "node.in-isolated", style: { "background-color": "#dcfce7" } },
    { selector: "node.in-mixed", style: { "background-color": "#fef9c3" } },
    { selector: "node.in-open", style: { "background-color": "#fee2e2" } },
    { selector: "node.out-isolated", style: { "border-color": "#15803d", "border-style": "solid" } },
    { selector: "node.out-mixed", style: { "border-color": "#a16207", "border-style": "dotted" } },
    { selector: "node.out-open", style: { "border-color": "#b91c1c", "border-style": "dashed" } },
    { selector: "node.open-all", style: { "outline-width": 3, "outline-color": "#dc2626", "outline-offset": 2, "outline-opacity": 1 } },
    { selector: "node.has-lint", style: { "underlay-color": "#f59e0b", "underlay-padding": 5, "underlay-opacity": 0.45, "underlay-shape": "round-rectangle" } },
    { selector: "node.removed-node", style: { opacity: 0.55, "border-style": "dashed", "border-color": "#dc2626" } },
    { selector: "node.namespace", style: { shape: "round-rectangle", "background-color": "#eef2ff", "background-opacity": 0.7, "border-color": "#a5b4fc", "border-width": 1.5,
      "text-valign": "top", "text-halign": "center", "font-size": 12, "font-weight": 700, color: "#3730a3", padding: 14, "text-margin-y": -3 } },
    { selector: "node.outside", style: { shape: "round-rectangle", "background-color": "#f8fafc", "border-color": "#94a3b8", "border-style": "dashed", "border-width": 1.5,
      "text-valign": "top", "font-size": 12, "font-weight": 700, color: "#475569", padding: 14 } },
    { selector: "node.collapsed", style: { "background-color": "#e0e7ff", "border-color": "#6366f1", "border-width": 2, "font-size": 12, "font-weight": 600, color: "#312e81", padding: 10 } },
    { selector: "node.external", style: { shape: "cut-rectangle", "background-color": "#e2e8f0", "border-color": "#475569", "border-width": 1.5, "font-size": 9.5 } },
    { selector: "node.service", style: { shape: "tag", "background-color": "#ede9fe", "border-color": "#7c3aed", "border-width": 1.5 } },
    { selector: "edge", style: { width: 1.6, "line-color": "#94a3b8", "target-arrow-color": "#94a3b8", "target-arrow-shape": "triangle", "arrow-scale": 0.9,
      "curve-style": big ? "straight" : "bezier", label: "data(label)", "font-size": 8.5, color: "#334155", "text-background-color": "#ffffff",
      "text-background-opacity": 0.85, "text-background-padding": 1.5, "text-rotation": "autorotate", "min-zoomed-font-size": 7, "loop-direction": "-45deg", "loop-sweep": "-60deg" } },
    { selector: "edge.loop", style: { "curve-style": "bezier", "loop-direction": "0deg", "loop-sweep": "-50deg", "control-point-step-size": 46, "text-rotation": "none" } },
    { selector: "edge.bundle", style: { width: "mapData(n, 1, 60, 2, 7)", "line-color": "#a5b4fc", "target-arrow-color": "#818cf8" } },
    { selector: "edge.ext-edge", style: { "line-style": "dashed", "line-color": "#64748b", "target-arrow-color": "#64748b" } },
    { selector: "edge.all-ports", style: { width: 1, "line-color": "#cbd5e1", "target-arrow-color": "#cbd5e1", label: "", "z-index": 0, opacity: 0.8 } },
    { selector: "edge.all-ports.ext-edge", style: { "line-color": "#d1d5db", "target-arrow-color": "#d1d5db" } },
    { selector: "edge.added", style: { "line-color": "#16a34a", "target-arrow-color": "#16a34a", width: 3.2, color: "#14532d" } },
    { selector: "edge.removed", style: { "line-color": "#dc2626", "target-arrow-color": "#dc2626", width: 3.2, "line-style": "dashed", color: "#7f1d1d" } },
    { selector: "edge.changed", style: { "line-color": "#d97706", "target-arrow-color": "#d97706", width: 3.2, color: "#78350f" } },
    { selector: "edge.svc-link", style: { "line-style": "dotted", "line-color": "#7c3aed", "target-arrow-color": "#7c3aed", "target-arrow-shape": "vee", width: 1.5, label: "" } },
    { selector: ".nolabel", style: { label: "" } },
    { selector: ".faded", style: { opacity: 0.15 } },
    { selector: "node:selected", style: { "border-color": "#2563eb", "border-width": 3.5, "border-style": "solid" } },
    { selector: "edge:selected", style: { "line-color": "#2563eb", "target-arrow-color": "#2563eb", width: 3.5, "z-index": 10 } },
  ];
  const cy = cytoscape({
    container: $("#cy"), elements: [], style, minZoom: 0.02, maxZoom: 4,
    hideEdgesOnViewport: big, textureOnViewport: big, motionBlur: false, pixelRatio: big ? 1 : "auto",
  });
  const timing = { layouts: [] };
  let readyResolve;
  const ready = new Promise((r) => { readyResolve = r; });
  function layout(first, keep) {
    const t0 = performance.now();
    const n = cy.nodes().length;
    const l = cy.layout({
      name: "fcose", quality: n > 300 && !keep ? "draft" : "default", randomize: !keep, animate: false, fit: true, padding: 24,
      nodeDimensionsIncludeLabels: true, uniformNodeDimensions: false, packComponents: true, nodeSeparation: 60,
      idealEdgeLength: () => (cy.nodes(".collapsed").length ? 140 : 70), nodeRepulsion: () => (cy.nodes(".collapsed").length ? 20000 : 6500), edgeElasticity: () => 0.3, nestingFactor: 0.15, gravity: 0.4,
      gravityCompound: 1.2, gravityRangeCompound: 1.4, numIter: n > 300 ? 1500 : 2500, tile: true, tilingPaddingVertical: 14, tilingPaddingHorizontal: 14,
    });
    l.one("layoutstop", () => {
      const ms = performance.now() - t0;
      timing.layouts.push(ms);
      $("#status").textContent = `${cy.nodes().not(".namespace,.outside").length} nodes, ${cy.edges().length} edges \u00b7 layout ${Math.round(ms)} ms`;
      if (first) { timing.first = performance.now() - T0; readyResolve(); }
    });
    l.run();
  }
  function redraw(first) {
    // keep where things were: surviving nodes stay, a namespace's workloads start where it was
    const old = new Map();
    if (!first) cy.nodes().forEach((x) => { if (!x.isParent()) old.set(x.id(), Object.assign({}, x.position())); });
    cy.startBatch();
    cy.elements().remove();
    cy.add(elements());
    if (!state.labels) cy.edges().addClass("nolabel");
    let kept = 0;
    if (old.size) cy.nodes().forEach((x) => {
      if (x.isParent()) return;
      let p = old.get(x.id());
      if (p) kept++;
      else {
        const n = nodeById.get(x.id());
        const from = n && n.namespace ? old.get(nsId(n.namespace)) : null;
        p = from ? { x: from.x + (Math.random() - 0.5) * 120, y: from.y + (Math.random() - 0.5) * 120 } : { x: (Math.random() - 0.5) * 600, y: (Math.random() - 0.5) * 600 };
      }
      x.position(p);
    });
    cy.endBatch();
    layout(first, kept > 0);
  }
  const T0 = performance.now();

  // ---- details panel ---------------------------------------------------------------------
  const details = $("#details");
  function show(...kids) { details.innerHTML = ""; details.append(...kids); details.scrollTop = 0; }
  function where(o) { return o.file ? `${o.file}${o.line ? ":" + o.line : ""}` : ""; }
  function nodeLink(id) { return el("span", { class: "link", text: id, onclick: () => selectNode(id, true) }); }
  function isoLine(n, word) {
    const st = n.isolation[word];
    const pols = n.policies[word];
    if (st === "isolated") return el("div", { class: "iso" }, el("span", { class: "badge ok", text: word + " isolated" }), ` by ${pols.length} ${pols.length === 1 ? "policy" : "policies"}`);
    if (st === "mixed") return el("div", { class: "iso" }, el("span", { class: "badge warn", text: word + " partly isolated" }), " some of its pods are selected, some are not");
    return el("div", { class: "iso" }, el("span", { class: "badge bad", text: word + " open" }), word === "ingress" ? " no policy selects it for Ingress: every source may connect" : " no policy selects it for Egress: it may connect anywhere");
  }
  function policyCard(p, dirs) {
    const tiered = p.tier !== "NetworkPolicy";
    const card = el("div", { class: "card" },
      el("div", { class: "title" }, el("span", { class: "badge tier", text: tiered ? `${p.tier} ${p.priority}` : p.tier }), p.id, dirs ? " " : "", dirs ? el("span", { class: "badge", text: dirs }) : ""),
      el("div", { class: "where", text: tiered ? `${where(p)} \u00b7 subject ${p.pod_selector}` : `${where(p)} \u00b7 podSelector ${p.pod_selector} \u00b7 policyTypes ${p.types.join(", ")}` }));
    for (const word of ["ingress", "egress"]) {
      if (tiered) {
        p[word].forEach((r, i) => card.append(el("div", { class: "rule" },
          el("span", { class: `badge ${r.action === "Deny" ? "bad" : r.action === "Accept" ? "ok" : "warn"}`, text: r.action }),
          el("span", { class: "k", text: `${word} rule #${i + 1}${r.name ? " (" + r.name + ")" : ""}${r.line ? " (line " + r.line + ")" : ""}: ` }),
          el("span", { text: (word === "ingress" ? "from " : "to ") + r.peers.join(" OR ") }), el("br"),
          el("span", { class: "k", text: "ports: " }), r.ports.join(", "))));
        continue;
      }
      if (!p.types.includes(word[0].toUpperCase() + word.slice(1))) continue;
      if (!p[word].length) card.append(el("div", { class: "rule" }, el("span", { class: "k", text: `${word}: ` }), "no rules: it only isolates (denies all " + word + ")"));
      p[word].forEach((r, i) => card.append(el("div", { class: "rule" },
        el("span", { class: "k", text: `${word} rule #${i + 1}${r.line ? " (line " + r.line + ")" : ""}: ` }),
        el("span", { text: (word === "ingress" ? "from " : "to ") + r.peers.join(" OR ") }), el("br"),
        el("span", { class: "k", text: "ports: " }), r.ports.join(", "))));
    }
    for (const k of p.lint || []) card.append(findingLine(DATA.lint[k]));
    return card;
  }
  function findingLine(f) {
    const sev = f.severity === "error" ? "bad" : f.severity === "warning" ? "warn" : "";
    return el("div", { class: "rule" }, el("span", { class: "badge " + sev, text: f.rule }), f.message, f.hint ? el("div", { class: "k", text: "hint: " + f.hint }) : "");
  }
  function connList(id, dir) {
    const list = allEdges.filter((e) => (dir === "out" ? e.from === id : e.to === id));
    const ul = el("ul", { class: "conns" });
    for (const e of list.slice(0, 200)) {
      const other = dir === "out" ? e.to : e.from;
      const ch = e.removed ? "removed" : (changeAt.get(e.from + "\u0000" + e.to) || {}).class;
      ul.append(el("li", {}, ch ? el("span", { class: "badge " + ch, text: ch }) : "", el("span", { class: "link", text: (dir === "out" ? "\u2192 " : "\u2190 ") + other, onclick: () => showEdge(e) }), ` \u00b7 ${psText(e.allowed, 40)}`));
    }
    if (list.length > 200) ul.append(el("li", { text: `\u2026 and ${list.length - 200} more` }));
    if (!list.length) ul.append(el("li", { class: "placeholder", text: "none" }));
    return ul;
  }
  function showNode(id) {
    const n = nodeById.get(id);
    if (!n) return showNamespace(id.slice(3));
    const head = [el("h2", { text: n.id }), el("div", { class: "sub" }, el("span", { class: "badge", text: n.kind }), n.namespace ? `namespace ${n.namespace}` : n.kind === "External" ? `outside the cluster (representative address ${n.address})` : "",
      n.pods > 1 ? ` \u00b7 ${n.pods} pods` : "", n.endpoint_count > 1 ? ` \u00b7 ${n.endpoint_count} endpoints` : "", where(n) ? ` \u00b7 ${where(n)}` : "")];
    if (n.removed) head.push(el("div", { class: "iso" }, el("span", { class: "badge removed", text: "removed" }), " only in the base"));
    if (n.kind === "External") {
      return show(...head, el("div", { class: "placeholder", text: "An ipBlock of the policies. Edges are drawn to and from endpoints that are isolated in that direction and that a rule allows for this address; an endpoint that is not isolated reaches every address (red border or fill)." }),
        el("h3", { text: "Connections in" }), connList(id, "in"), el("h3", { text: "Connections out" }), connList(id, "out"));
    }
    const labels = el("div", {}, ...Object.entries(n.labels || {}).map(([k, v]) => el("span", { class: "chip", text: `${k}=${v}` })));
    const out = [...head, labels, el("div", { class: "iso" }, el("span", { class: "k", text: "declared ports: " }), psText(n.ports))];
    if (n.kind === "Service") return show(...out);
    out.push(isoLine(n, "ingress"), isoLine(n, "egress"));
    if (n.open_to_all) out.push(el("div", { class: "iso" }, el("span", { class: "badge bad", text: "open to everything" }), " its ingress admits every endpoint of the input and any outside address on all its declared ports"));
    if ((n.lint || []).length) { out.push(el("h3", { text: `Lint findings (${n.lint.length})` })); for (const k of n.lint) out.push(findingLine(DATA.lint[k])); }
    const pols = new Map();
    for (const word of ["ingress", "egress"]) for (const p of n.policies[word]) pols.set(p, (pols.get(p) ? pols.get(p) + " + " : "") + word);
    for (const p of n.tier_policies || []) pols.set(p, "subject");
    // in evaluation order: the Admin tier, then NetworkPolicies, then the Baseline tier
    const rank = (p) => (p.tier === "Admin" ? 0 : p.tier === "Baseline" ? 2 : 1);
    const cards = [...pols].map(([pid, dirs]) => [policyById.get(pid), dirs]).filter(([p]) => p)
      .sort((a, b) => rank(a[0]) - rank(b[0]) || (a[0].priority || 0) - (b[0].priority || 0));
    out.push(el("h3", { text: `Policies that select it (${pols.size})` }));
    if (!pols.size) out.push(el("div", { class: "placeholder", text: "No policy selects it." }));
    for (const [p, dirs] of cards) out.push(policyCard(p, dirs));
    out.push(el("h3", { text: "Connections in" }), connList(id, "in"), el("h3", { text: "Connections out" }), connList(id, "out"));
    show(...out);
  }
  function showNamespace(ns) {
    const info = DATA.namespaces.find((x) => x.name === ns) || { labels: {} };
    const members = nodesByNs.get(ns) || [];
    show(el("h2", { text: ns }), el("div", { class: "sub", text: `namespace \u00b7 ${members.length} workloads \u00b7 ${info.pods || 0} pods \u00b7 ${info.policies || 0} policies` }),
      el("div", {}, ...Object.entries(info.labels).map(([k, v]) => el("span", { class: "chip", text: `${k}=${v}` }))),
      el("div", { class: "iso" }, el("button", { class: "btn", text: state.expanded.has(ns) ? "Collapse" : "Expand", onclick: () => toggleNs(ns) })),
      el("h3", { text: "Workloads" }), el("ul", { class: "conns" }, ...members.slice(0, 300).map((n) => el("li", {}, nodeLink(n.id)))));
  }
  function explanationBlock(kind, from, to, exp, allowed) {
    // exp: {"TCP/80": index}; allowed: port set (or null for a denied cell)
    const box = el("div");
    const keys = Object.keys(exp || {});
    if (!keys.length) {
      box.append(el("div", { class: "placeholder", text: "No explanation embedded for this connection (beyond --explain-limit). Ask podwall:" }),
        el("code", { class: "cmd", text: commandFor(from, to, allowed) }));
      return box;
    }
    const pre = el("pre", { class: "explain" }), cmd = el("code", { class: "cmd" }), btns = el("div", { class: "ports" });
    const pick = (k) => {
      const x = DATA.explanations[exp[k]];
      pre.textContent = x.text; cmd.textContent = x.command;
      for (const b of btns.children) b.classList.toggle("sel", b.dataset.k === k);
    };
    for (const k of keys) {
      const x = DATA.explanations[exp[k]];
      btns.append(el("button", { "data-k": k, class: x.allowed ? "allowed" : "denied", text: k + (x.allowed ? " \u2713" : " \u2717"), onclick: () => pick(k) }));
    }
    box.append(btns, pre, el("div", { class: "k", text: "the same text as:" }), cmd);
    pick(keys[0]);
    return box;
  }
  function commandFor(from, to, allowed) {
    const first = allowed && !psEmpty(allowed) ? PROTOS.map((p) => allowed[p] ? [p, allowed[p][0][0]] : null).find((x) => x) : ["TCP", (nodeById.get(to) && psEmpty(nodeById.get(to).ports) ? 80 : firstPort(nodeById.get(to)))];
    const src = (nodeById.get(from) && nodeById.get(from).endpoints) ? nodeById.get(from).endpoints[0] : (nodeById.get(from) || {}).address || from;
    const dst = (nodeById.get(to) && nodeById.get(to).endpoints) ? nodeById.get(to).endpoints[0] : (nodeById.get(to) || {}).address || to;
    const ns = DATA.default_namespace && DATA.default_namespace !== "default" ? ` -n ${DATA.default_namespace}` : "";
    return `podwall explain ${(DATA.inputs || []).join(" ")}${ns} --from ${src} --to ${dst} -p ${first[1]}${first[0] !== "TCP" ? " --protocol " + first[0] : ""}`;
  }
  function firstPort(n) { for (const p of PROTOS) if (n && n.ports[p]) return n.ports[p][0][0]; return 80; }
  function showEdge(e) {
    const ch = e.removed ? changeAt.get(e.from + "\u0000" + e.to) : changeAt.get(e.from + "\u0000" + e.to);
    const out = [el("h2", {}, nodeLink(e.from), " \u2192 ", nodeLink(e.to)),
      el("div", { class: "sub" }, e.removed ? el("span", { class: "badge removed", text: "removed" }) : el("span", { class: "badge ok", text: "allowed" }), " ", psText(e.removed ? ch.before : e.allowed),
        e.external ? " \u00b7 to or from outside the cluster" : "")];
    if (!psEmpty(e.checked)) out.push(el("div", { class: "iso" }, el("span", { class: "k", text: "declared ports of the destination: " }), psText(e.checked),
      ` \u2014 ${e.state === "all" ? "all reachable" : e.state === "some" ? "some reachable (some ports, or some of the pods)" : e.state === "none" ? "none reachable: only undeclared ports are open" : ""}`));
    if (ch) out.push(changeBlock(ch));
    if (!e.removed) { out.push(el("h3", { text: "Why (podwall explain)" }), explanationBlock("edge", e.from, e.to, e.explain, e.allowed)); }
    show(...out);
  }
  function changeBlock(ch) {
    const box = el("div", { class: "card" }, el("div", { class: "title" }, el("span", { class: "badge " + ch.class, text: ch.change }), `compared with ${diff.base}`),
      el("div", { class: "rule" }, el("span", { class: "k", text: "before: " }), psText(ch.before), el("br"), el("span", { class: "k", text: "after: " }), psText(ch.after)));
    if (!psEmpty(ch.added)) box.append(el("div", { class: "rule" }, el("span", { class: "k", text: "added: " }), psText(ch.added)));
    if (!psEmpty(ch.removed)) box.append(el("div", { class: "rule" }, el("span", { class: "k", text: "removed: " }), psText(ch.removed)));
    if ((ch.policy_causes || []).length) box.append(el("div", { class: "rule" }, el("span", { class: "k", text: "caused by: " }), ch.policy_causes.join("; ")));
    for (const cause of ch.causes || []) {
      box.append(el("h3", { text: `Cause on ${cause.port}` }));
      if (cause.summary) box.append(el("div", { class: "rule", text: cause.summary }));
      if (cause.before) box.append(el("div", { class: "k", text: "before:" }), el("pre", { class: "explain", text: cause.before }));
      if (cause.after) box.append(el("div", { class: "k", text: "after:" }), el("pre", { class: "explain", text: cause.after }));
    }
    return box;
  }
  function showBundle(list, s, t) {
    show(el("h2", { text: `${s.replace(/^ns:/, "")} \u2192 ${t.replace(/^ns:/, "")}` }), el("div", { class: "sub", text: `${list.length} connections (collapsed namespaces)` }),
      el("ul", { class: "conns" }, ...list.slice(0, 300).map((e) => el("li", {}, el("span", { class: "link", text: `${e.from} \u2192 ${e.to}`, onclick: () => showEdge(e) }), ` \u00b7 ${psText(e.allowed, 40)}`))));
  }
  function showCell(from, to) {
    const e = edgeAt.get(from + "\u0000" + to);
    if (e) return showEdge(e);
    const ch = changeAt.get(from + "\u0000" + to);
    const d = deniedAt.get(from + "\u0000" + to);
    const n = nodeById.get(to);
    const out = [el("h2", {}, nodeLink(from), " \u2192 ", nodeLink(to))];
    if (n && psEmpty(n.ports)) { out.push(el("div", { class: "sub", text: "nothing to check: the destination declares no container ports" })); return show(...out); }
    out.push(el("div", { class: "sub" }, el("span", { class: "badge bad", text: "denied" }), " on every checked port: " + psText(n ? n.ports : {})));
    if (ch) out.push(changeBlock(ch));
    out.push(el("h3", { text: "Why (podwall explain)" }), explanationBlock("cell", from, to, d ? d.explain : {}, null));
    show(...out);
  }

  // ---- selection ----------------------------------------------------------------------------
  function selectNode(id, center) {
    const n = nodeById.get(id);
    if (n && n.namespace && !state.expanded.has(n.namespace)) { state.expanded.add(n.namespace); redraw(false); }
    cy.elements().unselect();
    const ele = cy.getElementById(id);
    if (ele.length) { ele.select(); if (center) cy.animate({ center: { eles: ele }, zoom: Math.max(cy.zoom(), 1) }, { duration: 250 }); }
    showNode(id);
  }
  function toggleNs(ns) {
    if (state.expanded.has(ns)) state.expanded.delete(ns); else state.expanded.add(ns);
    redraw(false);
    showNamespace(ns);
  }
  cy.on("tap", "node", (ev) => {
    const n = ev.target;
    if (n.hasClass("collapsed")) return toggleNs(n.data("ns"));
    if (n.hasClass("namespace")) return showNamespace(n.data("ns"));
    if (n.hasClass("outside")) return;
    showNode(n.id());
  });
  cy.on("tap", "edge", (ev) => {
    const list = ev.target.scratch("_list");
    if (!list) return showNode(ev.target.data("source"));
    if (list.length === 1) showEdge(list[0]); else showBundle(list, ev.target.data("source"), ev.target.data("target"));
  });
  cy.on("tap", (ev) => { if (ev.target === cy) { cy.elements().removeClass("faded"); } });

  // ---- toolbar --------------------------------------------------------------------------------
  $("#opt-externals").checked = state.externals;
  $("#opt-services").checked = state.services;
  $("#opt-externals").disabled = !externals.length;
  $("#opt-services").disabled = !services.length;
  $("#opt-externals").onchange = (e) => { state.externals = e.target.checked; redraw(false); };
  $("#opt-services").onchange = (e) => { state.services = e.target.checked; redraw(false); };
  $("#opt-labels").onchange = (e) => { state.labels = e.target.checked; cy.edges().toggleClass("nolabel", !state.labels); };
  $("#btn-layout").onclick = () => layout(false, false);
  $("#btn-fit").onclick = () => cy.fit(undefined, 24);
  $("#btn-expand").onclick = () => { state.expanded = new Set(nsNames); redraw(false); };
  $("#btn-collapse").onclick = () => { state.expanded = new Set(); redraw(false); };
  $("#search").addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    const q = ev.target.value.trim().toLowerCase();
    if (!q) { cy.elements().removeClass("faded"); return; }
    const hits = nodes.filter((n) => n.id.toLowerCase().includes(q));
    if (!hits.length) { $("#status").textContent = `no node matches "${q}"`; return; }
    let changed = false;
    for (const n of hits.slice(0, 200)) if (!state.expanded.has(n.namespace)) { state.expanded.add(n.namespace); changed = true; }
    if (changed) redraw(false);
    const ids = new Set(hits.map((n) => n.id));
    cy.elements().addClass("faded");
    const sel = cy.nodes().filter((x) => ids.has(x.id()));
    sel.removeClass("faded"); sel.parents().removeClass("faded"); sel.connectedEdges().removeClass("faded");
    if (hits.length === 1) selectNode(hits[0].id, true); else cy.fit(sel, 40);
  });

  // ---- tabs -------------------------------------------------------------------------------------
  const rendered = {};
  function tab(name) {
    for (const b of document.querySelectorAll("nav.tabs button")) b.classList.toggle("active", b.dataset.view === name);
    for (const v of document.querySelectorAll(".view")) v.classList.toggle("active", v.id === "view-" + name);
    if (name === "graph") cy.resize();
    if (name === "matrix" && !rendered.matrix) { rendered.matrix = true; renderMatrix(); }
    if (name === "findings" && !rendered.findings) { rendered.findings = true; renderFindings(); }
    if (name === "changes" && !rendered.changes) { rendered.changes = true; renderChanges(); }
  }
  for (const b of document.querySelectorAll("nav.tabs button")) b.onclick = () => tab(b.dataset.view);

  // ---- matrix -----------------------------------------------------------------------------------
  const MAX_ROWS = 300;
  const mx = { by: nodes.length > MAX_ROWS ? "namespace" : "workload", ns: "", port: null, proto: "", denied: false, open: false };
  const nsSel = $("#mx-ns");
  for (const ns of nsNames) nsSel.append(el("option", { value: ns, text: ns }));
  $("#mx-by").value = mx.by;
  $("#mx-by").onchange = (e) => { mx.by = e.target.value; renderMatrix(); };
  nsSel.onchange = (e) => { mx.ns = e.target.value; renderMatrix(); };
  $("#mx-port").onchange = (e) => { const v = parseInt(e.target.value, 10); mx.port = v >= 1 && v <= 65535 ? v : null; renderMatrix(); };
  $("#mx-proto").onchange = (e) => { mx.proto = e.target.value; renderMatrix(); };
  $("#mx-denied").onchange = (e) => { mx.denied = e.target.checked; renderMatrix(); };
  $("#mx-open").onchange = (e) => { mx.open = e.target.checked; renderMatrix(); };
  const SYM = { all: ".", none: "X", some: "~", "n/a": "-" };
  function filteredState(allowed, checked) {
    // the state of a cell on the chosen port (as matrix --port: every destination is checked on it)
    // or protocol (its declared ports of that protocol), from the cell's port sets
    if (mx.port) return psHas(allowed, mx.proto || "TCP", mx.port) ? "all" : "none";
    if (mx.proto) {
      const ck = psCount(psProto(checked, mx.proto));
      if (!ck) return "n/a";
      const al = psCount(psProto(psIntersect(allowed, checked), mx.proto));
      return al === 0 ? "none" : al >= ck ? "all" : "some";
    }
    return null;
  }
  function psIntersect(a, b) {
    const out = {};
    for (const p of PROTOS) {
      const r = [];
      for (const [lo, hi] of (a || {})[p] || []) for (const [lo2, hi2] of (b || {})[p] || []) { const x = Math.max(lo, lo2), y = Math.min(hi, hi2); if (x <= y) r.push([x, y]); }
      if (r.length) out[p] = r;
    }
    return out;
  }
  function workloadCell(a, b) {
    const e = edgeAt.get(a.id + "\u0000" + b.id);
    if (a.id === b.id && !e && a.self_state === "n/a" && a.kind === "Pod") return "n/a";  // a lone pod: no pair
    const f = filteredState(e ? e.allowed : {}, b.ports);
    if (f) return f;
    if (e) return e.state;
    if (a.id === b.id && a.self_state) return a.self_state;
    return psEmpty(b.ports) ? "n/a" : "none";
  }
  function renderMatrix() {
    const host = $("#matrix-host");
    host.innerHTML = "";
    let rows, cols, cell, label;
    if (mx.by === "namespace") {
      const nm = DATA.namespace_matrix;
      const idx = new Map(nm.groups.map((g, i) => [g, i]));
      const STATE = { ".": "all", X: "none", "~": "some", "-": "n/a" };
      rows = nm.groups.filter((g) => !mx.ns || g === mx.ns);
      cols = nm.groups.slice();
      if (mx.ns) cols = nm.groups; // a namespace's row against every namespace
      if (mx.open) cols = cols.filter((g) => (nodesByNs.get(g) || []).some((n) => n.open_to_all));
      cell = (a, b) => {
        if (mx.port || mx.proto) {
          let st = "n/a";
          const A = nodesByNs.get(a) || [], B = nodesByNs.get(b) || [];
          const seen = new Set();
          for (const x of A) for (const y of B) { const s = workloadCell(x, y); if (s !== "n/a") seen.add(s); }
          if (seen.size) st = seen.size === 1 ? [...seen][0] : "some";
          return st;
        }
        return STATE[nm.rows[idx.get(a)][idx.get(b)]];
      };
      label = (g) => g;
    } else {
      let list = nodes;
      if (mx.ns) list = nodes.filter((n) => n.namespace === mx.ns);
      rows = list;
      cols = mx.ns ? nodes.filter((n) => n.namespace === mx.ns) : nodes;
      if (mx.open) cols = cols.filter((n) => n.open_to_all);
      cell = workloadCell;
      label = (n) => n.id;
    }
    if (mx.denied) {
      const keep = new Set(), keepCols = new Set();
      for (const r of rows) for (const k of cols) { const s = cell(r, k); if (s === "none" || s === "some") { keep.add(r); keepCols.add(k); } }
      rows = rows.filter((r) => keep.has(r)); cols = cols.filter((k) => keepCols.has(k));
    }
    $("#mx-count").textContent = `${rows.length} \u00d7 ${cols.length}`;
    if (rows.length > MAX_ROWS || cols.length > MAX_ROWS) {
      host.append(el("div", { class: "matrix-note", text: `${rows.length} rows \u00d7 ${cols.length} columns is too many to draw at once: choose a namespace, or rows and columns by namespace.` }));
      return;
    }
    if (!rows.length || !cols.length) { host.append(el("div", { class: "matrix-note", text: "No cell matches the filters." })); return; }
    const table = el("table", { class: "matrix", id: "matrix-table" });
    const head = el("tr", {}, el("th", { class: "corner", text: "from \\ to" }), ...cols.map((k) => el("th", { title: label(k) }, el("div", { text: label(k) }))));
    table.append(el("thead", {}, head));
    const body = el("tbody");
    for (const r of rows) {
      const tr = el("tr", {}, el("th", { title: label(r), text: label(r) }));
      for (const k of cols) {
        let s = cell(r, k);
        const blank = mx.denied && s !== "none" && s !== "some";
        const td = el("td", { class: "s-" + (blank ? "blank" : s === "n/a" ? "na" : s), text: SYM[s], title: `${label(r)} \u2192 ${label(k)}: ${s}`, "data-from": label(r), "data-to": label(k), "data-state": s });
        tr.append(td);
      }
      body.append(tr);
    }
    table.append(body);
    table.addEventListener("click", (ev) => {
      const td = ev.target.closest("td");
      if (!td) return;
      for (const x of table.querySelectorAll("td.sel")) x.classList.remove("sel");
      td.classList.add("sel");
      if (mx.by === "namespace") {
        const a = td.dataset.from, b = td.dataset.to;
        const list = allEdges.filter((e) => { const x = nodeById.get(e.from), y = nodeById.get(e.to); return x && y && x.namespace === a && y.namespace === b; });
        showBundle(list, a, b);
      } else showCell(td.dataset.from, td.dataset.to);
    });
    host.append(table);
  }

  // ---- findings -------------------------------------------------------------------------------
  function renderFindings() {
    const host = $("#findings-host");
    const list = DATA.lint || [];
    if (!list.length) { host.append(el("div", { class: "empty", text: DATA.lint_ran === false ? "Lint was not run (--no-lint)." : "No lint findings." })); return; }
    const table = el("table", { class: "findings" }, el("thead", {}, el("tr", {}, ...["severity", "rule", "finding", "where", "about"].map((h) => el("th", { text: h })))));
    const body = el("tbody");
    list.forEach((f) => {
      const sev = f.severity === "error" ? "bad" : f.severity === "warning" ? "warn" : "";
      const about = el("td");
      if (f.node) about.append(el("span", { class: "link", text: f.node, onclick: () => { tab("graph"); selectNode(f.node, true); } }), el("br"));
      if (f.policy && policyById.has(f.policy)) about.append(el("span", { class: "link", text: "policy " + f.policy, onclick: () => showPolicy(f.policy) }));
      else if (f.namespace && !f.node) about.append(el("span", { text: "namespace " + f.namespace }));
      const msg = el("td", {}, f.message, f.hint ? el("div", { class: "k", text: "hint: " + f.hint }) : "", f.fix ? el("details", {}, el("summary", { text: "fix" }), el("pre", { class: "yaml", text: f.fix })) : "");
      body.append(el("tr", {}, el("td", {}, el("span", { class: "badge " + sev, text: f.severity })), el("td", { text: f.rule }), msg, el("td", { text: where(f) }), about));
    });
    table.append(body);
    host.append(table);
  }
  function showPolicy(pid) {
    const p = policyById.get(pid);
    const sel = [...new Set([...p.selects.ingress, ...p.selects.egress])];
    show(el("h2", { text: p.id }), policyCard(p, ""), el("h3", { text: `Selects (${sel.length})` }), el("ul", { class: "conns" }, ...sel.slice(0, 300).map((id) => el("li", {}, nodeLink(id)))));
  }

  // ---- changes ------------------------------------------------------------------------------
  function renderChanges() {
    const host = $("#changes-host");
    if (!diff.changes.length) { host.append(el("div", { class: "empty", text: `No connection changed compared with ${diff.base}.` })); return; }
    const table = el("table", { class: "findings" }, el("thead", {}, el("tr", {}, ...["change", "from", "to", "before", "after"].map((h) => el("th", { text: h })))));
    const body = el("tbody");
    for (const ch of diff.changes) {
      body.append(el("tr", {}, el("td", {}, el("span", { class: "badge " + ch.class, text: ch.change })),
        el("td", {}, nodeLink(ch.from)), el("td", {}, nodeLink(ch.to)), el("td", { text: psText(ch.before, 60) }),
        el("td", {}, el("span", { class: "link", text: psText(ch.after, 60), onclick: () => { const e = edgeAt.get(ch.from + "\u0000" + ch.to); if (e) showEdge(e); else showEdge(allEdges.find((x) => x.removed && x.from === ch.from && x.to === ch.to)); } }))));
    }
    table.append(body);
    host.append(el("div", { class: "matrix-note", text: `${diff.changes.length} connections differ from ${diff.base}: green added, red removed, amber changed ports.` }), table);
  }

  // ---- go -------------------------------------------------------------------------------------
  window.podwall = { cy, data: DATA, ready, timing, selectNode, showEdge, showCell, tab, state, redraw };
  redraw(true);
})();
