"""``podwall report`` (one self-contained HTML page) and ``podwall graph`` (dot, mermaid, svg).

The data is computed by :mod:`podwall.report.document` from the same matrices ``podwall matrix``
prints; this module loads the inputs (and the base for a diff: ``--old PATHS`` or ``--base REV``,
read as ``podwall diff`` reads them), runs lint and the diff, and writes the file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import Any

import click

from podwall import __version__
from podwall.api import LoadedCluster, load_versions
from podwall.cli.common import Inputs, exit_codes, input_options, warn_diagnostics
from podwall.cli.exitcodes import ExitCode
from podwall.core.connectivity import AddressRange, address_ranges
from podwall.core.lint import lint
from podwall.core.matrix_diff import compute_diff
from podwall.core.reachability import matrix
from podwall.errors import ManifestError, PodwallError, Severity
from podwall.report.document import ReportOptions, add_diff, build_report
from podwall.report.graph import render_dot, render_mermaid
from podwall.report.html import render_html
from podwall.report.serialize import dumps


class _Target(click.Choice[str]):
    """``-o`` of ``podwall report``: a file name, or ``-`` (the page on stdout), or ``json`` (the
    document on stdout, as every command's ``-o json``). The choices are the two special values;
    anything else is a path."""

    name = "target"

    def __init__(self) -> None:
        super().__init__(["json", "-"])

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "FILE|-|json"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return str(value)


class ToolMissing(PodwallError):
    """An optional external tool (Graphviz ``dot``) is not installed; exit code 3."""

    exit_code = int(ExitCode.ENVIRONMENT)


def _document(
    loaded: LoadedCluster,
    paths: tuple[str, ...],
    namespace: str,
    options: dict[str, Any],
    with_lint: bool,
    ranges: tuple[AddressRange, ...] | None = None,
) -> dict[str, Any]:
    m = matrix(loaded.engine)
    findings = lint(loaded.cluster, loaded.engine) if with_lint else []
    opts = ReportOptions(
        inputs=paths, namespace=namespace, lint_ran=with_lint, generator=f"podwall {__version__}", **options
    )
    return build_report(loaded.engine, m, findings=findings, line_of=loaded.result.line_of, options=opts, ranges=ranges)


@exit_codes(OK="the page was written")
@click.command("report")
@input_options
@click.option(
    "-o",
    "--output",
    "output",
    type=_Target(),
    default="report.html",
    show_default=True,
    help="The HTML file to write ('-': the page on stdout; 'json': the Report document on stdout).",
)
@click.option(
    "--old", "old", multiple=True, help="Show the changes against these manifests (repeat for several paths)."
)
@click.option("--base", "base", help="Show the changes against the same PATHS at this git revision (e.g. origin/main).")
@click.option(
    "--by",
    type=click.Choice(["workload", "pod"]),
    default="workload",
    show_default=True,
    help="Nodes: workloads (as matrix --by workload) or every endpoint.",
)
@click.option(
    "--services/--no-services",
    default=False,
    show_default=True,
    help="Also draw Services, linked to the workloads they select.",
)
@click.option("--lint/--no-lint", "with_lint", default=True, show_default=True, help="Run lint and link its findings.")
@click.option(
    "--graph-limit",
    type=click.IntRange(1),
    default=400,
    show_default=True,
    help="Above this many nodes the graph opens with namespaces collapsed.",
)
@click.option(
    "--explain-limit",
    type=click.IntRange(0),
    default=1000,
    show_default=True,
    help="Precompute at most this many explanations (the rest: the page prints the podwall explain command).",
)
@click.option("--title", default="", help="The page title.")
def report(
    inputs: Inputs,
    output: str,
    old: tuple[str, ...],
    base: str | None,
    by: str,
    services: bool,
    with_lint: bool,
    graph_limit: int,
    explain_limit: int,
    title: str,
) -> ExitCode:
    """Write one self-contained HTML page: who can reach whom, why, and what a change does.

    \b
    The page (no network access when opened) shows namespaces as boxes, workloads and bare
    pods as nodes, allowed connections as edges labelled with their ports, external CIDRs,
    isolation, lint findings; click a node for the policies that select it, a connection or a
    matrix cell for its explanation (the text of podwall explain). With --old or --base the
    changed connections are coloured (added green, removed red) with their causes.
    The data is embedded as one JSON document (kind Report) in
    <script type="application/json" id="podwall-data">.

    \b
    Example:
      podwall report examples/seed/manifests -n production -o report.html
    """
    if old and base:
        raise click.UsageError("use --old or --base, not both")
    options = {
        "by": by,
        "services": services,
        "graph_limit": graph_limit,
        "explain_limit": explain_limit,
        "title": title,
    }
    paths, namespace, opts = inputs.paths, inputs.namespace, inputs.options
    if not (old or base):
        loaded = inputs.load()
        doc = _document(loaded, paths, namespace, options, with_lint)
    else:
        before, loaded = load_versions(old or None, paths, base=base, namespace=namespace, options=opts, strict=False)
        diags = [*before.diagnostics, *loaded.diagnostics]
        warn_diagnostics(diags)
        if any(d.severity is Severity.ERROR for d in diags):
            raise ManifestError(diags)
        # one split of the outside for both versions, so that their address ranges compare
        ranges = address_ranges([before.cluster, loaded.cluster], opts)
        doc = _document(loaded, paths, namespace, options, with_lint, ranges)
        old_doc = _document(before, old or paths, namespace, dict(options, explain_limit=0), False, ranges)
        changes = compute_diff(before.cluster, loaded.cluster, opts, by=by)
        doc = add_diff(doc, old_doc, changes, loaded.engine, before.engine, base=base or " ".join(old))
    if output == "json":
        click.echo(dumps(doc))
        return ExitCode.OK
    page = render_html(doc)
    if output == "-":
        sys.stdout.write(page)
        return ExitCode.OK
    with open(output, "w", encoding="utf-8") as fh:
        fh.write(page)
    counts = doc["counts"]
    what = f"{counts['nodes']} nodes, {counts['edges']} connections, {counts['findings']} findings"
    if "diff" in doc:
        d = doc["diff"]["counts"]
        what += f"; {d['added']} added, {d['removed']} removed, {d['changed']} changed"
    if doc["aggregated"]:
        what += f" (graph opens by namespace: more than {graph_limit} nodes)"
    click.echo(f"wrote {output}: {what}", err=True)
    return ExitCode.OK


@exit_codes(OK="the graph was printed", ENVIRONMENT="-o svg without Graphviz's dot")
@click.command("graph")
@input_options
@click.option(
    "-o",
    "--output",
    type=click.Choice(["dot", "mermaid", "svg", "json"]),
    default="dot",
    show_default=True,
    help="json: the Report document (nodes, edges with port sets), as podwall report -o json without explanations.",
)
@click.option("--by", type=click.Choice(["workload", "pod"]), default="workload", show_default=True)
@click.option("--externals/--no-externals", default=True, show_default=True, help="Draw external CIDRs (ipBlocks).")
def graph(inputs: Inputs, output: str, by: str, externals: bool) -> ExitCode:
    """Print the allowed connections as a Graphviz (dot) or Mermaid graph, or SVG (needs dot).

    Namespaces are clusters (subgraphs), workloads and bare pods nodes, edges labelled with the
    ports allowed (the destination's declared ports the source may reach), as in podwall report.
    """
    loaded = inputs.load()
    doc = build_report(
        loaded.engine,
        matrix(loaded.engine),
        options=ReportOptions(inputs=inputs.paths, namespace=inputs.namespace, by=by, explain_limit=0, lint_ran=False),
    )
    if output == "json":
        click.echo(dumps(doc))
        return ExitCode.OK
    if output == "mermaid":
        click.echo(render_mermaid(doc, externals=externals), nl=False)
        return ExitCode.OK
    dot = render_dot(doc, externals=externals)
    if output == "dot":
        click.echo(dot, nl=False)
        return ExitCode.OK
    exe = shutil.which("dot")
    if exe is None:
        raise ToolMissing(
            "-o svg needs Graphviz's dot, which is not installed (apt-get install graphviz), or use -o dot"
        )
    done = subprocess.run([exe, "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise ToolMissing(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
    sys.stdout.write(done.stdout.decode())
    return ExitCode.OK


def register(cli: click.Group) -> None:
    cli.add_command(report)
    cli.add_command(graph)


__all__ = ["register"]
