"""The report page in a real browser: Debian's chromium driven by Playwright, pages opened from file://.

Marked ``browser``. ``scripts/test.sh`` installs chromium (apt) and playwright (the ``test`` extra);
in CI (``CI=true``) a missing browser fails the run, elsewhere these tests skip with the reason.
Screenshots go to ``tests/artifacts/`` (or ``$PODWALL_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podwall.core.model import Direction

from .conftest import SEED, explain_output, generate, run, seed_without, write_report

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CELLS = (
    "() => [...document.querySelectorAll('#matrix-table td')]"
    ".map((td) => [td.dataset.from, td.dataset.to, td.dataset.state])"
)
EDGES = "(sel) => window.podwall.cy.edges(sel).map((e) => [e.source().id(), e.target().id(), e.style('line-color')])"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("PODWALL_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM) or shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (scripts/test.sh installs the chromium package)")
        pytest.skip(f"{CHROMIUM} is not installed (bash scripts/test.sh installs it as root)")
    sync_api = (
        pytest.importorskip("playwright.sync_api")
        if not os.environ.get("CI")
        else __import__("playwright.sync_api", fromlist=["sync_playwright"])
    )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A report opened in a fresh browser page, with its console collected."""

    def __init__(self, browser: Any, path: Path, width: int = 1500, height: int = 950) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.podwall !== undefined", timeout=60_000)
        self.page.evaluate("window.podwall.ready")

    def js(self, code: str, arg: Any = None) -> Any:
        return self.page.evaluate(code, arg)

    def graph_counts(self) -> tuple[int, int]:
        cy = "window.podwall.cy"
        return tuple(self.js(f"() => [{cy}.nodes().not('.namespace,.outside,.collapsed').length, {cy}.edges().length]"))

    def click_element(self, ele_id: str) -> None:
        """A real mouse click on a node (its centre) or an edge: at its midpoint, or, when a node
        is drawn over the midpoint (layouts differ from run to run), at the first point along it
        where the renderer itself says the edge is the element under the pointer."""
        x, y = self.js(
            """(id) => { const cy = window.podwall.cy; const e = cy.getElementById(id);
                 cy.zoom(2); cy.center(e);
                 const r = cy.container().getBoundingClientRect();
                 if (e.isNode()) { const p = e.renderedPosition(); return [r.left + p.x, r.top + p.y]; }
                 const m = e.midpoint(), s = e.sourceEndpoint(), t = e.targetEndpoint();
                 const points = [m];
                 for (const f of [0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75, 0.2, 0.8]) {
                   points.push({x: s.x + (t.x - s.x) * f, y: s.y + (t.y - s.y) * f});
                   const g = f - 0.5;
                   points.push({x: (s.x + m.x) / 2 + (m.x - s.x) * g, y: (s.y + m.y) / 2 + (m.y - s.y) * g});
                   points.push({x: (m.x + t.x) / 2 + (t.x - m.x) * g, y: (m.y + t.y) / 2 + (t.y - m.y) * g});
                 }
                 const hit = points.find((p) => { const n = cy.renderer().findNearestElement(p.x, p.y, true, false);
                                                  return n && n.id() === id; }) || m;
                 const pan = cy.pan(), z = cy.zoom();
                 return [r.left + hit.x * z + pan.x, r.top + hit.y * z + pan.y]; }""",
            ele_id,
        )
        self.page.mouse.click(x, y)
        self.page.wait_for_timeout(150)

    def details(self) -> str:
        return str(self.page.inner_text("#details"))

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        out = ARTIFACTS / name
        self.page.screenshot(path=str(out))
        assert out.stat().st_size > 10_000
        return out

    def close(self) -> None:
        self.page.close()


def matrix_counts(*args: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Workloads and address ranges (nodes), and every pair with something allowed (edges), as
    ``podwall matrix --ports all --by workload`` lists them."""
    code, out, err = run("matrix", *args, "--by", "workload", "-o", "json")
    assert code == 0, err
    groups = json.loads(out)["groups"]
    code, out, err = run("matrix", *args, "--ports", "all", "--by", "workload", "-o", "json")
    assert code == 0, err
    pairs = [(c["from"], c["to"]) for c in json.loads(out)["connections"]]
    return groups, pairs


@pytest.fixture(scope="module")
def seed_page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Page, dict[str, Any]]]:
    path, doc = write_report(tmp_path_factory.mktemp("seed-page"), "seed", SEED, "-n", "production")
    page = Page(browser, path)
    yield page, doc
    page.close()


def test_seed_opens_without_errors_and_counts_match_matrix(seed_page: tuple[Page, dict[str, Any]]) -> None:
    page, doc = seed_page
    groups, cells = matrix_counts(SEED, "-n", "production")
    ranges = {x for pair in cells for x in pair} - set(groups)
    assert ranges == {n["id"] for n in doc["externals"]}  # the seed has no ipBlock: one range, everywhere
    assert page.graph_counts() == (len(groups) + len(ranges), len(cells))
    assert page.js("() => window.podwall.cy.nodes('.namespace').map((n) => n.data('ns')).sort()") == sorted(
        {g.split("/")[0] for g in groups}
    )
    assert page.errors == []
    assert all(u.startswith("file://") for u in page.requests), page.requests
    page.shot("report-seed.png")


def test_clicking_a_node_shows_its_policies(seed_page: tuple[Page, dict[str, Any]]) -> None:
    import podwall

    page, _ = seed_page
    loaded = podwall.load([SEED], namespace="production")
    backend = next(e for e in loaded.cluster.endpoints if e.key == "production/deployment/backend")
    expected = {p.key for d in Direction for p in loaded.engine.selecting(backend, d)}
    assert len(expected) >= 3
    page.click_element("production/deployment/backend")
    text = page.details()
    assert text.startswith("production/deployment/backend")
    assert f"POLICIES THAT SELECT IT ({len(expected)})" in text.upper()
    for pol in expected:
        assert pol in text
    assert "ingress rule #1" in text and "from podSelector app=frontend" in text
    # a node no policy selects says so
    page.click_element("ci/ci-runner")
    assert "ingress open" in page.details() and "POLICIES THAT SELECT IT (0)" in page.details().upper()
    assert page.errors == []


def test_clicking_an_edge_shows_podwall_explain(seed_page: tuple[Page, dict[str, Any]]) -> None:
    page, _ = seed_page
    # the edge frontend -> backend; bring it to the middle so the click cannot hit another element
    eid = page.js(
        """() => { const cy = window.podwall.cy;
             const e = cy.edges().filter((x) => x.source().id() === 'production/deployment/frontend'
                                             && x.target().id() === 'production/deployment/backend')[0];
             cy.elements().not(e).not(e.connectedNodes()).not(e.connectedNodes().parents()).style('display', 'none');
             cy.fit(e.connectedNodes(), 80); return e.id(); }"""
    )
    try:
        page.click_element(eid)
        text = page.details()
        assert text.startswith("production/deployment/frontend → production/deployment/backend")
        shown = page.page.inner_text("#details pre.explain")
        cmd = page.page.inner_text("#details code.cmd")
        assert "--from production/deployment/frontend --to production/deployment/backend -p 8080" in cmd
        assert shown == explain_output(cmd)
        assert "ALLOWED" in shown and "allowed by production/allow-frontend-to-backend ingress rule #1" in shown
        # the other checked port of that edge is denied, and explained too
        page.page.click("#details .ports button.denied")
        shown = page.page.inner_text("#details pre.explain")
        assert shown == explain_output(page.page.inner_text("#details code.cmd")) and "DENIED" in shown
    finally:
        page.js(
            "() => { window.podwall.cy.elements().style('display', 'element'); window.podwall.cy.fit(undefined, 24); }"
        )
    assert page.errors == []


def test_matrix_cells_filters_and_denied_explanation(seed_page: tuple[Page, dict[str, Any]]) -> None:
    page, doc = seed_page
    page.page.click("nav.tabs button[data-view=matrix]")
    groups, _ = matrix_counts(SEED, "-n", "production")
    tds = page.page.locator("#matrix-table td")
    assert tds.count() == len(groups) ** 2
    _, out, _ = run("matrix", SEED, "-n", "production", "--by", "workload", "-o", "json")
    states = {(c["from"], c["to"]): c["state"] for c in json.loads(out)["cells"]}
    got = page.js(CELLS)
    assert {(a, b): s for a, b, s in got} == states
    # a denied cell: ci-runner -> postgres
    page.page.click('#matrix-table td[data-from="ci/ci-runner"][data-to="production/statefulset/postgres"]')
    shown = page.page.inner_text("#details pre.explain")
    assert "DENIED" in shown and shown == explain_output(page.page.inner_text("#details code.cmd"))
    # port filter: only cells whose destination declares 5432
    page.page.fill("#mx-port", "5432")
    page.page.dispatch_event("#mx-port", "change")
    _, out, _ = run("matrix", SEED, "-n", "production", "--by", "workload", "--port", "5432", "-o", "json")
    want = {(c["from"], c["to"]): c["state"] for c in json.loads(out)["cells"]}
    got = page.js(CELLS)
    assert {(a, b): s for a, b, s in got} == want
    page.page.fill("#mx-port", "")
    page.page.dispatch_event("#mx-port", "change")
    # only denied: every visible non-blank cell is denied
    page.page.check("#mx-denied")
    shown_states = page.js(
        "() => [...document.querySelectorAll('#matrix-table td:not(.s-blank)')].map((td) => td.dataset.state)"
    )
    assert shown_states and set(shown_states) <= {"none", "some"}
    page.page.uncheck("#mx-denied")
    # only open to everything: the columns are the nodes flagged open_to_all
    page.page.check("#mx-open")
    cols = page.js("() => [...new Set([...document.querySelectorAll('#matrix-table td')].map((td) => td.dataset.to))]")
    assert sorted(cols) == sorted(n["id"] for n in doc["nodes"] if n["open_to_all"])
    assert cols, "the seed has workloads open to everything (no ingress isolation)"
    page.page.uncheck("#mx-open")
    # by namespace: the cells of matrix --by namespace
    page.page.select_option("#mx-by", "namespace")
    _, out, _ = run("matrix", SEED, "-n", "production", "--by", "namespace", "-o", "json")
    want = {(c["from"], c["to"]): c["state"] for c in json.loads(out)["cells"]}
    got = page.js(CELLS)
    assert {(a, b): s for a, b, s in got} == want
    page.page.select_option("#mx-by", "workload")
    page.shot("report-seed-matrix.png")
    page.page.click("nav.tabs button[data-view=findings]")
    assert page.page.locator("table.findings tbody tr").count() == len(doc["lint"])
    page.page.click("nav.tabs button[data-view=graph]")
    assert page.errors == []


def test_diff_view_colours_changed_edges(browser: Any, tmp_path: Path) -> None:
    old = seed_without(tmp_path, "allow-frontend-to-backend")
    path, _ = write_report(tmp_path, "diff", SEED, "-n", "production", "--old", old)
    page = Page(browser, path)
    try:
        added = page.js(EDGES, ".added")
        assert added == [["production/deployment/frontend", "production/deployment/backend", "rgb(22,163,74)"]]
        assert page.js("() => window.podwall.cy.edges('.removed').length") == 0
        page.click_element(page.js("() => window.podwall.cy.edges('.added')[0].id()"))
        text = page.details()
        assert "added" in text and "Cause on TCP/8080".upper() in text.upper()
        page.page.click("nav.tabs button[data-view=changes]")
        assert page.page.locator("#changes-host tbody tr").count() == 1
        page.shot("report-diff.png")
        assert page.errors == []
    finally:
        page.close()
    # and the other way round: a removed connection is drawn red
    path, _ = write_report(tmp_path, "back", old, "-n", "production", "--old", SEED)
    page = Page(browser, path)
    try:
        removed = page.js(EDGES, ".removed")
        assert removed == [["production/deployment/frontend", "production/deployment/backend", "rgb(220,38,38)"]]
        groups, cells = matrix_counts(old, "-n", "production")
        ranges = {x for pair in cells for x in pair} - set(groups)
        assert page.graph_counts() == (len(groups) + len(ranges), len(cells) + 1)  # the removed edge on top
        assert page.errors == []
    finally:
        page.close()


def test_generated_2000_pods_aggregates_and_expands(browser: Any, tmp_path: Path) -> None:
    files = generate(tmp_path / "gen", 2000, 400, 1)
    path, doc = write_report(tmp_path, "gen2000", *files)
    groups, cells = matrix_counts(*files)
    inside = [c for c in cells if c[0] in set(groups) and c[1] in set(groups)]
    assert [n["id"] for n in doc["nodes"]] == groups and len(doc["edges"]) == len(inside)
    assert len(groups) > 400 and doc["aggregated"]
    page = Page(browser, path, width=1600, height=1000)
    try:
        namespaces = sorted({g.split("/")[0] for g in groups})
        assert page.js("() => window.podwall.cy.nodes('.collapsed').length") == len(namespaces)
        assert "collapsed" in page.page.inner_text("#banner")
        first_layout = page.js("() => window.podwall.timing.first")
        page.shot("report-2000-collapsed.png")
        # expand everything: every workload node and every connection (externals hidden) is drawn
        page.js(
            """() => { window.__done = false; window.podwall.cy.one('layoutstop', () => { window.__done = true; });
                 document.querySelector('#btn-expand').click(); }"""
        )
        page.page.wait_for_function("window.__done === true", timeout=120_000)
        assert page.graph_counts() == (len(groups), len(inside))
        # click a workload node: its policies
        node = next(n for n in doc["nodes"] if n["policies"]["ingress"])
        # (at this size nodes may touch: show only this one while clicking it)
        page.js(
            """(id) => { const cy = window.podwall.cy; const n = cy.getElementById(id);
                 cy.elements().not(n).not(n.parents()).style('display', 'none'); }""",
            node["id"],
        )
        page.click_element(node["id"])
        page.js("() => window.podwall.cy.elements().style('display', 'element')")
        text = page.details()
        assert text.startswith(node["id"])
        for pol in node["policies"]["ingress"]:
            assert pol in text
        # an explained edge shows podwall explain's text
        edge = next(e for e in doc["edges"] if e["explain"])
        page.js(
            "(e) => window.podwall.showEdge(window.podwall.data.edges.find((x) => x.from === e.from && x.to === e.to))",
            edge,
        )
        cmd = page.page.inner_text("#details code.cmd")
        assert page.page.inner_text("#details pre.explain") == explain_output(cmd)
        page.shot("report-2000-expanded.png")
        assert page.errors == []
        assert first_layout > 0
    finally:
        page.close()


def test_services_and_findings_links(browser: Any, tmp_path: Path) -> None:
    path, doc = write_report(tmp_path, "svc", SEED, "-n", "production", "--services")
    page = Page(browser, path)
    try:
        links = {(x["from"], x["to"]) for x in doc["service_links"]}
        drawn = page.js("() => window.podwall.cy.edges('.svc-link').map((e) => [e.source().id(), e.target().id()])")
        assert {tuple(x) for x in drawn} == links and links
        assert page.js("() => window.podwall.cy.nodes('.service').length") == len(doc["services"])
        page.page.uncheck("#opt-services")
        page.page.wait_for_timeout(300)
        assert page.js("() => window.podwall.cy.nodes('.service').length") == 0
        # a finding about a node: its link selects the node and shows its details
        k, finding = next((k, f) for k, f in enumerate(doc["lint"]) if f["node"])
        page.page.click("nav.tabs button[data-view=findings]")
        page.page.locator("table.findings tbody tr").nth(k).locator(".link").first.click()
        page.page.wait_for_timeout(400)
        assert page.details().startswith(finding["node"]) and finding["message"] in page.details()
        assert page.js("() => window.podwall.cy.$(':selected').map((n) => n.id())") == [finding["node"]]
        assert page.errors == []
    finally:
        page.close()
