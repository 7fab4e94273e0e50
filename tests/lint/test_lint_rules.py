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
from podwall.core.lint import RULES, lint
from podwall.core.reachability import reference_matrix
from podwall.report.fixes import DELETE_DIR, checked_fix_files

HERE = Path(__file__).parent
RULE_DIR = HERE / "rules"
BASE = RULE_DIR / "base.yaml"
REPO = HERE.parent.parent
SCENARIOS = sorted(p.name for p in RULE_DIR.iterdir() if p.is_dir())

# Rules whose bad scenario carries a ready-to-apply fix (the others need a human decision), with
# the verdict changes the fix may make: "none" (the manifests say what they already do), "open"
# (only denied connections become allowed), "close" (only allowed ones become denied).
# and-or-confusion never has one (merging the peers changes who may connect); rules-ignored's
# scenario has none because adding Egress would deny the pods' other egress.
FIXABLE = {
    "no-default-deny": "close",
    "unprotected-pod": "close",
    "dns-egress-blocked": "open",
    "dns-tcp-missing": "open",
    "named-port-unresolved": "open",
    "port-protocol-mismatch": "open",
    "noncanonical-cidr": "none",
    "shadowed-rule": "none",
    "missing-namespace": "none",
}


def _cells(paths):
    """Every (source, destination, port) -> allowed, by the per-pair oracle."""
    loaded = podwall.load([str(p) for p in paths], namespace="production", strict=False)
    m = reference_matrix(loaded.engine)
    out = {}
    for i, src in enumerate(m.endpoints):
        for j, dst in enumerate(m.endpoints):
            allowed = set(m.allowed(i, j))
            for pk in m.checked(j):
                out[(src.key, dst.key, pk)] = pk in allowed
    return out


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
    """Applying the fixes removes the findings, and changes verdicts only as the rule allows
    (checked with the per-pair oracle, not with the fix checker that decided to offer them)."""
    bad = RULE_DIR / rule / "bad.yaml"
    loaded = podwall.load([str(BASE), str(bad)], namespace="production", strict=False)
    hits = [f for f in findings(BASE, bad) if f.rule == rule]
    offered = [f for f in hits if f.fix is not None]
    if rule not in FIXABLE:
        assert offered == []
        return
    assert offered, f"{rule} offers no fix"
    paths = []
    replaced = set()
    files, left_out = checked_fix_files(hits, loaded.cluster, loaded.engine.options)  # what --fix-dir writes
    assert left_out == []
    for rel, text in files.items():
        for doc in yaml.safe_load_all(text):
            assert doc["kind"] == "NetworkPolicy" and doc["metadata"]["namespace"]
            replaced.add((doc["metadata"]["namespace"], doc["metadata"]["name"]))
        if rel.startswith(DELETE_DIR + "/"):
            continue  # deleted: the policy is dropped below and not added back
        p = tmp_path / rel
        p.write_text(text)
        paths.append(p)
    # apply: a fix file replaces the policy of the same namespace/name, or adds a new one
    kept = [
        d
        for d in yaml.safe_load_all(bad.read_text())
        if d["kind"] != "NetworkPolicy"
        or (d["metadata"].get("namespace", "production"), d["metadata"]["name"]) not in replaced
    ]
    rest = tmp_path / "rest.yaml"
    rest.write_text(yaml.safe_dump_all(kept))
    after = [f.message for f in findings(BASE, rest, *paths) if f.rule == rule]
    assert after == []
    before_cells, after_cells = _cells([BASE, bad]), _cells([BASE, rest, *paths])
    assert before_cells.keys() == after_cells.keys()
    flips = {k: v for k, v in after_cells.items() if before_cells[k] != v}
    effect = FIXABLE[rule]
    if effect == "none":
        assert flips == {}
    else:
        assert set(flips.values()) <= {effect == "open"}, flips


@pytest.mark.parametrize("rule", SCENARIOS)
def test_golden_text(rule, golden, monkeypatch):
    monkeypatch.chdir(REPO)
    base = str(BASE.relative_to(REPO))
    bad = str((RULE_DIR / rule / "bad.yaml").relative_to(REPO))
    result = CliRunner().invoke(cli, ["lint", "-n", "production", "--enable", rule, base, bad])
    assert result.exit_code == (1 if RULES[rule].severity.value == "error" else 0), result.output
    assert f" {rule}: " in result.output
    golden(HERE / "golden" / "rules" / f"{rule}.txt", result.output)
