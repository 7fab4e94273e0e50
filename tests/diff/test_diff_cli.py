"""``podwall diff`` end to end: the seed scenarios, every format, --base on a git repository,
--fail-on and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import podwall
from podwall.cli.main import cli
from podwall.core.portsets import PortSet

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
CLUSTER = str(HERE.parents[1] / "examples" / "seed" / "manifests" / "cluster.yaml")
SEED = HERE.parents[1] / "examples" / "seed" / "manifests"


def run(args: list[str], code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["diff", *args])
    assert result.exit_code == code, result.output
    return result.stdout


def scenario_args(name: str) -> list[str]:
    """``-n production --old CLUSTER --old before/ --new CLUSTER --new after/`` of a scenario."""
    d = SCENARIOS / name
    old, new = str(d / "before"), str(d / "after")
    return ["-n", "production", "--old", CLUSTER, "--old", old, "--new", CLUSTER, "--new", new]


def scenario(name: str, *extra: str, code: int = 0) -> str:
    return run([*scenario_args(name), *extra], code)


def changes(name: str, *extra: str) -> list[dict[str, Any]]:
    doc = json.loads(scenario(name, "-o", "json", *extra))
    assert doc["schema"] == "podwall/v1" and doc["kind"] == "Diff"
    return doc["changes"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", ["reformatted", "renamed", "split", "remove-allow-backend-to-db"])
def test_equivalent_versions_report_nothing(name: str) -> None:
    assert changes(name) == []
    assert changes(name, "--by", "pod") == []
    assert scenario(name).startswith("no difference in allowed connections")


def test_removing_allow_backend_to_db_changes_nothing_because_database_policy_allows_the_same() -> None:
    # the truth: database-policy has the same rule (backend -> postgres TCP 5432)
    after = podwall.load([CLUSTER, SCENARIOS / "remove-allow-backend-to-db" / "after"], namespace="production")
    assert after.can("production/deployment/backend", "production/statefulset/postgres", 5432).allowed
    assert str(after.allowed_ports("production/deployment/backend", "production/statefulset/postgres")) == "TCP 5432"


def test_removing_both_database_policies_closes_backend_to_postgres() -> None:
    got = changes("remove-both-db-policies")
    closes = {"TCP": [[5432, 5432]]}
    assert got == [
        {
            "change": "removed",
            "from": "production/deployment/backend",
            "to": "production/statefulset/postgres",
            "before": closes,
            "after": {},
            "causes": [
                {
                    "policy": f"production/{name}",
                    "rule": "ingress rule #1",
                    "change": "removed",
                    "field": None,
                    "opens": {},
                    "closes": closes,
                }
                for name in ("allow-backend-to-db", "database-policy")
            ],
        }
    ]


def test_stray_dash_lists_every_connection_it_opens() -> None:
    got = changes("stray-dash-and-to-or")
    # every production workload that is neither frontend (already allowed) nor backend (its own
    # egress allows only postgres and DNS) may now reach backend on 8080
    assert {(c["change"], c["from"], c["to"], json.dumps(c["after"])) for c in got} == {
        ("added", src, "production/deployment/backend", json.dumps({"TCP": [[8080, 8080]]}))
        for src in (
            "production/deny-test",
            "production/test-pod",
            "production/deployment/my-app",
            "production/statefulset/postgres",
        )
    }
    for c in got:
        assert c["causes"] == [
            {
                "policy": "production/allow-frontend-to-backend",
                "rule": "ingress rule #1",
                "change": "edited",
                "field": "from[0].podSelector, from[1]",
                "opens": {"TCP": [[8080, 8080]]},
                "closes": {},
            }
        ]
    # the same pairs, pod by pod, equal the per-pair difference
    before = podwall.load([CLUSTER, SCENARIOS / "stray-dash-and-to-or" / "before"], namespace="production")
    after = podwall.load([CLUSTER, SCENARIOS / "stray-dash-and-to-or" / "after"], namespace="production")
    want = set()
    for s in after.cluster.endpoints:
        for d in after.cluster.endpoints:
            if s is d and s.is_pod:
                continue
            b = before.allowed_ports(s.key, d.key)
            a = after.allowed_ports(s.key, d.key)
            if a != b:
                want.add((s.key, d.key, str(b), str(a)))
    pod = changes("stray-dash-and-to-or", "--by", "pod")
    assert {
        (c["from"], c["to"], str(PortSet.from_json(c["before"])), str(PortSet.from_json(c["after"]))) for c in pod
    } == want


def test_edited_port_is_changed_with_the_field() -> None:
    got = changes("port-edited")
    assert len(got) == 6 and all(
        c["change"] == "changed" and c["from"] == "monitoring/deployment/prometheus" for c in got
    )
    assert all(c["before"] == {"TCP": [[9090, 9090]]} and c["after"] == {"TCP": [[9100, 9100]]} for c in got)
    assert {c["causes"][0]["field"] for c in got} == {"ports[0].port"}


def test_removed_except_opens_the_private_range() -> None:
    got = changes("except-removed")
    assert got == [
        {
            "change": "added",
            "from": "production/deployment/backend",
            "to": "10.0.0.0-10.255.255.255",
            "before": {},
            "after": {"TCP": [[443, 443]]},
            "causes": [
                {
                    "policy": "production/backend-egress",
                    "rule": "egress rule #2",
                    "change": "edited",
                    "field": "to[0].ipBlock.except",
                    "opens": {"TCP": [[443, 443]]},
                    "closes": {},
                }
            ],
        }
    ]


def test_new_workload_is_a_new_endpoint_not_an_addition() -> None:
    got = changes("new-workload")
    assert got and all(
        c["change"] == "new endpoint" and "production/deployment/worker" in (c["from"], c["to"]) for c in got
    )
    assert {"from": "monitoring/deployment/prometheus", "to": "production/deployment/worker"}.items() <= next(
        c for c in got if c["to"] == "production/deployment/worker"
    ).items()
    doc = json.loads(scenario("new-workload", "-o", "json"))
    assert doc["summary"] == {
        "added": 0,
        "removed": 0,
        "changed": 0,
        "unchanged": 120,
        "new_endpoint": 6,
        "removed_endpoint": 0,
    }
    # a new endpoint never trips --fail-on
    scenario("new-workload", "--fail-on", "any")


@pytest.mark.parametrize("name", sorted(p.name for p in SCENARIOS.iterdir()))
def test_text_and_markdown_golden(name: str, golden: Any) -> None:
    golden(HERE / "golden" / f"{name}.txt", scenario(name))
    golden(HERE / "golden" / f"{name}.md", scenario(name, "-o", "md"))


def test_csv() -> None:
    out = scenario("remove-both-db-policies", "-o", "csv").splitlines()
    assert out == [
        "change,from,to,before,after,causes",
        "removed,production/deployment/backend,production/statefulset/postgres,TCP 5432,none,"
        "production/allow-backend-to-db ingress rule #1 removed: closes TCP 5432; "
        "production/database-policy ingress rule #1 removed: closes TCP 5432",
    ]


@pytest.mark.parametrize(
    ("name", "fail_on", "code"),
    [
        ("stray-dash-and-to-or", "opened", 1),
        ("stray-dash-and-to-or", "closed", 0),
        ("stray-dash-and-to-or", "any", 1),
        ("remove-both-db-policies", "opened", 0),
        ("remove-both-db-policies", "closed", 1),
        ("port-edited", "opened", 1),
        ("port-edited", "closed", 1),
        ("renamed", "any", 0),
    ],
)
def test_fail_on(name: str, fail_on: str, code: int) -> None:
    scenario(name, "--fail-on", fail_on, code=code)


def test_two_positional_paths(tmp_path: Path) -> None:
    for side in ("before", "after"):
        shutil.copytree(SCENARIOS / "remove-both-db-policies" / side, tmp_path / side)
        shutil.copy(CLUSTER, tmp_path / side / "cluster.yaml")
    out = run([str(tmp_path / "before"), str(tmp_path / "after"), "-n", "production"])
    assert out.startswith(
        "removed          production/deployment/backend => production/statefulset/postgres : TCP 5432 -> none"
    )


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "HOME": str(cwd),
            "PATH": "/usr/bin:/bin",
        },
    )


def test_base_revision_reads_the_committed_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / "manifests").mkdir(parents=True)
    shutil.copy(SEED / "cluster.yaml", repo / "manifests" / "cluster.yaml")
    shutil.copy(SCENARIOS / "stray-dash-and-to-or" / "before" / "policies.yaml", repo / "manifests" / "policies.yaml")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    shutil.copy(SCENARIOS / "stray-dash-and-to-or" / "after" / "policies.yaml", repo / "manifests" / "policies.yaml")
    monkeypatch.chdir(repo)
    got = json.loads(run(["--base", "main", "manifests", "-n", "production", "-o", "json"]))["changes"]
    assert len(got) == 4 and {c["to"] for c in got} == {"production/deployment/backend"}
    # from a subdirectory, paths are relative to it, as git resolves them
    monkeypatch.chdir(repo / "manifests")
    assert len(json.loads(run(["--base", "HEAD", ".", "-n", "production", "-o", "json"]))["changes"]) == 4
    # committed: no difference
    git(repo, "commit", "-q", "-am", "or")
    assert run(["--base", "HEAD", ".", "-n", "production"]).startswith("no difference")
    # a file added since the base revision contributes nothing to the old side
    (repo / "manifests" / "extra.yaml").write_text((SCENARIOS / "new-workload" / "after" / "worker.yaml").read_text())
    assert "new endpoint" in run(["--base", "HEAD", ".", "-n", "production"])
    # an unknown revision is bad input
    result = CliRunner().invoke(cli, ["diff", "--base", "no-such-rev", ".", "-n", "production"])
    assert result.exit_code == 2 and "no such revision" in result.output


def test_base_outside_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(SEED / "cluster.yaml", tmp_path / "cluster.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    result = CliRunner().invoke(cli, ["diff", "--base", "main", "cluster.yaml"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --base needs a git repository, and the current directory is not inside one"


@pytest.mark.parametrize(
    "args",
    [
        ["only-one-path"],
        ["a", "b", "c"],
        ["--old", "a"],
        ["--old", "a", "--new", "b", "c"],
        ["--base", "main"],
        ["--base", "main", "--old", "a", "--new", "b", "x"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert CliRunner().invoke(cli, ["diff", *args]).exit_code == 2


def test_bad_manifest_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\n"
        "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 0\n"
    )
    result = CliRunner().invoke(cli, ["diff", CLUSTER, str(bad)])
    assert result.exit_code == 2
    err = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert len(err) == 1 and f"{bad}:8" in err[0], result.output
    assert "Traceback" not in result.output
    # in JSON mode the error is an Error document with the diagnostic's file, line and field
    result = CliRunner().invoke(cli, ["diff", CLUSTER, str(bad), "-o", "json"])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["kind"] == "Error" and "Traceback" not in result.output
    d = doc["error"]["diagnostics"][0]
    assert (d["file"], d["line"], d["field"]) == (str(bad), 8, "spec.ingress[0].ports[0].port")


def test_python_api() -> None:
    d = podwall.diff(
        [CLUSTER, SCENARIOS / "remove-both-db-policies" / "before"],
        [CLUSTER, SCENARIOS / "remove-both-db-policies" / "after"],
        namespace="production",
        by="pod",
    )
    assert [(c.change, c.src, c.dst, str(c.before), str(c.after)) for c in d.changes] == [
        ("removed", "production/deployment/backend", "production/statefulset/postgres", "TCP 5432", "none")
    ]
    assert d.closed and not d.opened


def test_shared_texts_are_parsed_once_and_decode_alike(tmp_path: Path) -> None:
    from podwall.api import load_versions

    old_paths = [CLUSTER, str(SCENARIOS / "port-edited" / "before")]
    new_paths = [CLUSTER, str(SCENARIOS / "port-edited" / "after")]
    a, b = load_versions(old_paths, new_paths, namespace="production")
    for got, paths in ((a, old_paths), (b, new_paths)):
        want = podwall.load(paths, namespace="production")
        assert got.cluster.policies == want.cluster.policies
        assert [(e.key, dict(e.labels), e.ports) for e in got.cluster.endpoints] == [
            (e.key, dict(e.labels), e.ports) for e in want.cluster.endpoints
        ]
    # a file with a problem is reported on each side under that side's name
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
        "metadata: {name: x}\nspec: {podSelector: {}, bogus: 1}\n"
    )
    a, b = load_versions([str(bad)], [str(bad)], strict=False)
    assert a.diagnostics and [d.render() for d in a.diagnostics] == [d.render() for d in b.diagnostics]


def test_nca_seed_v2_same_changes_as_nca_reports() -> None:
    """NCA's --semantic_diff on its v2 of the seed reports: monitoring -> production TCP 9100 added
    and TCP 9090 removed (all pods), backend -> kube-system TCP 53 removed (python-peers.md)."""
    got = {
        (c["from"], c["to"], str(PortSet.from_json(c["before"])), str(PortSet.from_json(c["after"])))
        for c in changes("nca-policies-v2")
    }
    production = [
        "deny-test",
        "test-pod",
        "deployment/frontend",
        "deployment/backend",
        "statefulset/postgres",
        "deployment/my-app",
    ]
    want = {("monitoring/deployment/prometheus", f"production/{p}", "TCP 9090", "TCP 9100") for p in production}
    want.add(("production/deployment/backend", "kube-system/deployment/coredns", "TCP 53; UDP 53", "UDP 53"))
    assert got == want


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (["matrix", str(SEED), "-n", "production", "--ports", "all"], "ConnectivityList"),
        (["matrix", str(SEED), "-n", "production", "--ports", "all", "--by", "namespace"], "ConnectivityList"),
        (["diff", *scenario_args("port-edited")], "Diff"),
        (["diff", *scenario_args("new-workload"), "--by", "pod"], "Diff"),
        (["diff", *scenario_args("renamed")], "Diff"),
    ],
)
def test_json_is_valid_against_its_schema(args: list[str], kind: str) -> None:
    from tests.cli.test_contract import validate_doc

    result = CliRunner().invoke(cli, [*args, "-o", "json"])
    assert result.exit_code == 0, result.output
    validate_doc(result.stdout, kind)


def test_json_errors_are_error_documents(tmp_path: Path) -> None:
    from tests.cli.test_contract import validate_doc

    result = CliRunner().invoke(cli, ["diff", "only-one", "-o", "json"])
    assert result.exit_code == 2
    doc = validate_doc(result.stdout, "Error")
    assert doc["error"]["code"] == 2


def test_cluster_wide_policies_in_diff_and_the_port_space() -> None:
    """Adding the platform team's ClusterNetworkPolicies to the seed: every change is caused by a
    tier rule and says which tier; ``matrix --ports all`` with the tiers agrees with ``can`` on
    every port it names and on ports it leaves out; the Python API answers the same."""
    tiers = str(HERE.parents[1] / "examples" / "tiers" / "policies.yaml")
    base = ["-n", "production", "--old", str(SEED), "--new", str(SEED), "--new", tiers]
    doc = json.loads(run([*base, "-o", "json"]))
    assert doc["kind"] == "Diff" and doc["changes"]
    causes = [c for ch in doc["changes"] if ch["change"] != "new endpoint" for c in ch["causes"]]
    assert causes and all(c["tier"] in ("Admin", "Baseline") for c in causes), causes
    assert all(c["policy"].startswith("ClusterNetworkPolicy/") and c["change"] == "added" for c in causes)
    # the scrape rule that opens Prometheus -> CI on 9090 only: a change from "all" to TCP 9090
    scrape = [
        ch
        for ch in doc["changes"]
        if ch["from"] == "monitoring/deployment/prometheus" and ch["to"] == "ci/ci-runner"
    ]
    assert len(scrape) == 1 and PortSet.from_json(scrape[0]["after"]) == PortSet.parse("TCP 9090")
    assert PortSet.from_json(scrape[0]["before"]) == PortSet.all()
    text = run(base)
    assert "[Admin] ClusterNetworkPolicy/isolate-ci" in text and "[Baseline] ClusterNetworkPolicy/default-deny" in text
    # the port space with tiers, against per-port verdicts of `podwall can`
    result = CliRunner().invoke(
        cli, ["matrix", str(SEED), tiers, "-n", "production", "--ports", "all", "--by", "pod", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    conns = {(c["from"], c["to"]): PortSet.from_json(c["allowed"]) for c in json.loads(result.stdout)["connections"]}
    loaded = podwall.load([str(SEED), tiers], namespace="production")
    pods = [e.key for e in loaded.cluster.endpoints]
    for src in pods:
        for dst in pods:
            got = conns.get((src, dst), PortSet.none())
            assert got == loaded.allowed_ports(src, dst), (src, dst)
            for proto, port in (("TCP", 53), ("UDP", 53), ("TCP", 9090), ("TCP", 8080), ("TCP", 5432), ("TCP", 1)):
                verdict = loaded.can(src, dst, port=port, protocol=proto).allowed
                assert got.contains(podwall.Protocol(proto), port) == verdict, (src, dst, proto, port)



def test_tier_rule_edit_names_the_tier_rule_and_field() -> None:
    """A platform PR moves the scrape port of allow-monitoring from 9090 to 9100 (and forgets
    monitoring-egress): every pair Prometheus scraped through that rule trades 9090 for 9100,
    and the cause is the edited Admin rule, its field ``protocols``."""
    got = changes("tier-port-moved")
    assert got and all(c["change"] == "changed" for c in got)
    assert all(c["from"] == "monitoring/deployment/prometheus" for c in got)
    for c in got:
        assert PortSet.from_json(c["before"]) == PortSet.parse("TCP 9090")
        assert PortSet.from_json(c["after"]) == PortSet.parse("TCP 9100")
        assert c["causes"] == [
            {
                "policy": "ClusterNetworkPolicy/allow-monitoring",
                "rule": "ingress rule #1 (prometheus-scrape)",
                "change": "edited",
                "field": "protocols",
                "tier": "Admin",
                "opens": {"TCP": [[9100, 9100]]},
                "closes": {"TCP": [[9090, 9090]]},
            }
        ]
    # the same pairs as the per-port verdicts of the two versions
    before = podwall.load([CLUSTER, SCENARIOS / "tier-port-moved" / "before"], namespace="production")
    after = podwall.load([CLUSTER, SCENARIOS / "tier-port-moved" / "after"], namespace="production")
    for c in got:
        srcs = [e for e in after.cluster.endpoints if (e.owner or e.key) == c["from"]]
        dsts = [e for e in after.cluster.endpoints if (e.owner or e.key) == c["to"]]
        src, dst = next((a.key, b.key) for a in srcs for b in dsts if a is not b or not a.is_pod)
        for port, was, now in ((9090, True, False), (9100, False, True)):
            assert before.can(src, dst, port).allowed is was and after.can(src, dst, port).allowed is now
