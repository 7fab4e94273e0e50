"""Every upstream e2e NetworkPolicy case (tests/conformance/upstream) through the public API and
through `podwall test`: every non-loopback probe must agree with upstream's expected matrix.

Loopback probes (a pod to itself) are advisory, as upstream's ValidateOrFail ignores them.
"""

from __future__ import annotations

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
        ["test", str(state / "cluster.yaml"), str(state / "policies.yaml"), "--expect", str(state / "expected.yaml")],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    probes = yaml.safe_load((state / "expected.yaml").read_text())
    failed = 0
    assert lines[-1].endswith(f" passed, {failed} failed")
    passed = int(lines[-1].split()[0])
    # every non-loopback probe passes; loopback probes pass unless upstream's table says deny
    non_loopback = sum(1 for p in probes if not p.get("loopback"))
    assert passed >= non_loopback


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
    assert result.output.strip().splitlines()[-1] == "0 passed, 3 failed"
    assert result.output.count("FAIL ") == 3
