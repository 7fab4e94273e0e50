"""``podwall lint``: find the NetworkPolicy mistakes people make, explain them, offer the fix.

The checks live in ``core/lint`` (pure); this module loads the input, resolves lines, renders
text / JSON / SARIF, writes fixes and maps findings to the exit code (1 when a finding reaches
``--fail-on``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import click

from podwall import __version__
from podwall.api import LoadedCluster
from podwall.cli.common import echo_json, input_options, load_cluster
from podwall.core.lint import KNOWN_CNIS, RULES, SYSTEM_NAMESPACES, Finding, combined_fixes, lint, render_path
from podwall.errors import Severity
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
    ctx.exit(0)


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line if line else line for line in text.rstrip("\n").split("\n"))


def _load(paths: tuple[str, ...], namespace: str, ipblock_matches_pods: bool, host_network: str) -> LoadedCluster:
    # lint reports non-canonical CIDRs itself, with a fix
    return load_cluster(
        paths, namespace, ipblock_matches_pods, host_network, quiet_codes=frozenset({"noncanonical-cidr"})
    )


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
            if f.fix.name in shown:
                click.echo(f"  fix: {f.fix.name}.yaml (shown above)")
            else:
                shown.add(f.fix.name)
                click.echo(f"  fix: {f.fix.name}.yaml")
                click.echo(_indent(f.fix.yaml, 4))
    counts = {s: sum(1 for f, _, _ in items if f.severity is s) for s in Severity}
    total = len(items)
    click.echo(
        f"{total} finding{'s' if total != 1 else ''}: {counts[Severity.ERROR]} error(s), "
        f"{counts[Severity.WARNING]} warning(s), {counts[Severity.INFO]} info (fail-on: {fail_on.value})"
    )


def _json(items: list[tuple[Finding, str, int]], loaded: LoadedCluster) -> dict[str, Any]:
    out = []
    for f, file, line in items:
        out.append(
            {
                "rule": f.rule,
                "severity": f.severity.value,
                "message": f.message,
                "hint": f.hint,
                "file": file,
                "line": line,
                "field": render_path(f.locations[0].path) if f.locations else "",
                "locations": [
                    {
                        "file": loc.span.file if loc.span else "",
                        "line": loaded.result.line_of(loc.span, *loc.path),
                        "field": render_path(loc.path),
                        "object": loc.what,
                    }
                    for loc in f.locations
                ],
                "namespace": f.namespace,
                "policy": f.policy,
                "endpoint": f.endpoint,
                "fix": {"name": f.fix.name, "yaml": f.fix.yaml} if f.fix else None,
            }
        )
    summary = {s.value: sum(1 for f, _, _ in items if f.severity is s) for s in Severity}
    return {"findings": out, "summary": summary}


def register(cli: click.Group) -> None:
    """Add ``lint`` to the ``podwall`` group."""

    @cli.command("lint")
    @input_options
    @click.option("-o", "--output", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
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
        paths: tuple[str, ...],
        namespace: str,
        ipblock_matches_pods: bool,
        host_network: str,
        output: str,
        fail_on: str,
        disable: tuple[str, ...],
        enable: tuple[str, ...],
        cni: str | None,
        fix_dir: str | None,
        include_system_namespaces: bool,
    ) -> None:
        """Find NetworkPolicy mistakes: missing default deny, DNS blocked by egress policies,
        inert rules, typos in selectors, AND/OR confusion, policies on a CNI that ignores them.

        \b
        Output: file:line: severity rule-id: message, with a hint and, where there is one, the
        fix as ready-to-apply YAML (--fix-dir writes them as files). Silence a rule for one
        policy or namespace with the annotation podwall.io/lint-ignore: rule-id,...

        \b
        Exit codes: 0 clean, 1 a finding reached --fail-on, 2 bad input or usage.
        """
        chosen = _rule_list(enable, "--enable") if enable else set(RULES)
        chosen -= _rule_list(disable, "--disable")
        loaded = _load(paths, namespace, ipblock_matches_pods, host_network)
        findings = lint(
            loaded.cluster,
            loaded.engine,
            enabled=chosen,
            cni=cni.lower() if cni else None,
            system_namespaces=frozenset() if include_system_namespaces else SYSTEM_NAMESPACES,
        )
        line_of = loaded.result.line_of
        items = sorted(((f, *f.line(line_of)) for f in findings), key=_sort_key)
        threshold = Severity(fail_on)
        if output == "json":
            echo_json(_json(items, loaded))
        elif output == "sarif":
            click.echo(json.dumps(sarif_log([f for f, _, _ in items], line_of, tool_version=__version__), indent=2))
        else:
            _render_text(items, threshold)
        if fix_dir is not None:
            files = combined_fixes(f for f, _, _ in items)
            os.makedirs(fix_dir, exist_ok=True)
            for name, text in files.items():
                with open(os.path.join(fix_dir, f"{name}.yaml"), "w", encoding="utf-8") as fh:
                    fh.write(text)
            click.echo(f"wrote {len(files)} fix file(s) to {fix_dir}", err=True)
        if any(f.severity.rank >= threshold.rank for f, _, _ in items):
            raise SystemExit(1)
