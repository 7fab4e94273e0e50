"""``podwall report`` and ``podwall graph`` without a browser: the embedded document against the
matrix, the per-pair oracle and ``podwall explain``; the diff; the dot, Mermaid and SVG outputs."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import podwall
from podwall.core.model import Protocol
from podwall.core.names import group_key
from podwall.core.portsets import PortSet
from podwall.report import portsets
from podwall.report.html import extract_document, render_html

from .conftest import SEED, explain_output, run, seed_without, write_report


def matrix_by_workload(*args: str) -> tuple[list[str], dict[tuple[str, str], str]]:
    code, out, err = run("matrix", *args, "--by", "workload", "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    return data["groups"], {(c["from"], c["to"]): c["state"] for c in data["cells"]}


def connectivity_by_workload(*args: str) -> dict[tuple[str, str], dict]:
    code, out, err = run("matrix", *args, "--ports", "all", "--by", "workload", "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["kind"] == "ConnectivityList"
    return {(c["from"], c["to"]): c["allowed"] for c in data["connections"]}


@pytest.mark.parametrize("which", ["seed", "generated"])
def test_nodes_and_edges_are_the_matrix_by_workload(which: str, generated: list[str], tmp_path: Path) -> None:
    args = [SEED, "-n", "production"] if which == "seed" else generated
    _, doc = write_report(tmp_path, which, *args)
    groups, states = matrix_by_workload(*args)
    conns = connectivity_by_workload(*args)
    assert doc["schema"] == "podwall/v1" and doc["kind"] == "Report"
    assert [n["id"] for n in doc["nodes"]] == groups
    inside = {k: v for k, v in conns.items() if k[0] in groups and k[1] in groups}
    outside = {k: v for k, v in conns.items() if k not in inside}
    assert {(e["from"], e["to"]): e["allowed"] for e in doc["edges"]} == inside
    assert {(e["from"], e["to"]): e["allowed"] for e in doc["external_edges"]} == outside
    # the declared-port state of every edge is matrix's; a cell matrix calls all/some is an edge
    assert all(e["state"] == states[(e["from"], e["to"])] for e in doc["edges"])
    assert {k for k, st in states.items() if st in ("all", "some")} <= set(inside)
    assert doc["counts"]["nodes"] == len(groups) and doc["counts"]["edges"] == len(inside)
    ns_of = {n["id"]: n["namespace"] for n in doc["nodes"]}
    assert all(ns_of[g] == g.split("/")[0] for g in groups)
    ext = {n["id"] for n in doc["externals"]}
    assert {x for k in outside for x in k if x not in groups} <= ext


def test_edge_ports_are_the_union_over_endpoint_pairs(generated: list[str], tmp_path: Path) -> None:
    """Each edge's ``allowed`` is the union of what the per-pair oracle lets member pairs open."""
    from podwall.core.connectivity import connections
    from podwall.core.model import Address

    _, doc = write_report(tmp_path, "gen", *generated)
    loaded = podwall.load(generated)
    eps = loaded.cluster.endpoints
    union: dict[tuple[str, str], PortSet] = {}

    def add(a: str, b: str, ps: PortSet) -> None:
        if not ps.is_empty:
            union[(a, b)] = union.get((a, b), PortSet.none()) | ps

    for a in eps:
        for b in eps:
            if a is b and a.is_pod:
                continue  # a pod reaching itself is not an edge
            add(group_key(a, "workload"), group_key(b, "workload"), connections(loaded.engine, a, b))
    for n in doc["externals"]:
        addr = Address(ip=ipaddress.ip_address(n["address"]))
        for e in eps:
            add(group_key(e, "workload"), n["id"], connections(loaded.engine, e, addr))
            add(n["id"], group_key(e, "workload"), connections(loaded.engine, addr, e))
    got = {(e["from"], e["to"]): PortSet.from_json(e["allowed"]) for e in (*doc["edges"], *doc["external_edges"])}
    assert got == union
    assert any(not ps.is_all and ps.count() > 1 for ps in got.values())


def test_seed_explanations_are_podwall_explain(tmp_path: Path) -> None:
    _, doc = write_report(tmp_path, "seed", SEED, "-n", "production")
    texts = doc["explanations"]
    assert len(texts) > 50
    for x in texts:
        assert explain_output(x["command"]) == x["text"], x["command"]
    # every edge port and every denied cell of the seed is explained (the seed is small)
    for e in doc["edges"]:
        assert e["explain"], e
        for name, k in e["explain"].items():
            assert texts[k]["allowed"] == portsets.contains(e["allowed"], *_split(name))
    assert doc["denied"] and all(not texts[k]["allowed"] for d in doc["denied"] for k in d["explain"].values())
    assert doc["limits"]["not_explained"] == 0


def _split(name: str) -> tuple[str, int]:
    proto, port = name.split("/")
    return proto, int(port)


def test_explanation_budget_is_kept_and_said(generated: list[str], tmp_path: Path) -> None:
    _, doc = write_report(tmp_path, "gen", *generated, "--explain-limit", "25")
    assert len(doc["explanations"]) == 25
    assert doc["limits"]["explained"] == 25 and doc["limits"]["not_explained"] > 0
    # the first allowed port of edges comes first
    first = [e for e in doc["edges"] if e["explain"]]
    assert len(first) == 25 and all(doc["explanations"][k]["allowed"] for e in first for k in e["explain"].values())
    for x in doc["explanations"][:5]:
        assert explain_output(x["command"]) == x["text"]


def test_node_policies_and_isolation(tmp_path: Path) -> None:
    _, doc = write_report(tmp_path, "seed", SEED, "-n", "production")
    loaded = podwall.load([SEED], namespace="production")
    from podwall.core.model import Direction

    for n in doc["nodes"]:
        ep = next(e for e in loaded.cluster.endpoints if e.key == n["id"])
        for d, word in ((Direction.INGRESS, "ingress"), (Direction.EGRESS, "egress")):
            pols = [p.key for p in loaded.engine.selecting(ep, d)]
            assert n["policies"][word] == pols
            assert n["isolation"][word] == ("isolated" if pols else "open")
    policies = {p["id"]: p for p in doc["policies"]}
    backend = policies["production/allow-frontend-to-backend"]
    assert backend["selects"]["ingress"] == ["production/deployment/backend"]
    assert backend["ingress"][0]["peers"] == ["podSelector app=frontend"] and backend["ingress"][0]["ports"] == [
        "TCP/8080"
    ]
    assert backend["line"] > 0 and backend["file"].endswith("policies.yaml")


def test_lint_findings_are_linked(tmp_path: Path) -> None:
    _, doc = write_report(tmp_path, "seed", SEED, "-n", "production")
    _, out, _ = run("lint", SEED, "-n", "production", "-o", "json")
    expected = json.loads(out)["findings"]
    assert sorted((f["rule"], f["message"], f["line"]) for f in doc["lint"]) == sorted(
        (f["rule"], f["message"], f["line"]) for f in expected
    )
    policies = {p["id"]: p for p in doc["policies"]}
    nodes = {n["id"]: n for n in doc["nodes"]}
    for k, f in enumerate(doc["lint"]):
        if f["policy"] in policies:
            assert k in policies[f["policy"]]["lint"]
        if f["node"]:
            assert k in nodes[f["node"]]["lint"]
    assert any(f["node"] for f in doc["lint"]) and any(f["policy"] for f in doc["lint"])
    _, nolint = write_report(tmp_path, "nolint", SEED, "-n", "production", "--no-lint")
    assert nolint["lint"] == [] and nolint["lint_ran"] is False


def test_page_is_self_contained(tmp_path: Path) -> None:
    page, _ = write_report(tmp_path, "seed", SEED, "-n", "production")
    text = page.read_text(encoding="utf-8")
    assert "<script src" not in text and "<link" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "cytoscape" in text and "cytoscapeFcose" in text
    assert text.count('id="podwall-data"') == 1


def test_embedded_json_cannot_close_its_script() -> None:
    doc = {"schema": "podwall/v1", "kind": "Report", "title": "t", "nodes": [], "x": "</script><b>&amp;"}
    page = render_html(doc)
    assert page.count("</script>") == page.count("<script")
    assert extract_document(page) == doc


def test_diff_against_old_and_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = seed_without(tmp_path, "allow-frontend-to-backend")
    _, doc = write_report(tmp_path, "diff", SEED, "-n", "production", "--old", old)
    changes = doc["diff"]["changes"]
    assert [(c["from"], c["to"], c["change"]) for c in changes] == [
        ("production/deployment/frontend", "production/deployment/backend", "added")
    ]
    c = changes[0]
    assert c["added"] == {"TCP": [[8080, 8080]]} and c["before"] == {}
    cause = c["causes"][0]
    base = [
        "-n",
        "production",
        "--from",
        "production/deployment/frontend",
        "--to",
        "production/deployment/backend",
        "-p",
        "8080",
    ]
    assert cause["before"] == explain_output(shlex_join(["podwall", "explain", old, *base]))
    assert cause["after"] == explain_output(shlex_join(["podwall", "explain", SEED, *base]))
    edge = next(e for e in doc["edges"] if (e["from"], e["to"]) == (c["from"], c["to"]))
    assert edge["change"] == "added"
    # the other way round the connection is removed
    _, back = write_report(tmp_path, "back", old, "-n", "production", "--old", SEED)
    assert [(x["change"], x["removed"]) for x in back["diff"]["changes"]] == [("removed", {"TCP": [[8080, 8080]]})]
    # --base REV reads the same paths from git
    if shutil.which("git") is None:
        pytest.fail("git is needed for --base")
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("cluster.yaml", "policies.yaml"):
        (repo / name).write_text((Path(old) / name).read_text())
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "before"]):
        subprocess.run(["git", *cmd], cwd=repo, check=True, env=env)
    (repo / "policies.yaml").write_text((Path(SEED) / "policies.yaml").read_text())
    monkeypatch.chdir(repo)  # --base reads the paths from the git repository they are in, as podwall diff
    _, based = write_report(tmp_path, "based", ".", "-n", "production", "--base", "HEAD")
    assert [(x["from"], x["to"], x["change"], x["added"]) for x in based["diff"]["changes"]] == [
        (c["from"], c["to"], "added", c["added"])
    ]
    assert based["diff"]["base"] == "HEAD"
    code, _, err = run("report", ".", "-n", "production", "--base", "no-such-rev", "-o", str(tmp_path / "x.html"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no-such-rev" in err


def shlex_join(words: list[str]) -> str:
    import shlex

    return shlex.join(words)


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec:\n  podSelector: 3\n"
    )
    for cmd in (["report", str(bad), "-o", str(tmp_path / "r.html")], ["graph", str(bad)]):
        code, out, err = run(*cmd)
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1 and "bad.yaml:5" in err and "spec.podSelector" in err
        assert "Traceback" not in err + out


def test_graph_dot_and_mermaid(tmp_path: Path) -> None:
    _, doc = write_report(tmp_path, "seed", SEED, "-n", "production")
    code, dot, _ = run("graph", SEED, "-n", "production")
    assert code == 0
    assert len(re.findall(r"subgraph cluster_\d+ ", dot)) == len(doc["namespaces"])
    assert dot.count("subgraph cluster_outside") == 1
    edges = re.findall(r'^  "([^"]+)" -> "([^"]+)" \[label="([^"]*)"', dot, re.MULTILINE)
    every = (*doc["edges"], *doc["external_edges"])
    assert {(a, b): lab for a, b, lab in edges} == {(e["from"], e["to"]): portsets.text(e["allowed"]) for e in every}
    code, mer, _ = run("graph", SEED, "-n", "production", "-o", "mermaid")
    assert code == 0 and mer.startswith("flowchart LR\n")
    assert len(re.findall(r"^  subgraph ns\d+\[", mer, re.MULTILINE)) == len(doc["namespaces"])
    assert len(re.findall(r"^  n\d+ -->\|", mer, re.MULTILINE)) == len(doc["edges"])
    assert len(re.findall(r"^  n\d+ -\.->\|", mer, re.MULTILINE)) == len(doc["external_edges"])


def test_graph_svg_needs_dot(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        pytest.fail("Graphviz dot is not installed (scripts/test.sh installs it)")
    code, svg, err = run("graph", SEED, "-n", "production", "-o", "svg")
    assert code == 0, err
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "production/deployment/backend" in svg
    empty = tmp_path / "bin"
    empty.mkdir()
    from click.testing import CliRunner

    from podwall.cli.main import cli

    result = CliRunner().invoke(cli, ["graph", SEED, "-n", "production", "-o", "svg"], env={"PATH": str(empty)})
    assert result.exit_code == 3
    assert (
        len(result.stderr.strip().splitlines()) == 1 and "dot" in result.stderr and "graphviz" in result.stderr.lower()
    )


def test_portsets_encoding() -> None:
    keys = [(Protocol.TCP, 81), (Protocol.TCP, 80), (Protocol.UDP, 53), (Protocol.TCP, 443), (Protocol.TCP, 80)]
    assert portsets.from_keys(keys) == {"TCP": [[80, 81], [443, 443]], "UDP": [[53, 53]]}
    assert portsets.from_keys(keys) == PortSet({Protocol.TCP: [(p, p) for _, p in keys[:2] + keys[3:]],
                                                Protocol.UDP: [(53, 53)]}).to_json()
    assert portsets.from_keys([]) == {} == PortSet.none().to_json()
    assert portsets.text({"TCP": [[1, 65535]], "UDP": [[53, 53], [60, 70]]}) == "TCP all; UDP 53,60-70"
    assert portsets.text(PortSet.all().to_json()) == "all"
    assert portsets.text({}) == "none"
    assert portsets.first_ports({"TCP": [[80, 81], [443, 443]], "UDP": [[53, 53]]}, 3) == [
        ("TCP", 80), ("TCP", 81), ("TCP", 443)
    ]
    assert portsets.contains({"UDP": [[50, 60]]}, "UDP", 53) and not portsets.contains({"UDP": [[50, 60]]}, "TCP", 53)


def test_services_are_linked_to_what_they_select(tmp_path: Path) -> None:
    _, doc = write_report(tmp_path, "svc", SEED, "-n", "production", "--services")
    loaded = podwall.load([SEED], namespace="production")
    want = {}
    for svc in loaded.cluster.services:
        sel = svc.selector or {}
        want[svc.key] = sorted(
            e.key
            for e in loaded.cluster.endpoints
            if sel and e.namespace == svc.namespace and all(e.labels.get(k) == v for k, v in sel.items())
        )
    got: dict[str, list[str]] = {n["id"]: [] for n in doc["services"]}
    for link in doc["service_links"]:
        got[link["from"]].append(link["to"])
    assert {k: sorted(v) for k, v in got.items()} == want
    assert want["production/service/backend-service"] == ["production/deployment/backend"]
    _, plain = write_report(tmp_path, "nosvc", SEED, "-n", "production")
    assert plain["services"] == [] and plain["service_links"] == []


def test_by_pod_and_stdout(generated: list[str], tmp_path: Path) -> None:
    _, doc = write_report(tmp_path, "pods", *generated, "--by", "pod")
    code, out, _ = run("matrix", *generated, "--by", "pod", "-o", "json")
    endpoints = json.loads(out)["endpoints"]
    assert [n["id"] for n in doc["nodes"]] == endpoints
    conns = connectivity_by_workload(*generated)  # sanity: the workload view groups these pods
    assert len({g for g, _ in conns}) < len(endpoints)
    code, out, _ = run("matrix", *generated, "--ports", "all", "--by", "pod", "-o", "json")
    pods = {n["id"] for n in doc["nodes"] if n["kind"] == "Pod"}
    inside = set(endpoints)
    want = {
        (c["from"], c["to"]): c["allowed"]
        for c in json.loads(out)["connections"]
        if c["from"] in inside and c["to"] in inside and not (c["from"] == c["to"] and c["from"] in pods)
    }
    assert {(e["from"], e["to"]): e["allowed"] for e in doc["edges"]} == want  # a pod reaching itself is no edge
    code, page, _ = run("report", SEED, "-n", "production", "-o", "-")
    assert code == 0 and page.startswith("<!doctype html>") and extract_document(page)["kind"] == "Report"


def test_json_output_is_the_report_document_valid_against_its_schema(tmp_path: Path) -> None:
    import jsonschema

    schema = json.loads((Path(SEED).parents[2] / "docs" / "schemas" / "Report.json").read_text())
    _, page_doc = write_report(tmp_path, "seed", SEED, "-n", "production")
    code, out, _ = run("report", SEED, "-n", "production", "-o", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc == page_doc  # the same document the page embeds
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    old = seed_without(tmp_path, "allow-frontend-to-backend")
    code, out, _ = run("report", SEED, "-n", "production", "--old", old, "-o", "json")
    jsonschema.validate(json.loads(out), schema, cls=jsonschema.Draft202012Validator)
    code, out, _ = run("graph", SEED, "-n", "production", "-o", "json")
    graph_doc = json.loads(out)
    jsonschema.validate(graph_doc, schema, cls=jsonschema.Draft202012Validator)
    assert graph_doc["edges"] == [dict(e, explain={}) for e in doc["edges"]]
    bad = dict(doc, edges=[dict(doc["edges"][0], allowed={"TCP": [[0, 80]]})])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema, cls=jsonschema.Draft202012Validator)


def test_tier_policies_are_shown_and_edges_follow_them(tmp_path: Path) -> None:
    """With cluster-wide policies (examples/tiers) the edges are the tier-aware port space of
    ``matrix --ports all`` (addresses outside the cluster included), their states matrix's, and a
    node lists the tier policies whose subject selects it, in evaluation order."""
    tiers = str(Path(SEED).parents[1] / "tiers" / "policies.yaml")
    args = [SEED, tiers, "-n", "production"]
    _, doc = write_report(tmp_path, "tiers", *args)
    assert doc["ports"] == "all"
    groups, states = matrix_by_workload(*args)
    conns = connectivity_by_workload(*args)
    assert [n["id"] for n in doc["nodes"]] == groups
    inside = {k: v for k, v in conns.items() if k[0] in groups and k[1] in groups}
    assert {(e["from"], e["to"]): e["allowed"] for e in doc["edges"]} == inside
    assert {(e["from"], e["to"]): e["allowed"] for e in doc["external_edges"]} == {
        k: v for k, v in conns.items() if k not in inside
    }
    assert all(e["state"] == states[(e["from"], e["to"])] for e in doc["edges"])
    assert {k for k, st in states.items() if st in ("all", "some")} <= set(inside)
    # the Baseline's no-internet rule: nothing in production reaches the outside
    assert doc["external_edges"] and not any(
        e["from"].startswith("production/") and e.get("external") and e["to"] not in groups
        for e in doc["external_edges"]
    )
    loaded = podwall.load([SEED, tiers], namespace="production")
    by_key = {e.key: e for e in loaded.cluster.endpoints}
    for e in doc["edges"]:
        for name, k in e["explain"].items():
            x = doc["explanations"][k]
            proto, port = _split(name)
            ok = loaded.engine.allowed(by_key[x["from"]], by_key[x["to"]], port, Protocol(proto))
            assert x["allowed"] == ok == portsets.contains(e["allowed"], proto, port)
    # ci is a tenant (isolate-ci): nothing from production reaches it, whatever NetworkPolicies say
    assert not any(e["to"] == "ci/ci-runner" and e["from"].startswith("production/") for e in doc["edges"])
    node = next(n for n in doc["nodes"] if n["id"] == "production/deployment/backend")
    names = {tp.key for tp in loaded.cluster.tier_policies}
    assert set(node["tier_policies"]) <= names and "ClusterNetworkPolicy/isolate-production" in node["tier_policies"]
    policies = {p["id"]: p for p in doc["policies"]}
    iso = policies["ClusterNetworkPolicy/isolate-production"]
    assert iso["tier"] == "Admin" and iso["priority"] == 30
    assert [r["action"] for r in iso["ingress"]] == ["Pass", "Deny"]
    assert "production/deployment/backend" in iso["selects"]["ingress"]
    for x in doc["explanations"][:10]:
        assert explain_output(x["command"]) == x["text"]
