"""Each lint rule against its scenario: ``bad.yaml`` triggers it, ``fixed.yaml`` does not.

Scenarios live in ``tests/lint/rules/<rule-id>/`` and run on top of ``rules/base.yaml`` (a small
cluster: production, monitoring, kube-system with CoreDNS). The text output of each bad scenario
is golden (``golden/rules/<rule-id>.txt``); regenerate with pytest --update-golden and review.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import podwall
from podwall.cli.main import cli
from podwall.core.lint import RULES, combined_fixes, lint

HERE = Path(__file__).parent
RULE_DIR = HERE / "rules"
BASE = RULE_DIR / "base.yaml"
REPO = HERE.parent.parent
SCENARIOS = sorted(p.name for p in RULE_DIR.iterdir() if p.is_dir())

# Rules whose findings carry a ready-to-apply fix (the others need a human decision).
FIXABLE = {
    "no-default-deny",
    "unprotected-pod",
    "dns-egress-blocked",
    "dns-tcp-missing",
    "rules-ignored",
    "named-port-unresolved",
    "port-protocol-mismatch",
    "and-or-confusion",
    "noncanonical-cidr",
    "shadowed-rule",
    "missing-namespace",
}


def findings(*paths: Path, namespace: str = "production"):
    loaded = podwall.load([str(p) for p in paths], namespace=namespace, strict=False)
    assert not loaded.result.errors, [d.render() for d in loaded.result.errors]
    return lint(loaded.cluster, loaded.engine)


def test_every_rule_has_a_scenario():
    assert sorted(RULES) == SCENARIOS


@pytest.mark.parametrize("rule", SCENARIOS)
def test_bad_triggers(rule):
    hits = [f for f in findings(BASE, RULE_DIR / rule / "bad.yaml") if f.rule == rule]
    assert hits, f"{rule}/bad.yaml does not trigger {rule}"
    for f in hits:
        assert f.severity is RULES[rule].severity
        assert f.message and f.hint
        assert f.locations and f.locations[0].span is not None


@pytest.mark.parametrize("rule", SCENARIOS)
def test_fixed_twin_is_clean(rule):
    hits = [f.message for f in findings(BASE, RULE_DIR / rule / "fixed.yaml") if f.rule == rule]
    assert hits == []


def test_base_alone_is_clean_of_scenario_rules():
    """The scenarios' findings come from the scenario, not from the base cluster."""
    rules = {f.rule for f in findings(BASE)}
    assert rules == {"no-default-deny", "unprotected-pod"}


@pytest.mark.parametrize("rule", SCENARIOS)
def test_fix_offered_and_it_fixes(rule, tmp_path):
    hits = [f for f in findings(BASE, RULE_DIR / rule / "bad.yaml") if f.rule == rule]
    offered = [f for f in hits if f.fix is not None]
    if rule not in FIXABLE:
        assert offered == []
        return
    assert offered, f"{rule} offers no fix"
    files = combined_fixes(hits)
    paths = []
    replaced = set()
    for name, text in files.items():
        for doc in yaml.safe_load_all(text):
            assert doc["kind"] == "NetworkPolicy" and doc["metadata"]["namespace"]
            replaced.add((doc["metadata"]["namespace"], doc["metadata"]["name"]))
        p = tmp_path / f"{name}.yaml"
        p.write_text(text)
        paths.append(p)
    # apply: a fix file replaces the policy of the same namespace/name, or adds a new one
    kept = [
        d
        for d in yaml.safe_load_all((RULE_DIR / rule / "bad.yaml").read_text())
        if d["kind"] != "NetworkPolicy"
        or (d["metadata"].get("namespace", "production"), d["metadata"]["name"]) not in replaced
    ]
    rest = tmp_path / "rest.yaml"
    rest.write_text(yaml.safe_dump_all(kept))
    after = [f.message for f in findings(BASE, rest, *paths) if f.rule == rule]
    assert after == []


@pytest.mark.parametrize("rule", SCENARIOS)
def test_golden_text(rule, golden, monkeypatch):
    monkeypatch.chdir(REPO)
    base = str(BASE.relative_to(REPO))
    bad = str((RULE_DIR / rule / "bad.yaml").relative_to(REPO))
    result = CliRunner().invoke(cli, ["lint", "-n", "production", "--enable", rule, base, bad])
    assert result.exit_code == (1 if RULES[rule].severity.value == "error" else 0), result.output
    assert f" {rule}: " in result.output
    golden(HERE / "golden" / "rules" / f"{rule}.txt", result.output)
