"""--cluster: every command reads a live cluster (here: the API emulator on 127.0.0.1) and answers
exactly as it does on the same objects from files; paging, refusals and broken connections are
one clear line with exit code 2."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.conftest import CONFORMANCE, EXAMPLES, REPO
from tests.live.conftest import manifest_objects
from tests.live.emulator import ApiEmulator

import podwall
from podwall.cli.main import cli
from podwall.errors import ClusterError
from podwall.sources.cluster import ClusterTarget, cluster_role_yaml

pytestmark = pytest.mark.emulator

SEED = EXAMPLES / "seed" / "manifests"
EXPECT = EXAMPLES / "seed" / "expect.yaml"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def seed_emulator() -> Iterator[ApiEmulator]:
    with ApiEmulator(objects=manifest_objects([SEED], "production"), max_page=2) as emu:
        yield emu


QUESTIONS = [
    ["validate"],
    ["can", "--from", "production/frontend", "--to", "production/backend", "--port", "8080"],
    ["can", "--from", "production/deny-test", "--to", "production/service/postgres", "--port", "5432"],
    ["explain", "--from", "production/frontend", "--to", "production/postgres", "--port", "5432"],
    ["matrix", "--by", "pod", "-o", "csv"],
    ["matrix", "--by", "namespace", "-o", "csv"],
    ["test", "--expect", str(EXPECT)],
    ["lint", "-o", "json"],
]


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: " ".join(q[:3]))
def test_seed_same_answer_from_cluster_and_files(seed_emulator: ApiEmulator, kubeconfig_for: Any, question: list[str]):
    kc = kubeconfig_for(seed_emulator)
    cmd, rest = question[0], question[1:]
    files = run(cmd, str(SEED), "-n", "production", *rest)
    live = run(cmd, "--cluster", "--kubeconfig", kc, "-A", "-n", "production", *rest)
    assert live.exit_code == files.exit_code, live.output
    if cmd == "lint":
        # Findings are located in different sources (a file vs cluster:<context>/<resource>), and
        # missing-namespace is about a manifest: applied with -n, the objects in the cluster have one.
        import json

        def strip(doc: str) -> list[tuple[str, str]]:
            # Of two identical rules, which one lint calls shadowed follows input order.
            found = json.loads(doc)["findings"]
            return sorted(
                (f["rule"], "" if f["rule"] == "shadowed-rule" else f["message"])
                for f in found
                if f["rule"] != "missing-namespace"
            )

        assert strip(live.stdout) == strip(files.stdout)
        assert strip(files.stdout)
    elif cmd == "validate":
        assert files.stderr.splitlines()[-1] == live.stderr.splitlines()[-1]
        assert files.stdout == live.stdout
    elif cmd in ("can", "explain"):
        # The verdict is identical; the policies that isolate an endpoint are listed in input
        # order, and the API server lists objects by name, not in file order.
        assert live.stdout.splitlines()[0] == files.stdout.splitlines()[0]
        words = lambda text: sorted(text.replace(",", " ").split())  # noqa: E731
        assert words(live.stdout) == words(files.stdout)
    elif cmd == "matrix":
        # one line per (from, to): the same cells, whatever order the objects were listed in
        assert sorted(live.stdout.splitlines()) == sorted(files.stdout.splitlines())
        assert len(files.stdout.splitlines()) > 5
    else:
        assert live.stdout == files.stdout
    assert "read " in live.stderr and "objects from http://127.0.0.1:" in live.stderr


def test_reading_is_paged_and_read_only(seed_emulator: ApiEmulator, kubeconfig_for: Any):
    seed_emulator.requests.clear()
    c = podwall.load([], namespace="production", cluster=ClusterTarget(kubeconfig=kubeconfig_for(seed_emulator)))
    assert c.cluster_read is not None
    assert c.cluster_read.counts["deployments.apps"] == 6
    pages = [r for r in seed_emulator.requests if r.path.endswith("/deployments")]
    # 6 deployments, at most 2 per page: 3 requests, the later ones with a continue token
    assert len(pages) == 3
    assert [bool(r.query.get("continue")) for r in pages] == [False, True, True]
    assert all(r.query.get("limit") == "500" for r in pages)
    assert seed_emulator.writes() == []
    files = podwall.load([str(SEED)], namespace="production")
    assert sorted(e.key for e in c.cluster.endpoints) == sorted(e.key for e in files.cluster.endpoints)
    assert sorted(p.key for p in c.cluster.policies) == sorted(p.key for p in files.cluster.policies)


def test_missing_crds_are_not_installed(seed_emulator: ApiEmulator, kubeconfig_for: Any):
    c = podwall.load([], cluster=ClusterTarget(kubeconfig=kubeconfig_for(seed_emulator)))
    assert c.cluster_read is not None
    assert "ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2)" in c.cluster_read.not_installed
    r = run("matrix", "--cluster", "--kubeconfig", kubeconfig_for(seed_emulator))
    assert r.exit_code == 0
    assert "not installed: ClusterNetworkPolicy" in r.stderr


def test_installed_crds_are_read(kubeconfig_for: Any):
    cnp = {
        "apiVersion": "policy.networking.k8s.io/v1alpha2",
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": "deny-all"},
        "spec": {"tier": "Baseline", "priority": 5, "subject": {"namespaces": {}}, "ingress": []},
    }
    with ApiEmulator(objects=[*manifest_objects([SEED], "production"), cnp], crds=True) as emu:
        c = podwall.load([], cluster=ClusterTarget(kubeconfig=kubeconfig_for(emu)))
        assert c.cluster_read is not None
        assert c.cluster_read.not_installed == []
        assert c.cluster_read.counts["clusternetworkpolicies.policy.networking.k8s.io"] == 1


def test_namespace_flag_reads_one_namespace(seed_emulator: ApiEmulator, kubeconfig_for: Any):
    seed_emulator.requests.clear()
    target = ClusterTarget(kubeconfig=kubeconfig_for(seed_emulator), namespace="production")
    c = podwall.load([], namespace="production", cluster=target)
    assert {e.namespace for e in c.cluster.endpoints} == {"production"}
    pod_lists = {r.path for r in seed_emulator.requests if r.path.endswith("/pods")}
    assert pod_lists == {"/api/v1/namespaces/production/pods"}


@pytest.mark.parametrize("case", ["default-deny-ingress", "allow-from-same-namespace-by-podselector", "ports"])
def test_conformance_cluster_same_matrix(case: str, kubeconfig_for: Any):
    state = CONFORMANCE / case
    with ApiEmulator(objects=manifest_objects([state / "cluster.yaml", state / "policies.yaml"])) as emu:
        files = run(
            "test", str(state / "cluster.yaml"), str(state / "policies.yaml"), "--expect", str(state / "expected.yaml")
        )
        live = run("test", "--cluster", "--kubeconfig", kubeconfig_for(emu), "--expect", str(state / "expected.yaml"))
        assert files.exit_code == 0
        assert live.exit_code == 0, live.output
        assert live.stdout == files.stdout
        m_files = run("matrix", str(state / "cluster.yaml"), str(state / "policies.yaml"), "--by", "pod", "-o", "csv")
        m_live = run("matrix", "--cluster", "--kubeconfig", kubeconfig_for(emu), "--by", "pod", "-o", "csv")
        assert sorted(m_live.stdout.splitlines()) == sorted(m_files.stdout.splitlines())


def test_forbidden_names_the_permission(kubeconfig_for: Any):
    with ApiEmulator(objects=manifest_objects([SEED], "production"), forbid={("list", "networkpolicies")}) as emu:
        r = run("matrix", "--cluster", "--kubeconfig", kubeconfig_for(emu))
        assert r.exit_code == 2
        line = r.stderr.strip().splitlines()[-1]
        assert "forbidden (403)" in line
        assert "needs 'list' on networkpolicies (apiGroup networking.k8s.io)" in line
        assert "NetworkPolicy objects" in line
        assert "Traceback" not in r.output


def test_wrong_token_is_unauthorized(kubeconfig_for: Any):
    with ApiEmulator(objects=[]) as emu:
        r = run("matrix", "--cluster", "--kubeconfig", kubeconfig_for(emu, token="wrong"))
        assert r.exit_code == 2
        assert "unauthorized (401)" in r.stderr


def test_wrong_context_is_one_line(seed_emulator: ApiEmulator, kubeconfig_for: Any):
    r = run("matrix", "--cluster", "--kubeconfig", kubeconfig_for(seed_emulator), "--context", "prod")
    assert r.exit_code == 2
    assert "has no context 'prod' (it has: emulator)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unreachable_server(tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    emu = ApiEmulator()
    kc = emu.kubeconfig(tmp_path / "kc", server=f"http://127.0.0.1:{port}")
    r = run("matrix", "--cluster", "--kubeconfig", str(kc))
    assert r.exit_code == 2
    assert "cannot connect (connection refused" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_tls_failure_is_one_line(seed_emulator: ApiEmulator, tmp_path: Path):
    kc = seed_emulator.kubeconfig(tmp_path / "kc", server=seed_emulator.url.replace("http://", "https://"))
    r = run("matrix", "--cluster", "--kubeconfig", str(kc))
    assert r.exit_code == 2
    assert "TLS" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_silent_server_times_out(tmp_path: Path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # never answers
            except TimeoutError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        kc = ApiEmulator().kubeconfig(tmp_path / "kc", server=f"http://127.0.0.1:{listener.getsockname()[1]}")
        r = run("matrix", "--cluster", "--kubeconfig", str(kc), "--request-timeout", "0.5")
        assert r.exit_code == 2
        assert "no answer within 0.5 s (timeout)" in r.stderr
    finally:
        stop.set()
        t.join(5)
        for c in accepted:
            c.close()
        listener.close()


def test_api_raises_cluster_error(tmp_path: Path):
    with pytest.raises(ClusterError, match="no kubeconfig"):
        podwall.load([], cluster=ClusterTarget(kubeconfig=str(tmp_path / "missing")))


def test_paths_or_cluster_required():
    r = run("matrix")
    assert r.exit_code == 2
    assert "give manifest PATHS" in r.output


def test_cluster_role_covers_what_is_read():
    role = cluster_role_yaml()
    for plural in ("pods", "networkpolicies", "endpointslices", "clusternetworkpolicies", "nodes"):
        assert plural in role
    assert "verbs: [get, list, watch]" in role
    assert "create" not in role and "delete" not in role


def test_tiers_from_cluster_same_as_files(kubeconfig_for: Any):
    """The cluster-wide policy kinds, when their CRDs are installed, are read and evaluated as from files."""
    tiers = EXAMPLES / "tiers" / "policies.yaml"
    expect = EXAMPLES / "tiers" / "expect.yaml"
    with ApiEmulator(objects=manifest_objects([SEED, tiers], "production"), crds=True) as emu:
        kc = kubeconfig_for(emu)
        files = run("test", str(SEED), str(tiers), "-n", "production", "--expect", str(expect))
        live = run("test", "--cluster", "--kubeconfig", kc, "-n", "production", "-A", "--expect", str(expect))
        assert files.exit_code == 0, files.output
        assert live.exit_code == 0, live.output
        assert live.stdout == files.stdout
        assert "not installed" not in live.stderr
        flow = ["--from", "ci/ci-runner", "--to", "production/backend", "--port", "8080"]
        assert (
            run("can", "--cluster", "--kubeconfig", kc, *flow).stdout
            == run("can", str(SEED), str(tiers), "-n", "production", *flow).stdout
        )


def test_diff_cluster_reviews_an_apply(kubeconfig_for: Any, tmp_path: Path):
    """diff --cluster PATHS: the live cluster against the live cluster with PATHS applied on top."""
    with ApiEmulator(objects=manifest_objects([SEED], "production")) as emu:
        kc = kubeconfig_for(emu)
        same = run("diff", "--cluster", "--kubeconfig", kc, str(SEED / "policies.yaml"), "-n", "production")
        assert same.exit_code == 0, same.output
        assert same.stdout.startswith("no difference")
        # applying a stray '-' (an AND peer split into an OR) opens backend:8080 to every production pod
        stray = (REPO / "tests" / "diff" / "scenarios" / "stray-dash-and-to-or" / "after" / "policies.yaml").read_text()
        (tmp_path / "policies.yaml").write_text(stray)
        r = run("diff", "--cluster", "--kubeconfig", kc, str(tmp_path), "-n", "production", "--fail-on", "opened")
        assert r.exit_code == 1, r.output
        files = run(
            "diff", "-n", "production", "--old", str(SEED), "--new", str(SEED / "cluster.yaml"), "--new", str(tmp_path)
        )
        # the same changes, with the same causes; without -A the cluster is read in production
        # only, so fewer pairs are unchanged than with every namespace the files hold
        changes = lambda out: sorted(line for line in out.splitlines() if "unchanged pairs" not in line)  # noqa: E731
        assert changes(r.stdout) == changes(files.stdout)
        assert len(changes(r.stdout)) > 4
        every = run("diff", "--cluster", "--kubeconfig", kc, str(tmp_path), "-n", "production", "-A")
        assert every.exit_code == 0, every.output
        assert every.stdout == files.stdout  # every namespace: the summary line too
        assert "because production/allow-frontend-to-backend ingress rule #1 edited" in r.stdout
        assert emu.writes() == []
        usage = run("diff", "--cluster", "--kubeconfig", kc, "--base", "HEAD", str(tmp_path))
        assert usage.exit_code == 2


def test_report_and_graph_from_cluster(seed_emulator: ApiEmulator, kubeconfig_for: Any, tmp_path: Path):
    """report and graph take --cluster like every analysis command: the same nodes and edges as from files."""
    from podwall.report.html import extract_document

    kc = kubeconfig_for(seed_emulator)
    live = run("report", "--cluster", "--kubeconfig", kc, "-o", str(tmp_path / "live.html"))
    files = run("report", str(SEED), "-n", "production", "-o", str(tmp_path / "files.html"))
    assert live.exit_code == 0 and files.exit_code == 0, live.output
    a = extract_document((tmp_path / "live.html").read_text())
    b = extract_document((tmp_path / "files.html").read_text())
    assert sorted(n["id"] for n in a["nodes"]) == sorted(n["id"] for n in b["nodes"])
    edges = lambda doc: sorted((e["from"], e["to"], str(e["allowed"])) for e in doc["edges"])  # noqa: E731
    assert edges(a) == edges(b)
    assert len(edges(a)) > 10
    g_live = run("graph", "--cluster", "--kubeconfig", kc, "-o", "mermaid")
    assert g_live.exit_code == 0 and "flowchart" in g_live.stdout
