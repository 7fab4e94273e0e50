"""The seed scenario (examples/seed) through ``podwall lint``, golden-tested.

The seed writes several policies without a namespace; we lint it as a user applying it with
``kubectl apply -n production`` would, so ``-n production``. Golden files are the specification:
regenerate with pytest --update-golden and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from podwall.cli.main import cli

HERE = Path(__file__).parent
REPO = HERE.parent.parent
SEED = "examples/seed/manifests"
CLUSTER = f"{SEED}/cluster.yaml"
GOLDEN = HERE / "golden" / "seed"
QUIET = ["--disable", "no-default-deny,unprotected-pod"]


def run(*args: str):
    return CliRunner().invoke(cli, ["lint", *args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def rules_of(output: str) -> list[str]:
    return [f["rule"] for f in json.loads(output)["findings"]]  # stdout only: see run()


@pytest.mark.parametrize(
    "name,args,code",
    [
        ("seed", [SEED, "-n", "production"], 0),
        ("seed-json", [SEED, "-n", "production", "-o", "json"], 0),
        ("seed-sarif", [SEED, "-n", "production", "-o", "sarif"], 0),
        # without the seed's other policies every pod is unprotected: leave that out, it is shown above
        ("egress-no-dns", [CLUSTER, "tests/lint/seed/egress-no-dns.yaml", "-n", "production", *QUIET], 1),
        ("egress-udp-only", [CLUSTER, "tests/lint/seed/egress-udp-only.yaml", "-n", "production", *QUIET], 0),
    ],
)
def test_golden(name, args, code, golden):
    result = run(*args)
    assert result.exit_code == code, result.output
    suffix = {"json": ".json", "sarif": ".sarif"}.get(name.rsplit("-", 1)[-1], ".txt")
    assert result.stderr == ""
    golden(GOLDEN / f"{name}{suffix}", result.stdout)


def test_seed_shows_missing_namespaces_and_no_default_deny():
    result = run(SEED, "-n", "production", "-o", "json")
    findings = json.loads(result.stdout)["findings"]
    missing = sorted(f["policy"] for f in findings if f["rule"] == "missing-namespace")
    assert missing == ["production/allow-ingress-controller", "production/backend-egress"]
    no_deny = sorted(f["namespace"] for f in findings if f["rule"] == "no-default-deny")
    assert no_deny == ["ci", "ingress-nginx", "monitoring"]  # production has one; kube-system is a system namespace
    assert all(f["line"] > 0 and f["file"].startswith(SEED) for f in findings)


def test_seed_dns_rule_is_fine_as_written():
    rules = rules_of(run(SEED, "-n", "production", "-o", "json").stdout)
    assert "dns-egress-blocked" not in rules and "dns-tcp-missing" not in rules


def test_seed_egress_without_dns_rule_is_the_dns_trap():
    out = run(CLUSTER, "tests/lint/seed/egress-no-dns.yaml", "-n", "production", "-o", "json")
    assert out.exit_code == 1
    dns = [f for f in json.loads(out.stdout)["findings"] if f["rule"] == "dns-egress-blocked"]
    assert [f["endpoint"] for f in dns] == ["production/deployment/backend"]
    assert dns[0]["severity"] == "error"
    assert "53" in dns[0]["fix"]["yaml"] and "UDP" in dns[0]["fix"]["yaml"] and "TCP" in dns[0]["fix"]["yaml"]


def test_seed_egress_udp_only_is_dns_tcp_missing():
    out = run(CLUSTER, "tests/lint/seed/egress-udp-only.yaml", "-n", "production", "-o", "json")
    rules = rules_of(out.stdout)
    assert "dns-tcp-missing" in rules and "dns-egress-blocked" not in rules
