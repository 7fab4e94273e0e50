"""The ``podwall`` command (also installed as ``kubectl-podwall``, so ``kubectl podwall`` works).

This is the only place that exits, and the only place that turns errors into exit codes (the
table is :mod:`podwall.cli.exitcodes`). Commands return an :class:`ExitCode` (or nothing, for
OK) or raise:

* a :class:`PodwallError` -> its ``exit_code``, with a one-line message (``error: ...`` on stderr,
  or an ``Error`` document on stdout when the command line asked for ``-o json``);
* a click usage error (bad option, missing argument) -> 2, the same way;
* Ctrl-C -> 130; SIGTERM or SIGHUP -> 143 (both unwind, so a half-built lab is torn down);
* a closed pipe (``podwall lint DIR | head -1``) -> 141, quietly;
* anything else is a bug -> 4, ``internal error: ...`` (``--debug`` adds the traceback).
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

from podwall import __version__
from podwall.cli import commands, lab_cmd, lint_cmd, live_cmd
from podwall.cli.common import OUTPUT_META, exit_codes_text
from podwall.cli.exitcodes import ExitCode
from podwall.errors import Diagnostic, ManifestError, PodwallError, Severity
from podwall.report.serialize import dumps, error_doc

DEBUG_META = "podwall.debug"


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C (``finally`` blocks run), then exit 143."""


class _ClosedPipe(Exception):
    """stdout's reader went away; raised instead of BrokenPipeError so that click leaves it alone."""


def requested_output(args: Sequence[str]) -> str | None:
    """The value of ``-o``/``--output`` on a command line, found before click parses it."""
    found = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("-o", "--output") and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith("--output="):
            found = arg.split("=", 1)[1]
        elif arg.startswith("-o") and not arg.startswith("--") and len(arg) > 2:
            found = arg[2:]
    return found


def _report(json_mode: bool, code: ExitCode, exc: BaseException, diagnostics: Sequence[Diagnostic] = ()) -> None:
    """Say what went wrong: a JSON ``Error`` document on stdout, or ``error: ...`` on stderr."""
    message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
    if json_mode:
        if isinstance(exc, click.UsageError):
            kind = "UsageError"
        elif isinstance(exc, click.ClickException):
            kind = "InputError"
        elif isinstance(exc, _Bug):
            kind = "InternalError"
        else:
            kind = type(exc).__name__
        click.echo(dumps(error_doc(code=int(code), type=kind, message=message, diagnostics=diagnostics)))
        return
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    if errors:
        for d in errors:
            click.echo(f"error: {d.render()}", err=True)
    else:
        click.echo(f"error: {message}", err=True)


class _Bug(Exception):
    """An exception nobody meant to raise escaped a command (reported as an internal error)."""


class _Group(click.Group):
    """The podwall group: runs a command and maps how it ended to one exit code."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        ctx = super().make_context(info_name, list(args), parent, **extra)
        # Known before the subcommand parses anything: errors and eager options honour -o json.
        ctx.meta[OUTPUT_META] = requested_output(args)
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _ClosedPipe from exc
        except (click.exceptions.Exit, click.ClickException, click.Abort, PodwallError):
            raise
        except Exception as exc:
            if ctx.meta.get(DEBUG_META) or os.environ.get("PODWALL_DEBUG") == "1":
                traceback.print_exc()
            raise _Bug(f"{type(exc).__name__}: {exc}") from exc

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        code = run(self, argv, prog_name=prog_name or "podwall", complete_var=complete_var, **extra)
        if standalone_mode:
            sys.exit(int(code))
        return code


@contextmanager
def _signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` while a command runs (main thread only)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated(signum)

    try:
        old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    except ValueError:  # not the main thread (an embedding application): leave signals alone
        old = {}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _quiet_stdout() -> None:
    """The pipe is gone: send what is left (and Python's flush at exit) to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (a test runner's buffer)
        pass


def run(group: click.Group, argv: list[str], **kwargs: Any) -> ExitCode:
    """Run the command line ``argv`` and return its exit code (never exits, never raises)."""
    try:
        return _run(group, argv, **kwargs)
    except BrokenPipeError:  # the reader left while the error itself was being reported
        _quiet_stdout()
        return ExitCode.SIGPIPE


def _run(group: click.Group, argv: list[str], **kwargs: Any) -> ExitCode:
    json_mode = requested_output(argv) == "json"
    try:
        with _signals():
            try:
                rv = click.Group.main(group, argv, standalone_mode=False, **kwargs)
                sys.stdout.flush()
            except BrokenPipeError as exc:
                raise _ClosedPipe from exc
        if rv is None:
            return ExitCode.OK
        return ExitCode(rv)  # a command returns an ExitCode; click returns 0 for --help and --version
    except _ClosedPipe:
        _quiet_stdout()
        return ExitCode.SIGPIPE
    except ManifestError as exc:
        code = ExitCode(exc.exit_code)
        _report(json_mode, code, exc, exc.diagnostics)
        return code
    except PodwallError as exc:
        code = ExitCode(exc.exit_code)
        _report(json_mode, code, exc)
        return code
    except click.ClickException as exc:
        # usage errors (bad option, missing argument, bad value) and click's file errors
        if json_mode:
            _report(True, ExitCode.BAD_INPUT, exc)
        else:
            exc.show()
        return ExitCode.BAD_INPUT
    except (KeyboardInterrupt, click.Abort):
        click.echo("interrupted", err=True)
        return ExitCode.SIGINT
    except Terminated:
        click.echo("terminated", err=True)
        return ExitCode.SIGTERM
    except Exception as exc:  # _Bug, or anything escaping click itself
        message = f"{exc if isinstance(exc, _Bug) else f'{type(exc).__name__}: {exc}'}"
        if json_mode:
            _report(True, ExitCode.BUG, _Bug(f"internal error: {message} (this is a bug in podwall; please report it)"))
        else:
            click.echo(f"internal error: {message} (this is a bug in podwall; please report it)", err=True)
        if not isinstance(exc, _Bug) and os.environ.get("PODWALL_DEBUG") == "1":
            traceback.print_exc()
        return ExitCode.BUG


def _debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[DEBUG_META] = True


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=exit_codes_text({code: code.describe() for code in ExitCode}),
)
@click.version_option(__version__, prog_name="podwall")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_debug,
    help="On an internal error, print the traceback (also: PODWALL_DEBUG=1).",
)
def cli() -> None:
    """podwall: Kubernetes NetworkPolicy you can trust.

    Load manifests (files, directories, or - for stdin), validate them like the API server,
    and ask who can reach whom, and why. Every command takes -o json (docs/output.md).

    \b
    Endpoints are written ns/pod, ns/kind/name for a workload (ns/deployment/web), an IP
    address for something outside the cluster, or ns/service/name as a destination.
    """


commands.register(cli)
lint_cmd.register(cli)
lab_cmd.register(cli)
live_cmd.register(cli)


def main() -> None:
    cli.main(prog_name="podwall")


if __name__ == "__main__":
    main()
