"""Every step of every upstream ClusterNetworkPolicy conformance case (tests/conformance/cnp,
standard and experimental) through the public API and through `podwall test`.

The data is a transcription of kubernetes-sigs/network-policy-api's conformance suite (see its
README.md); no probe there is pod-to-itself, so every probe counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import podwall
from podwall.cli.main import cli
from podwall.core.evaluate import Engine
from podwall.core.model import Cluster, Protocol

CNP = Path(__file__).resolve().parent / "cnp"


def _states() -> list[Path]:
    out: list[Path] = []
    cases = [p for p in CNP.iterdir() if p.is_dir() and p.name != "experimental"]
    cases += [p for p in (CNP / "experimental").iterdir() if p.is_dir()]
    for case in sorted(cases):
        steps = sorted(p for p in case.iterdir() if p.is_dir() and p.name.startswith("step"))
        out.extend(steps or [case])
    return out


STATES = _states()


def _probes(state: Path) -> list[dict[str, object]]:
    probes = yaml.safe_load((state / "expected.yaml").read_text())
    assert isinstance(probes, list)
    return probes


def test_every_case_and_probe_is_present():
    index = yaml.safe_load((CNP / "index.yaml").read_text())
    assert len(STATES) == index["totals"]["steps"] == 62
    assert sum(len(_probes(s)) for s in STATES) == index["totals"]["probes"] == 301


@pytest.mark.parametrize("state", STATES, ids=lambda p: str(p.relative_to(CNP)))
def test_api_agrees_with_upstream(state: Path):
    c = podwall.load([str(state / "cluster.yaml"), str(state / "policies.yaml")])
    assert c.cluster.tier_policies, "the state has cluster-wide policies"
    wrong = []
    for p in _probes(state):
        v = c.can(p["from"], p["to"], p["port"], p["protocol"])
        if v.allowed != (p["expect"] == "allow"):
            wrong.append((p, v.reason()))
    assert wrong == []


@pytest.mark.parametrize("state", STATES, ids=lambda p: str(p.relative_to(CNP)))
def test_cli_test_command_agrees_with_upstream(state: Path):
    args = ["test", str(state / "cluster.yaml"), str(state / "policies.yaml"), "--expect", str(state / "expected.yaml")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    n = len(_probes(state))
    assert result.output.strip().splitlines()[-1] == f"{n} probes: {n} passed, 0 failed, 0 advisory, 0 not run"
    result = CliRunner().invoke(cli, [*args, "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"] == {"total": n, "passed": n, "failed": 0, "advisory": 0, "not_run": 0}


def test_tiers_ignored_would_fail_the_suite():
    """The suite really depends on the tiers: without them, some probe of most states fails."""
    failing = 0
    for state in STATES:
        c = podwall.load([str(state / "cluster.yaml"), str(state / "policies.yaml")]).cluster
        engine = Engine(Cluster(namespaces=c.namespaces, endpoints=c.endpoints, policies=c.policies, nodes=c.nodes))
        eps = {e.key: e for e in c.endpoints}
        for p in _probes(state):
            v = engine.verdict(eps[p["from"]], eps[p["to"]], p["port"], Protocol(p["protocol"]))
            if v.allowed != (p["expect"] == "allow"):
                failing += 1
                break
    assert failing >= 40
