"""The CLI contract: one exit-code table shown by every --help, -o json on every command, every
JSON document valid against its schema in docs/schemas (real output, validated with jsonschema),
errors as JSON in JSON mode with the same exit codes, signals and closed pipes.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
from click.testing import CliRunner
from tests.conftest import EXAMPLES, REPO

from podwall.cli import commands
from podwall.cli.common import ALWAYS, codes_of
from podwall.cli.exitcodes import ExitCode
from podwall.cli.main import cli, requested_output
from podwall.report.serialize import KINDS

SEED = str(EXAMPLES / "seed" / "manifests")
SEED_EXPECT = str(EXAMPLES / "seed" / "expect.yaml")
DATA = Path(__file__).parent / "data"
SCHEMAS = REPO / "docs" / "schemas"
PODWALL = [sys.executable, "-m", "podwall.cli.main"]
FLOW = ["--from", "production/frontend", "--to", "production/backend", "--port", "8080"]


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=input, env={"COLUMNS": "120"}, catch_exceptions=False)


Path_ = tuple[str, ...]


def _commands(group: click.Group = cli, prefix: Path_ = ()) -> Iterator[tuple[Path_, click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


ALL_COMMANDS = dict(_commands())


def test_every_command_is_covered() -> None:
    assert set(ALL_COMMANDS) >= {
        ("validate",), ("can",), ("explain",), ("test",), ("matrix",), ("lint",), ("compile",),
        ("lab", "up"), ("lab", "apply"), ("lab", "test"), ("lab", "probe"), ("lab", "status"), ("lab", "down"),
    }


# -- exit codes -------------------------------------------------------------------------------
def _help_codes(text: str) -> dict[int, str]:
    assert text.count("Exit codes:") == 1, text
    block = text.split("Exit codes:", 1)[1]
    return {int(m[1]): m[2].strip() for m in re.finditer(r"^\s+(\d+)\s{2}(.+)$", block, re.M)}


@pytest.mark.parametrize("path", sorted(ALL_COMMANDS), ids=" ".join)
def test_help_shows_the_exit_codes_from_the_table(path: tuple[str, ...]) -> None:
    cmd = ALL_COMMANDS[path]
    declared = codes_of(cmd)
    assert declared, f"podwall {' '.join(path)} declares no exit codes (use @exit_codes)"
    result = run(*path, "--help")
    assert result.exit_code == 0
    shown = _help_codes(result.output)
    # exactly what the command declared, every number from the table, the shared codes included
    assert shown == {int(c): text for c, text in declared.items()}
    assert set(shown) <= {int(c) for c in ExitCode}
    assert set(shown) >= {int(c) for c in ALWAYS}
    assert all(ExitCode(c).describe() == text for c, text in shown.items() if ExitCode(c) in ALWAYS)
    # no hand-written exit codes left in the docstring
    assert not re.search(r"exit codes?:|exit \d|\bexits? with \d", (cmd.help or "").lower()), cmd.help


def test_top_level_help_shows_the_whole_table() -> None:
    shown = _help_codes(run("--help").output)
    assert shown == {int(c): c.describe() for c in ExitCode}


def test_a_command_returns_the_code_it_declared_for_its_answer() -> None:
    assert run("can", SEED, "-n", "production", *FLOW).exit_code == ExitCode.OK
    no = run("can", SEED, "-n", "production", "--from", "ci/ci-runner", "--to", "production/postgres", "-p", "5432")
    assert no.exit_code == ExitCode.NO
    assert ExitCode.NO in codes_of(commands.can)


def test_requested_output_is_found_before_parsing() -> None:
    assert requested_output(["can", "x", "-o", "json"]) == "json"
    assert requested_output(["can", "--output=json"]) == "json"
    assert requested_output(["can", "-ojson"]) == "json"
    assert requested_output(["can", "--", "-o", "json"]) is None
    assert requested_output(["can", "-o", "text"]) == "text"


# -- -o json everywhere, valid against the schemas ------------------------------------------------
@pytest.mark.parametrize("path", sorted(ALL_COMMANDS), ids=" ".join)
def test_every_command_takes_output_json(path: tuple[str, ...]) -> None:
    params = {p.name: p for p in ALL_COMMANDS[path].params}
    assert "output" in params, path
    choice = params["output"].type
    assert isinstance(choice, click.Choice) and "json" in choice.choices


def _schema(kind: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{kind}.json").read_text())


def validate_doc(text: str, kind: str) -> dict[str, Any]:
    doc = json.loads(text)
    assert (doc["schema"], doc["kind"]) == ("podwall/v1", kind)
    jsonschema.validate(doc, _schema(kind), cls=jsonschema.Draft202012Validator)
    return doc


def test_there_is_a_schema_per_kind_and_no_other() -> None:
    assert {p.stem for p in SCHEMAS.glob("*.json")} == set(KINDS)
    for kind in KINDS:
        jsonschema.Draft202012Validator.check_schema(_schema(kind))
        assert _schema(kind)["properties"]["kind"] == {"const": kind}


def test_the_schemas_reject_what_they_should() -> None:
    good = json.loads(run("can", SEED, "-n", "production", *FLOW, "-o", "json").output)
    bad = dict(good, allowed="yes")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _schema("Verdict"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in good.items() if k != "backends"}, _schema("Verdict"))


SVC = ["--from", "production/frontend", "--to", "production/service/backend-service", "--port", "http"]
CASES: dict[str, tuple[list[str], int, str]] = {
    "validate": (["validate", SEED, "-n", "production"], 0, "Validation"),
    "validate-invalid": (["validate", str(DATA / "invalid.yaml")], 1, "Validation"),
    "can-pod": (["can", SEED, "-n", "production", "--from", "production/test-pod", "--to", "production/deny-test",
                 "-p", "80"], 1, "Verdict"),
    "can-workload": (["can", SEED, "-n", "production", "--from", "production/deployment/frontend", "--to",
                      "production/deployment/backend", "-p", "8080"], 0, "Verdict"),
    "can-address": (["can", SEED, "-n", "production", "--from", "production/backend", "--to", "203.0.113.10",
                     "-p", "443"], 1, "Verdict"),
    "can-service": (["can", SEED, "-n", "production", *SVC], 0, "Verdict"),
    "explain": (["explain", SEED, "-n", "production", "--from", "production/frontend", "--to", "production/postgres",
                 "-p", "5432"], 0, "Verdict"),
    "explain-service": (["explain", SEED, "-n", "production", *SVC], 0, "Verdict"),
    "test": (["test", SEED, "-n", "production", "--expect", SEED_EXPECT], 0, "TestReport"),
    "matrix": (["matrix", SEED, "-n", "production"], 0, "Matrix"),
    "matrix-by-namespace": (["matrix", SEED, "-n", "production", "--by", "namespace"], 0, "Matrix"),
    "lint": (["lint", SEED, "-n", "production"], 0, "LintReport"),
    "lint-rules": (["lint", "--list-rules"], 0, "LintRules"),
    "compile": (["compile", SEED, "-n", "production"], 0, "NftRuleset"),
    "error-unknown-endpoint": (["can", SEED, "-n", "production", "--from", "production/nope", "--to",
                                "production/backend", "-p", "80"], 2, "Error"),
    "error-bad-manifest": (["can", str(DATA / "broken.yaml"), "--from", "default/web", "--to", "default/web",
                            "-p", "80"], 2, "Error"),
    "error-bad-option": (["can", SEED, *FLOW, "--protocol", "ICMP"], 2, "Error"),
    "error-missing-option": (["can", SEED], 2, "Error"),
    "error-unknown-option": (["matrix", SEED, "--bogus"], 2, "Error"),
    "error-bad-rule": (["lint", SEED, "--enable", "no-such-rule"], 2, "Error"),
    "error-bad-expectations": (["test", SEED, "--expect", str(DATA / "invalid.yaml")], 2, "Error"),
    "error-missing-file": (["validate", "does-not-exist.yaml"], 2, "Error"),
    "error-bad-lab-name": (["lab", "status", "--lab", "Not-A-Name"], 2, "Error"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_json_output_is_valid(name: str) -> None:
    args, code, kind = CASES[name]
    result = run(*args, "-o", "json")
    assert result.exit_code == code, result.output
    doc = validate_doc(result.stdout, kind)
    if kind == "Error":
        assert doc["error"]["code"] == code


def test_one_verdict_shape_whatever_the_destination() -> None:
    keys = set()
    for name in ("can-pod", "can-workload", "can-address", "can-service"):
        doc = json.loads(run(*CASES[name][0], "-o", "json").stdout)
        keys.add(tuple(doc))
        assert doc["to_kind"] == name.split("-")[1]
        assert doc["allowed"] == (bool(doc["backends"]) and all(b["allowed"] for b in doc["backends"]))
        if doc["to_kind"] == "service":
            assert doc["egress"] is None and len(doc["backends"]) >= 1
        else:
            assert [b["endpoint"] for b in doc["backends"]] == [doc["to"]]
            assert doc["backends"][0]["ingress"] == doc["ingress"]
    assert len(keys) == 1


def test_json_errors_carry_every_diagnostic() -> None:
    result = run("validate", str(DATA / "invalid.yaml"), "-o", "json")
    validation = json.loads(result.stdout)
    result = run("can", str(DATA / "invalid.yaml"), *FLOW, "-o", "json")
    assert result.exit_code == 2
    err = validate_doc(result.stdout, "Error")["error"]
    assert err["type"] == "ManifestError"
    assert err["diagnostics"] == validation["diagnostics"]  # errors and warnings, with file, line and field
    assert result.stdout.count('"kind"') == 1  # one document on stdout, nothing else


def test_text_errors_stay_on_stderr_as_one_line() -> None:
    result = run("can", SEED, "-n", "production", "--from", "production/nope", "--to", "production/backend", "-p", "8")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: no endpoint 'production/nope' in the input")


def test_the_same_summary_shape_for_test_and_lab_test() -> None:
    assert _schema("TestReport")["properties"]["summary"] == _schema("LabTestReport")["properties"]["summary"]


def test_an_internal_error_is_exit_4_and_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(commands, "explain_text", boom)
    args = ["explain", SEED, "-n", "production", *FLOW]
    plain = run(*args)
    assert plain.exit_code == ExitCode.BUG
    assert "internal error: RuntimeError: boom (this is a bug in podwall" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = run("--debug", *args)
    assert debug.exit_code == ExitCode.BUG and "Traceback (most recent call last)" in debug.stderr
    monkeypatch.setattr(commands.serialize, "verdict_doc", boom)
    doc = validate_doc(run(*args, "-o", "json").stdout, "Error")
    assert doc["error"] == {
        "code": 4,
        "type": "InternalError",
        "message": "internal error: RuntimeError: boom (this is a bug in podwall; please report it)",
        "diagnostics": [],
    }


# -- processes: closed pipes and signals ------------------------------------------------------
PIPED = {
    "lint": ["lint", SEED, "-n", "production"],
    "can": ["can", SEED, "-n", "production", *FLOW],
    "matrix": ["matrix", SEED, "-n", "production"],
    "matrix-json": ["matrix", SEED, "-n", "production", "-o", "json"],
    "list-rules": ["lint", "--list-rules"],
    "json-error": ["can", SEED, "--from", "x/nope", "--to", "y/nope", "-p", "1", "-o", "json"],
}


@pytest.mark.parametrize("name", sorted(PIPED))
def test_a_closed_pipe_ends_quietly(name: str) -> None:
    """The reader is gone before podwall writes (the read end is closed at once): podwall must
    stop with 141 and say nothing (no traceback, no internal error)."""
    with subprocess.Popen([*PODWALL, *PIPED[name]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO) as p:
        assert p.stdout is not None and p.stderr is not None
        p.stdout.close()
        err = p.stderr.read().decode()
        assert p.wait(timeout=60) == ExitCode.SIGPIPE
    assert err == ""


def test_head_minus_one_through_a_shell_pipe(tmp_path: Path) -> None:
    """Output far larger than a pipe's buffer, so podwall is still writing when head leaves."""
    pods = "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: n}}\n"
        f"spec: {{containers: [{{name: c, ports: [{{containerPort: 80}}]}}]}}\n"
        f"status: {{podIP: 10.0.{i // 250}.{i % 250 + 1}}}\n"
        for i in range(200)
    )
    (tmp_path / "pods.yaml").write_text(pods)
    cmd = " ".join(PODWALL) + f" matrix {tmp_path / 'pods.yaml'} -o json | head -1; exit ${{PIPESTATUS[0]}}"
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.stdout.startswith('{"schema": "podwall/v1", "kind": "Matrix"')
    assert r.stdout.count("\n") == 1
    assert r.stderr == ""
    assert r.returncode == ExitCode.SIGPIPE


def _catching(pid: int, sig: int) -> bool:
    """Whether ``pid`` has installed a handler for ``sig`` (Linux: SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    mask = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.M)[1], 16)  # type: ignore[index]
    return bool(mask & (1 << (sig - 1)))


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 143)])
def test_signals_end_with_their_exit_code(sig: int, code: int) -> None:
    # reading stdin blocks until the signal arrives
    with subprocess.Popen([*PODWALL, "validate", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=REPO) as p:
        deadline = time.monotonic() + 30
        while not _catching(p.pid, signal.SIGTERM) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # the handlers are installed just before the command runs
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
    assert p.returncode == code, err
    assert b"Traceback" not in err and out == b""


def test_the_module_entry_point_is_the_cli() -> None:
    r = subprocess.run([*PODWALL, "--version"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("podwall, version ")

