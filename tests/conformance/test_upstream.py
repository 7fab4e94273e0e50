"""Every upstream e2e NetworkPolicy case (tests/conformance/upstream) through the public API and
through `podwall test`: every non-loopback probe must agree with upstream's expected matrix.

Loopback probes (a pod to itself) are advisory, as upstream's ValidateOrFail ignores them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from tests.conftest import CONFORMANCE

import podwall
from podwall.cli.main import cli


def _states() -> list[Path]:
    out = []
    for case in sorted(p for p in CONFORMANCE.iterdir() if p.is_dir()):
        steps = sorted(p for p in case.iterdir() if p.is_dir() and p.name.startswith("step"))
        out.extend(steps or [case])
    return out


STATES = _states()


def test_all_cases_are_present():
    # 32 cases are shipped; some have two steps.
    cases = {s.parent.name if s.name.startswith("step") else s.name for s in STATES}
    assert len(cases) == 32
    assert len(STATES) > 32


@pytest.mark.parametrize("state", STATES, ids=lambda p: str(p.relative_to(CONFORMANCE)))
def test_api_agrees_with_upstream(state: Path):
    c = podwall.load([str(state / "cluster.yaml"), str(state / "policies.yaml")])
    probes = yaml.safe_load((state / "expected.yaml").read_text())
    checked = 0
    wrong = []
    for p in probes:
        if p.get("loopback"):
            continue
        v = c.can(p["from"], p["to"], p["port"], p["protocol"])
        checked += 1
        if v.allowed != (p["expect"] == "allow"):
            wrong.append((p, v.reason()))
    assert checked >= 72  # at least one 9x9 matrix minus its diagonal
    assert wrong == []


@pytest.mark.parametrize("state", STATES, ids=lambda p: str(p.relative_to(CONFORMANCE)))
def test_cli_test_command_agrees_with_upstream(state: Path):
    result = CliRunner().invoke(
        cli,
        ["test", str(state / "cluster.yaml"), str(state / "policies.yaml"), "--expect", str(state / "expected.yaml"),
         "-o", "json"],
    )
    assert result.exit_code == 0, result.output
    probes = yaml.safe_load((state / "expected.yaml").read_text())
    loopback = sum(1 for p in probes if p.get("loopback"))
    # every probe upstream asserts passes; loopback probes are advisory (upstream ignores them)
    assert json.loads(result.output)["summary"] == {
        "total": len(probes),
        "passed": len(probes) - loopback,
        "failed": 0,
        "advisory": loopback,
        "not_run": 0,
    }


def test_a_wrong_expectation_fails_the_cli(tmp_path: Path):
    state = CONFORMANCE / "default-deny-ingress"
    probes = yaml.safe_load((state / "expected.yaml").read_text())
    flipped = [dict(p) for p in probes if not p.get("loopback")][:3]
    for p in flipped:
        p["expect"] = "deny" if p["expect"] == "allow" else "allow"
    f = tmp_path / "wrong.yaml"
    f.write_text(yaml.safe_dump(flipped))
    result = CliRunner().invoke(
        cli, ["test", str(state / "cluster.yaml"), str(state / "policies.yaml"), "--expect", str(f)]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "3 probes: 0 passed, 3 failed, 0 advisory, 0 not run"
    assert result.output.count("FAIL ") == 3
