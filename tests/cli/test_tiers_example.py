"""examples/tiers: the platform team's policy set over the seed cluster keeps its promises."""

from __future__ import annotations

from click.testing import CliRunner
from tests.conftest import EXAMPLES

import podwall
from podwall.cli.main import cli
from podwall.core.lint import lint
from podwall.core.lint.tiers import TIER_RULES

SEED = str(EXAMPLES / "seed" / "manifests")
TIERS = EXAMPLES / "tiers"


def test_podwall_test_passes_every_probe():
    result = CliRunner().invoke(
        cli, ["test", SEED, str(TIERS / "policies.yaml"), "-n", "production", "--expect", str(TIERS / "expect.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "18 passed, 0 failed"


def test_the_probes_depend_on_the_tiers():
    result = CliRunner().invoke(cli, ["test", SEED, "-n", "production", "--expect", str(TIERS / "expect.yaml")])
    assert result.exit_code == 1
    failed = int(result.output.strip().splitlines()[-1].split()[2])
    assert failed == 5


def test_tier_lint_is_clean_and_explain_names_the_tiers():
    loaded = podwall.load([SEED, str(TIERS / "policies.yaml")], namespace="production")
    assert [f.rule for f in lint(loaded.cluster, loaded.engine) if f.rule in TIER_RULES] == []
    v = loaded.can("ci/ci-runner", "production/backend", 8080)
    assert not v.allowed
    assert "[Admin] isolate-production priority 30 rule #2 (other-tenants) Deny" in v.reason()
    v = loaded.can("production/frontend", "production/backend", 8080)
    assert v.allowed
    assert (
        "[Admin] isolate-production priority 30 rule #1 (own-namespace-and-ingress-controller) Pass -> [NetworkPolicy]"
        in (v.reason())
    )
