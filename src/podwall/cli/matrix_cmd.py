"""``podwall matrix``: who can reach whom, as a table.

Large clusters stay usable: the text and Markdown grids aggregate by workload or namespace when
the pod-level grid would not fit the terminal (``--by auto``); pod-level JSON and CSV are
written row by row as they are produced (never built in memory); and on a terminal, work that
takes more than a second shows a progress bar on stderr.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import IO, Any

import click

from podwall.cli.common import Inputs, exit_codes, input_options, output_option, parse_protocol, protocol_option
from podwall.cli.exitcodes import ExitCode
from podwall.core.evaluate import Engine
from podwall.core.matrix_aggregate import aggregate, aggregate_codes, decode, symbol_rows
from podwall.core.model import Endpoint, Protocol
from podwall.core.names import group_key
from podwall.core.reachability import ALL, NA, NONE, SOME, ClassMatrix, Matrix, PortKey, matrix
from podwall.report import serialize
from podwall.report.render import SYMBOL, grid_markdown, matrix_grid

POD_LEVEL_LIMIT = 1000
"""Above this many endpoints, ``-o json``/``-o csv`` write pod-level cells only with an explicit
``--by pod`` (1,000 endpoints are a million cells, about 100 MB of JSON)."""


def _fits(n: int, width: int) -> bool:
    return n * 4 + 40 <= width


def _auto_by(endpoints: Sequence[Endpoint], output: str, width: int) -> str:
    """``--by auto``: per pod when the result stays readable, else by workload, then namespace.

    Text and Markdown grids must fit the terminal; pod-level JSON and CSV must stay below
    :data:`POD_LEVEL_LIMIT` endpoints (a note on stderr says so when they are aggregated).
    """

    def fits(n: int) -> bool:
        return _fits(n, width) if output in ("text", "md") else n <= POD_LEVEL_LIMIT

    by, n = "pod", len(endpoints)
    for candidate in ("pod", "workload", "namespace"):
        by = candidate
        n = len({group_key(e, candidate) for e in endpoints})
        if fits(n):
            break
    if by != "pod" and output in ("json", "csv"):
        click.echo(
            f"note: {len(endpoints)} endpoints are {len(endpoints) ** 2:,} pod-level cells; aggregated by {by} "
            f"({n} groups); pass --by pod for every pair",
            err=True,
        )
    return by


class _Bar:
    """A rich progress bar on stderr, shown only on a terminal and only after a second of work."""

    def __init__(self, enabled: bool, delay: float = 1.0) -> None:
        self.enabled = enabled
        self.delay = delay
        self.start = time.monotonic()
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if time.monotonic() - self.start < self.delay:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
        task = self._tasks.get(stage)
        if task is None:
            task = self._tasks[stage] = self._progress.add_task(stage, total=total)
        self._progress.update(task, completed=done, total=total)


@exit_codes(OK="the matrix was printed")
@click.command("matrix")
@input_options
@click.option(
    "--port",
    "-p",
    type=click.IntRange(1, 65535),
    help="Check this port on every destination (default: each destination's declared container ports).",
)
@protocol_option
@click.option(
    "--by",
    type=click.Choice(["auto", "pod", "workload", "namespace"]),
    default="auto",
    show_default=True,
    help="Rows and columns: each endpoint (pod), workload, or namespace. 'auto': per endpoint, "
    "except that text and md aggregate by workload, then namespace, when the grid would not fit the terminal.",
)
@output_option("text", "json", "csv", "md")
@click.option(
    "--ports",
    "ports_mode",
    type=click.Choice(["declared", "all"]),
    default="declared",
    show_default=True,
    help="'all': list every pair's allowed connections over the whole port space, "
    "e.g. 'TCP 1-79,81-65535; UDP 53' (see docs/diff.md).",
)
def matrix_command(
    inputs: Inputs, port: int | None, protocol: str, by: str, output: str, ports_mode: str = "declared"
) -> ExitCode:
    """Who can reach whom: a source x destination table.

    Without --port each destination is checked on its own declared container ports, and a
    cell tells whether all, none or some of them are reachable. With --port, every destination
    is checked on that port.

    \b
    Text cells: '.' reachable, 'X' blocked, '~' some ports, '-' nothing to check.
    JSON and CSV list, per pair, the reachable ports and the checked ports; pod-level JSON
    and CSV are streamed, one pair per line.
    """
    loaded = inputs.load()
    if not loaded.cluster.endpoints:
        click.echo("note: the input has no pods or workloads: the matrix is empty", err=True)
    if ports_mode == "all":
        from podwall.cli import connlist  # numpy only when a matrix is computed

        if port is not None:
            raise click.UsageError("--port and --ports all exclude each other")
        with _Bar(enabled=sys.stderr.isatty()) as bar:
            connlist.write(sys.stdout, loaded.engine, by, output, progress=bar)
        return ExitCode.OK
    # a closed pipe (``| head``) ends here as BrokenPipeError; cli/main.py stops quietly
    _run(sys.stdout, loaded.engine, port, parse_protocol(protocol), by, output)
    return ExitCode.OK


def _run(out: IO[str], engine: Engine, port: int | None, proto: Protocol, by: str, output: str) -> None:
    with _Bar(enabled=sys.stderr.isatty()) as bar:
        m = matrix(engine, port=port, protocol=proto, progress=bar)
        width = shutil.get_terminal_size((120, 40)).columns
        if by == "auto":
            by = _auto_by(m.endpoints, output, width)
        what = f"{proto}/{port}" if port else "declared container ports"
        if output == "json":
            if by == "pod":
                serialize.write_matrix(out, m, port=port, protocol=proto, progress=bar)
            else:
                labels, cell = aggregate(m, by)
                serialize.write_group_matrix(out, labels, cell, port=port, protocol=proto, by=by, progress=bar)
            return
        if output == "csv" and by == "pod":
            _csv(out, m, bar)
            return
        if output == "text":
            click.echo(text_grid(m, by, what))
            return
        labels, cell = aggregate(m, by)
    if output == "csv":
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["from", "to", "state"])
        for i, a in enumerate(labels):
            for j, b in enumerate(labels):
                w.writerow([a, b, cell(i, j)])
        return
    sym: Callable[[int, int], str] = lambda i, j: SYMBOL[cell(i, j)]  # noqa: E731
    click.echo(grid_markdown(labels, sym))


def text_grid(m: Matrix, by: str, what: str) -> str:
    """The text output: the grid by ``by``, formatted with plain strings.

    Aggregated from classes, a row's symbols are looked up at once from the group codes
    (numpy); per pod, or on the per-pair oracle, cell by cell. A grid wider than the terminal
    overflows it rather than being squeezed.
    """
    title = f"reachability on {what} (by {by}; rows: from, columns: to)"
    if by != "pod" and isinstance(m, ClassMatrix):
        labels, codes = aggregate_codes(m, by)
        rows = symbol_rows(codes)
        return matrix_grid(labels, lambda a, b: SYMBOL[decode(int(codes[a, b]))], title=title, row_cells=rows)
    labels, cell = aggregate(m, by)
    return matrix_grid(labels, lambda i, j: SYMBOL[cell(i, j)], title=title)


def _ports_text(ports: tuple[PortKey, ...]) -> str:
    return ",".join(f"{p}/{n}" for p, n in ports)


def _rows(m: Matrix, bar: _Bar) -> Any:
    """``(i, j, allowed)`` for every pair, row by row, reporting progress per row."""
    n = len(m)
    for i in range(n):
        bar("writing rows", i, n)
        if isinstance(m, ClassMatrix):
            for j, allowed in m.row(i):
                yield i, j, allowed
        else:
            for j in range(n):
                yield i, j, m.allowed(i, j)
    bar("writing rows", n, n)


def _state(allowed: tuple[PortKey, ...], checked: tuple[PortKey, ...]) -> str:
    if not checked:
        return NA
    return ALL if len(allowed) == len(checked) else NONE if not allowed else SOME


def _csv_fields(*fields: str) -> str:
    """Fields as one CSV fragment (quoted as the csv module quotes them), without a newline."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def _csv(out: IO[str], m: Matrix, bar: _Bar) -> None:
    """Write CSV incrementally, a row of the matrix at a time (cells formatted once per class)."""
    out.write("from,to,state,allowed,checked\n")
    keys = [_csv_fields(e.key) for e in m.endpoints]
    checked = [_ports_text(m.checked(j)) for j in range(len(m))]
    cls = m.compiled.classes.cls.tolist() if isinstance(m, ClassMatrix) else list(range(len(m)))
    n = len(m)
    for i in range(n):
        bar("writing rows", i, n)
        tails: dict[tuple[int, tuple[PortKey, ...]], str] = {}
        lines = []
        cells = m.row(i) if isinstance(m, ClassMatrix) else ((j, m.allowed(i, j)) for j in range(n))
        for j, allowed in cells:
            tk = (cls[j], allowed)
            t = tails.get(tk)
            if t is None:
                t = tails[tk] = (
                    "," + _csv_fields(_state(allowed, m.checked(j)), _ports_text(allowed), checked[j]) + "\n"
                )
            lines.append(keys[i] + "," + keys[j] + t)
        out.write("".join(lines))
    bar("writing rows", n, n)


def register(cli: click.Group) -> None:
    cli.add_command(matrix_command)


__all__ = ["aggregate", "register"]
