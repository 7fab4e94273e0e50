"""``podwall diff``: what a change of manifests opens and closes, on every port, and why.

Three ways to name the two versions::

    podwall diff OLD NEW                      # two paths (file, directory or -)
    podwall diff --old A.yaml --old dir/ --new B.yaml --new dir2/   # sets of paths
    podwall diff --base origin/main manifests/                       # manifests/ at a git revision vs now
"""

from __future__ import annotations

import click

from podwall.api import LoadedCluster, diff_clusters, load_versions
from podwall.cli.common import echo_json, exit_codes, output_option, warn_diagnostics
from podwall.cli.exitcodes import ExitCode
from podwall.core.diff import Diff
from podwall.core.model import HostNetworkMode, Options
from podwall.errors import ManifestError, Severity
from podwall.report import serialize
from podwall.report.diffreport import diff_csv, diff_markdown, diff_text


def _load(
    old: tuple[str, ...] | None,
    new: tuple[str, ...],
    base: str | None,
    namespace: str,
    ipblock_matches_pods: bool,
    host_network: str,
) -> tuple[LoadedCluster, LoadedCluster]:
    """Both versions; any error in either is fatal (exit 2), warnings go to stderr."""
    opts = Options(ipblock_matches_pods=ipblock_matches_pods, host_network=HostNetworkMode(host_network))
    a, b = load_versions(old, new, base=base, namespace=namespace, options=opts, strict=False)
    diags = [*a.diagnostics, *b.diagnostics]
    warn_diagnostics(diags)
    if any(d.severity is Severity.ERROR for d in diags):
        raise ManifestError(diags)
    return a, b


@exit_codes(OK="no change reached --fail-on (or no --fail-on)", NO="a change reached --fail-on")
@click.command("diff")
@click.argument("paths", nargs=-1, type=str)
@click.option(
    "--old", "old_paths", multiple=True, metavar="PATH", help="A path of the old version (repeat for several)."
)
@click.option(
    "--new", "new_paths", multiple=True, metavar="PATH", help="A path of the new version (repeat for several)."
)
@click.option(
    "--base",
    metavar="REV",
    help="Compare PATHS as they are now with PATHS at this git revision (read with git, no checkout).",
)
@click.option("-n", "--namespace", default="default", show_default=True, help="Namespace for objects that have none.")
@click.option(
    "--ipblock-matches-pods/--no-ipblock-matches-pods",
    default=True,
    show_default=True,
    help="Whether ipBlock rules match pod IPs (the upstream e2e suite requires it; Cilium does not).",
)
@click.option(
    "--host-network",
    type=click.Choice(["node", "pod"]),
    default="node",
    show_default=True,
    help="How hostNetwork pods count: 'node' (node traffic) or 'pod' (like any pod).",
)
@click.option(
    "--by",
    type=click.Choice(["workload", "pod", "namespace"]),
    default="workload",
    show_default=True,
    help="What a pair's ends are: workloads (pods grouped by owner), each pod, or namespaces.",
)
@output_option("text", "json", "md", "csv")
@click.option(
    "--fail-on",
    type=click.Choice(["opened", "closed", "any"]),
    default=None,
    help="Exit 1 when a pair present in both versions gains (opened), loses (closed) or changes (any) connections.",
)
def diff_command(
    paths: tuple[str, ...],
    old_paths: tuple[str, ...],
    new_paths: tuple[str, ...],
    base: str | None,
    namespace: str,
    ipblock_matches_pods: bool,
    host_network: str,
    by: str,
    output: str,
    fail_on: str | None,
) -> ExitCode:
    """What a change opens and closes: allowed connections before and after, per pair, and why.

    \b
      podwall diff before/ after/
      podwall diff --old v1.yaml --old cluster.yaml --new v2.yaml --new cluster.yaml
      podwall diff --base origin/main manifests/

    The comparison is semantic: for every pair of endpoints (by workload unless --by says
    otherwise, and address ranges outside the cluster), the connections allowed over the whole
    port space. Reformatting, reordering, renaming or splitting policies reports nothing. Each
    changed pair names its causes: the policies and rules added, removed or edited (with the
    field that changed). Pairs with an end in one version only are 'new endpoint' / 'removed
    endpoint' (they never count for --fail-on). -o md is a summary line and a table, to paste
    as a pull-request comment.
    """
    if base is not None:
        if old_paths or new_paths:
            raise click.UsageError("--base takes PATHS; it excludes --old/--new")
        if not paths:
            raise click.UsageError("--base REV needs PATHS (the manifests to compare with their version at REV)")
        old, new = _load(None, paths, base, namespace, ipblock_matches_pods, host_network)
    elif old_paths or new_paths:
        if not (old_paths and new_paths):
            raise click.UsageError("--old and --new go together (each at least once)")
        if paths:
            raise click.UsageError("with --old/--new, give no positional paths")
        old, new = _load(old_paths, new_paths, None, namespace, ipblock_matches_pods, host_network)
    else:
        if len(paths) != 2:
            raise click.UsageError("give OLD NEW (two paths), --old/--new PATH..., or --base REV PATHS...")
        old, new = _load(paths[:1], paths[1:], None, namespace, ipblock_matches_pods, host_network)
    if not old.cluster.endpoints and not new.cluster.endpoints:
        click.echo("note: neither version has pods or workloads: only address ranges are compared", err=True)
    result = diff_clusters(old, new, by=by)
    _write(result, output)
    return ExitCode.NO if fail_on is not None and _fails(result, fail_on) else ExitCode.OK


def _fails(d: Diff, fail_on: str) -> bool:
    if fail_on == "opened":
        return d.opened
    if fail_on == "closed":
        return d.closed
    return d.opened or d.closed


def _write(d: Diff, output: str) -> None:
    if output == "json":
        echo_json(serialize.diff_document(d))
    elif output == "md":
        click.echo(diff_markdown(d), nl=False)
    elif output == "csv":
        click.echo(diff_csv(d), nl=False)
    else:
        click.echo(diff_text(d), nl=False)


def register(cli: click.Group) -> None:
    cli.add_command(diff_command)


__all__ = ["register"]
