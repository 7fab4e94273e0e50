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
    assert result.output.strip().splitlines()[-1] == "18 probes: 18 passed, 0 failed, 0 advisory, 0 not run"


def test_the_probes_depend_on_the_tiers():
    result = CliRunner().invoke(cli, ["test", SEED, "-n", "production", "--expect", str(TIERS / "expect.yaml")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "18 probes: 13 passed, 5 failed, 0 advisory, 0 not run"


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


def test_validate_counts_cluster_wide_policies_and_reports_crd_errors(tmp_path):
    result = CliRunner().invoke(cli, ["validate", SEED, str(TIERS / "policies.yaml"), "-n", "production"])
    assert result.exit_code == 0
    assert "6 cluster-wide policies, 0 Nodes" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: x}\n"
        "spec:\n  tier: Admin\n  priority: 1001\n  subject: {namespaces: {}}\n"
    )
    result = CliRunner().invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 1
    assert (
        f"{bad}:6: spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000"
        in result.output
    )
    result = CliRunner().invoke(
        cli, ["can", str(bad), SEED, "--from", "production/frontend", "--to", "ci/ci-runner", "-p", "80"]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output


ALLOWLIST = """\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: egress-allowlist}
spec:
  tier: Admin
  priority: 5
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: production}}}
  egress:
  - {name: partner-api, action: Accept, to: [{domainNames: ["*.partner.example"]}]}
  - {name: no-internet, action: Deny, to: [{networks: [0.0.0.0/0]}]}
"""


def test_domain_names_need_domain_address(tmp_path):
    f = tmp_path / "allowlist.yaml"
    f.write_text(ALLOWLIST)
    args = [
        "can",
        SEED,
        str(f),
        "-n",
        "production",
        "--from",
        "production/frontend",
        "--to",
        "203.0.113.10",
        "-p",
        "443",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "domainNames *.partner.example cannot be decided offline" in result.output
    result = CliRunner().invoke(cli, [*args, "--domain-address", "api.partner.example=203.0.113.10"])
    assert result.exit_code == 0, result.output
    assert "rule #1 (partner-api) Accept" in result.output
    result = CliRunner().invoke(cli, [*args, "--domain-address", "api.partner.example=203.0.113.11"])
    assert result.exit_code == 1  # the name is known, the address is another one
    result = CliRunner().invoke(cli, [*args, "--domain-address", "api.partner.example"])
    assert result.exit_code == 2 and "NAME=IP" in result.output


def test_json_documents_with_tiers_follow_their_schemas():
    import json

    import jsonschema
    from tests.conftest import REPO

    schemas = REPO / "docs" / "schemas"
    base = [SEED, str(TIERS / "policies.yaml"), "-n", "production"]
    for args, kind in (
        (["can", *base, "--from", "ci/ci-runner", "--to", "production/backend", "-p", "8080", "-o", "json"], "Verdict"),
        (
            [
                "explain",
                *base,
                "--from",
                "production/frontend",
                "--to",
                "production/backend",
                "-p",
                "8080",
                "-o",
                "json",
            ],
            "Verdict",
        ),
        (["validate", *base, "-o", "json"], "Validation"),
    ):
        result = CliRunner().invoke(cli, args)
        doc = json.loads(result.output)
        jsonschema.validate(doc, json.loads((schemas / f"{kind}.json").read_text()))
        assert doc["kind"] == kind
    verdict = json.loads(
        CliRunner()
        .invoke(cli, ["can", *base, "--from", "ci/ci-runner", "--to", "production/backend", "-p", "8080", "-o", "json"])
        .output
    )
    assert "tier" in json.dumps(verdict)
