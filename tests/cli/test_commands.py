"""Every command end to end through click's CliRunner, with golden outputs.

Golden files (tests/cli/golden) are the specification of what podwall prints; regenerate with
pytest --update-golden and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import CONFORMANCE, EXAMPLES

from podwall.cli.main import cli

GOLDEN = Path(__file__).parent / "golden"
DATA = Path(__file__).parent / "data"
SEED = str(EXAMPLES / "seed" / "manifests")
SEED_EXPECT = str(EXAMPLES / "seed" / "expect.yaml")


def run(*args: str, input: str | bytes | None = None):
    runner = CliRunner()
    return runner.invoke(cli, list(args), input=input, env={"COLUMNS": "120"}, catch_exceptions=False)


GOLDEN_CASES = {
    "validate-invalid": (["validate", str(DATA / "invalid.yaml")], 1),
    "validate-seed": (["validate", SEED, "-n", "production"], 0),
    "can-yes": (
        [
            "can",
            SEED,
            "-n",
            "production",
            "--from",
            "production/frontend",
            "--to",
            "production/backend",
            "--port",
            "8080",
        ],
        0,
    ),
    "can-no": (
        ["can", SEED, "-n", "production", "--from", "ci/ci-runner", "--to", "production/postgres", "--port", "5432"],
        1,
    ),
    "explain-deny": (
        [
            "explain",
            SEED,
            "-n",
            "production",
            "--from",
            "production/frontend",
            "--to",
            "production/postgres",
            "--port",
            "5432",
        ],
        0,
    ),
    "explain-egress-deny": (
        [
            "explain",
            SEED,
            "-n",
            "production",
            "--from",
            "production/backend",
            "--to",
            "production/frontend",
            "--port",
            "http",
        ],
        0,
    ),
    "explain-service": (
        [
            "explain",
            SEED,
            "-n",
            "production",
            "--from",
            "production/test-pod",
            "--to",
            "production/service/backend-service",
            "--port",
            "8080",
        ],
        0,
    ),
    "matrix-seed": (["matrix", SEED, "-n", "production"], 0),
    "matrix-seed-5432-md": (["matrix", SEED, "-n", "production", "--port", "5432", "-o", "md"], 0),
    "matrix-seed-by-namespace": (["matrix", SEED, "-n", "production", "--by", "namespace"], 0),
    "test-seed": (["test", SEED, "-n", "production", "--expect", SEED_EXPECT], 0),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_output(name: str, golden):
    args, code = GOLDEN_CASES[name]
    result = run(*args)
    assert result.exit_code == code, result.output
    golden(GOLDEN / f"{name}.txt", result.output.replace(str(DATA) + "/", "DATA/"))


def test_can_json_has_the_verdict_structure():
    result = run(
        "can",
        SEED,
        "-n",
        "production",
        "--from",
        "production/backend",
        "--to",
        "kube-system/coredns",
        "--port",
        "53",
        "--protocol",
        "udp",
        "-o",
        "json",
    )
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["allowed"] is True
    assert data["protocol"] == "UDP"
    assert data["egress"]["allowed_by"] == [{"policy": "production/backend-egress", "rule": 1}]
    assert data["ingress"]["isolated"] is False


def test_test_json_output_shape(tmp_path: Path):
    result = run("test", SEED, "-n", "production", "--expect", SEED_EXPECT, "-o", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert (data["schema"], data["kind"]) == ("podwall/v1", "TestReport")
    assert data["summary"] == {"total": 17, "passed": 17, "failed": 0, "advisory": 0, "not_run": 0}
    assert len(data["results"]) == 17
    assert set(data["results"][0]) >= {"from", "to", "port", "protocol", "expect", "actual", "ok", "reason", "line"}
    assert data["results"][0]["line"] == 5  # the first probe of examples/seed/expect.yaml


def test_matrix_json_and_csv_agree():
    case = CONFORMANCE / "ingress-on-one-named-port"
    files = [str(case / "cluster.yaml"), str(case / "policies.yaml")]
    j = json.loads(run("matrix", *files, "--port", "80", "-o", "json").output)
    csv_lines = run("matrix", *files, "--port", "80", "-o", "csv").output.strip().splitlines()[1:]
    states = {(c["from"], c["to"]): c["state"] for c in j["cells"]}
    assert len(states) == 81 == len(csv_lines)
    for line in csv_lines:
        src, dst, state = line.split(",")[:3]
        assert states[(src, dst)] == state
    # upstream: nothing reaches x on 80 (except a pod itself), everything else open
    assert states[("y/a", "x/b")] == "none"
    assert states[("x/a", "y/b")] == "all"
    assert states[("x/a", "x/a")] == "all"


def test_unknown_endpoint_suggests_a_name():
    result = run(
        "can", SEED, "-n", "production", "--from", "production/fronted", "--to", "production/backend", "--port", "80"
    )
    assert result.exit_code == 2
    assert "did you mean production/deployment/frontend" in result.output


def test_malformed_yaml_is_exit_2_with_file_and_line():
    result = run("can", str(DATA / "broken.yaml"), "--from", "default/web", "--to", "default/web", "--port", "80")
    assert result.exit_code == 2
    assert "broken.yaml:6: invalid YAML" in result.output
    assert "Traceback" not in result.output


def test_stdin_is_read_with_dash():
    text = (
        (EXAMPLES / "seed" / "manifests" / "cluster.yaml").read_text()
        + "\n---\n"
        + (EXAMPLES / "seed" / "manifests" / "policies.yaml").read_text()
    )
    result = run(
        "can",
        "-",
        "-n",
        "production",
        "--from",
        "production/frontend",
        "--to",
        "production/postgres",
        "--port",
        "5432",
        input=text,
    )
    assert result.exit_code == 1
    assert result.output.startswith("no\n")


def test_missing_file_is_exit_2():
    result = run("validate", "does-not-exist.yaml")
    assert result.exit_code == 2
    assert "does-not-exist.yaml: no such file or directory" in result.output


def test_bad_expectations_file_names_its_line(tmp_path: Path):
    f = tmp_path / "e.yaml"
    f.write_text(
        "- {from: production/frontend, to: production/backend, port: 8080, expect: allow}\n- {from: "
        "production/frontend, to: production/backend, port: 8080, expect: maybe}\n"
    )
    result = run("test", SEED, "-n", "production", "--expect", str(f))
    assert result.exit_code == 2
    assert f"error: {f}:2: probes[1].expect: expect must be allow or deny, not 'maybe'" in result.output
