"""docs/lint.md documents every rule, generated from the rule table (never out of date)."""

from __future__ import annotations

from pathlib import Path

from podwall.core.lint import RULES

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "lint.md"
BEGIN, END = "<!-- rules:begin -->", "<!-- rules:end -->"


def rules_section() -> str:
    out = [BEGIN, ""]
    out.append("| id | severity | finding |")
    out.append("|---|---|---|")
    for r in RULES.values():
        out.append(f"| [`{r.id}`](#{r.id}) | {r.severity.value} | {r.summary} |")
    out.append("")
    for r in RULES.values():
        out += [f"### {r.id}", "", f"Severity: **{r.severity.value}**. {r.summary[0].upper()}{r.summary[1:]}.", ""]
        out += [
            f"Why it matters: {r.why}",
            "",
            "Bad:",
            "",
            "```yaml",
            r.bad,
            "```",
            "",
            "Fix:",
            "",
            "```yaml",
            r.fixed,
            "```",
            "",
        ]
    out.append(END)
    return "\n".join(out)


def test_docs_list_every_rule_and_are_current(golden):  # type: ignore[no-untyped-def]
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    expected = head + rules_section() + tail
    golden(DOC, expected)  # pytest --update-golden regenerates docs/lint.md
    text = DOC.read_text()
    for rid in RULES:
        assert f"### {rid}\n" in text


def test_pre_commit_hooks_run_podwall_lint():
    import yaml

    hooks = yaml.safe_load((DOC.parent.parent / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["podwall-lint", "podwall-lint-all"]
    for h in hooks:
        assert h["entry"] == "podwall lint" and h["language"] == "python"
    assert hooks[1]["pass_filenames"] is False
