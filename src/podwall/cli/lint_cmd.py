"""``podwall lint``: find the NetworkPolicy mistakes people make, explain them, offer the fix.

The checks live in ``core/lint`` (pure); this module loads the input, resolves lines, renders
text / JSON / SARIF, writes fixes and maps findings to the exit code (1 when a finding reaches
``--fail-on``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

import click

from podwall import __version__
from podwall.api import LoadedCluster
from podwall.cli.common import Inputs, echo_json, exit_codes, input_options, json_requested, output_option
from podwall.cli.exitcodes import ExitCode
from podwall.core.lint import KNOWN_CNIS, RULES, SYSTEM_NAMESPACES, Finding, FixAction, lint
from podwall.errors import Severity, SourceSpan
from podwall.report import serialize
from podwall.report.fixes import DELETE_DIR, checked_fix_files, fix_yaml
from podwall.report.sarif import sarif_log


def _rule_list(values: Sequence[str], option: str) -> set[str]:
    ids = {part.strip() for v in values for part in v.split(",") if part.strip()}
    unknown = sorted(ids - set(RULES))
    if unknown:
        raise click.BadParameter(
            f"unknown rule(s): {', '.join(unknown)} (see podwall lint --list-rules)", param_hint=option
        )
    return ids


def _list_rules(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    if json_requested(ctx):
        echo_json(serialize.lint_rules_doc())
        raise click.exceptions.Exit(ExitCode.OK)  # handled by cli/main.py, like --help
    width = max(len(r) for r in RULES)
    for info in RULES.values():
        click.echo(f"{info.id:<{width}}  {info.severity.value:<7}  {info.summary}")
    click.echo("")
    for info in RULES.values():
        click.echo(f"== {info.id} ({info.severity.value})")
        click.echo(f"why: {info.why}")
        click.echo("bad:")
        click.echo(_indent(info.bad, 2))
        click.echo("fix:")
        click.echo(_indent(info.fixed, 2))
        click.echo("")
    raise click.exceptions.Exit(ExitCode.OK)  # handled by cli/main.py, like --help


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line if line else line for line in text.rstrip("\n").split("\n"))


def _line_resolver(loaded: LoadedCluster) -> Callable[..., int]:
    """``line_of`` for findings: when the loader recorded an object's line on its span, that is
    its line, and only a field below it needs the YAML node tree of its document. The loader's
    fast path records no lines (``span.line == 0``): those go to the locator, which composes only
    the document asked for."""
    full = loaded.result.line_of

    def line_of(span: SourceSpan | None, *path: str | int) -> int:
        if span is not None and span.line and not path and not span.path:
            return span.line
        return full(span, *path)

    return line_of


def _sort_key(item: tuple[Finding, str, int]) -> tuple[Any, ...]:
    f, file, line = item
    return (file, line, -f.severity.rank, f.rule, f.message)


def _render_text(items: list[tuple[Finding, str, int]], fail_on: Severity) -> None:
    shown: set[str] = set()
    for f, file, line in items:
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        click.echo(f"{where}{f.severity.value} {f.rule}: {f.message}")
        if f.hint:
            click.echo(f"  hint: {f.hint}")
        if f.fix is not None:
            label = f"{DELETE_DIR}/{f.fix.name}" if f.fix.action is FixAction.DELETE else f.fix.name
            if f.fix.name in shown:
                click.echo(f"  fix: {label}.yaml (shown above)")
            else:
                shown.add(f.fix.name)
                click.echo(f"  fix: {label}.yaml")
                click.echo(_indent(fix_yaml(f.fix), 4))
    counts = {s: sum(1 for f, _, _ in items if f.severity is s) for s in Severity}
    total = len(items)
    click.echo(
        f"{total} finding{'s' if total != 1 else ''}: {counts[Severity.ERROR]} error(s), "
        f"{counts[Severity.WARNING]} warning(s), {counts[Severity.INFO]} info (fail-on: {fail_on.value})"
    )


def register(cli: click.Group) -> None:
    """Add ``lint`` to the ``podwall`` group."""

    @exit_codes(OK="clean: no finding reached --fail-on", NO="a finding reached --fail-on")
    @click.command("lint")
    @input_options
    @output_option("text", "json", "sarif")
    @click.option(
        "--fail-on",
        type=click.Choice(["error", "warning", "info"]),
        default="error",
        show_default=True,
        help="Exit 1 when a finding of this severity or worse is reported.",
    )
    @click.option("--disable", multiple=True, metavar="RULE,...", help="Rules not to run (repeatable).")
    @click.option("--enable", multiple=True, metavar="RULE,...", help="Run only these rules (repeatable).")
    @click.option(
        "--cni",
        type=click.Choice(sorted(KNOWN_CNIS), case_sensitive=False),
        default=None,
        help="The cluster's network plugin, when the input does not show it (flannel and kubenet do not "
        "enforce NetworkPolicy).",
    )
    @click.option("--fix-dir", type=click.Path(file_okay=False), default=None, help="Write the fixes as files here.")
    @click.option(
        "--include-system-namespaces",
        is_flag=True,
        help=f"Also check {', '.join(sorted(SYSTEM_NAMESPACES))} for no-default-deny and unprotected-pod.",
    )
    @click.option(
        "--list-rules",
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=_list_rules,
        help="List every rule with why it matters, a bad example and the fix, then exit.",
    )
    def lint_cmd(
        inputs: Inputs,
        output: str,
        fail_on: str,
        disable: tuple[str, ...],
        enable: tuple[str, ...],
        cni: str | None,
        fix_dir: str | None,
        include_system_namespaces: bool,
    ) -> ExitCode:
        """Find NetworkPolicy mistakes: missing default deny, DNS blocked by egress policies,
        inert rules, typos in selectors, AND/OR confusion, policies on a CNI that ignores them.

        \b
        Output: file:line: severity rule-id: message, with a hint and, where there is one, the
        fix as ready-to-apply YAML (--fix-dir writes them as files). Silence a rule for one
        policy or namespace with the annotation podwall.io/lint-ignore: rule-id,...
        """
        chosen = _rule_list(enable, "--enable") if enable else set(RULES)
        chosen -= _rule_list(disable, "--disable")
        loaded = inputs.load(quiet_codes={"noncanonical-cidr"})  # lint reports those itself, with a fix
        findings = lint(
            loaded.cluster,
            loaded.engine,
            enabled=chosen,
            cni=cni.lower() if cni else None,
            system_namespaces=frozenset() if include_system_namespaces else SYSTEM_NAMESPACES,
        )
        line_of = _line_resolver(loaded)
        items = sorted(((f, *f.line(line_of)) for f in findings), key=_sort_key)
        threshold = Severity(fail_on)
        if output == "json":
            echo_json(serialize.lint_doc(items, line_of, fail_on=threshold.value))
        elif output == "sarif":
            click.echo(json.dumps(sarif_log([f for f, _, _ in items], line_of, tool_version=__version__), indent=2))
        else:
            _render_text(items, threshold)
        if fix_dir is not None:
            files, left_out = checked_fix_files((f for f, _, _ in items), loaded.cluster, loaded.engine.options)
            for note in left_out:
                click.echo(f"podwall: {note}", err=True)
            for rel, text in files.items():
                path = os.path.join(fix_dir, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(text)
            deletions = sum(1 for rel in files if rel.startswith(DELETE_DIR + "/"))
            where = os.path.join(fix_dir, DELETE_DIR)
            note = f" ({deletions} to delete: kubectl delete -f {where})" if deletions else ""
            click.echo(f"wrote {len(files)} fix file(s) to {fix_dir}{note}", err=True)
        return ExitCode.NO if any(f.severity.rank >= threshold.rank for f, _, _ in items) else ExitCode.OK

    cli.add_command(lint_cmd)
