"""The ``podwall`` command (also installed as ``kubectl-podwall``, so ``kubectl podwall`` works).

This is the only place that turns errors into exit codes; see ``common.py`` for the codes.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from podwall import __version__
from podwall.cli import commands, diff_cmd, lab_cmd, lint_cmd, report_cmd
from podwall.errors import ManifestError, PodwallBug, PodwallError, Severity

EXIT_BUG = 4


class _Group(click.Group):
    """A click group that maps podwall's errors to messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ManifestError as exc:
            for d in exc.diagnostics:
                if d.severity is Severity.ERROR:
                    click.echo(f"error: {d.render()}", err=True)
            ctx.exit(exc.exit_code)
        except PodwallError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (PodwallBug, Exception) as exc:  # noqa: BLE001 - last line of defence
            click.echo(f"internal error: {type(exc).__name__}: {exc} (this is a bug in podwall; please report it)", err=True)
            if "--debug" in sys.argv:
                traceback.print_exc()
            ctx.exit(EXIT_BUG)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="podwall")
def cli() -> None:
    """podwall: Kubernetes NetworkPolicy you can trust.

    Load manifests (files, directories, or - for stdin), validate them like the API server,
    and ask who can reach whom, and why.

    \b
    Endpoints are written ns/pod, ns/kind/name for a workload (ns/deployment/web), an IP
    address for something outside the cluster, or ns/service/name as a destination.

    \b
    Exit codes: 0 yes/ok, 1 no/findings/failures, 2 bad input or usage, 3 lab or nftables
    failure (not root, nft missing), 4 internal error.
    """


commands.register(cli)
lint_cmd.register(cli)
lab_cmd.register(cli)
diff_cmd.register(cli)
report_cmd.register(cli)


def main() -> None:
    cli(prog_name="podwall")
