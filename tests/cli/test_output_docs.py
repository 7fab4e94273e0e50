"""docs/output.md's tables are generated from the code (the exit-code table, the kinds of JSON
document, each command's exit codes): this test fails when they drift; pytest --update-golden
regenerates them."""

from __future__ import annotations

from tests.cli.test_contract import ALL_COMMANDS
from tests.conftest import REPO

from podwall.cli.common import codes_of
from podwall.cli.exitcodes import ExitCode
from podwall.report.serialize import KINDS, SCHEMA

DOC = REPO / "docs" / "output.md"
BEGIN, END = "<!-- generated:begin -->", "<!-- generated:end -->"
OWN = (ExitCode.OK, ExitCode.NO, ExitCode.ENVIRONMENT)


def generated() -> str:
    out = [BEGIN, "", "### The exit-code table", "", "| code | name | meaning |", "| ---: | --- | --- |"]
    out += [f"| {int(c)} | `{c.name}` | {c.describe()} |" for c in ExitCode]
    out += ["", f"### The kinds of JSON document (`\"schema\": \"{SCHEMA}\"`)", "", "| kind | printed by | schema |",
            "| --- | --- | --- |"]
    out += [f"| `{k}` | {what} | [`schemas/{k}.json`](schemas/{k}.json) |" for k, what in KINDS.items()]
    out += ["", "### Each command's exit codes", "", "| command | codes |", "| --- | --- |"]
    for path, cmd in sorted(ALL_COMMANDS.items()):
        own = [f"{int(c)} {text}" for c, text in codes_of(cmd).items() if c in OWN]
        out.append(f"| `podwall {' '.join(path)}` | {'; '.join(own)} |")
    out += ["", "Every command can also end with 2, 4, 130, 141 and 143 (the table above).", "", END]
    return "\n".join(out)


def test_output_doc_tables_are_current(golden) -> None:  # type: ignore[no-untyped-def]
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    golden(DOC, head + generated() + tail)
