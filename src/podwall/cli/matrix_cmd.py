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
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

import click

from podwall.cli.common import Inputs, exit_codes, input_options, output_option, parse_protocol, protocol_option
from podwall.cli.exitcodes import ExitCode
from podwall.core.evaluate import Engine
from podwall.core.model import Endpoint, Protocol
from podwall.core.reachability import ALL, NA, NONE, SOME, ClassMatrix, Matrix, PortKey, matrix
from podwall.report import serialize
from podwall.report.render import SYMBOL, grid_markdown, matrix_grid

_CODE = {ALL: 1, NONE: 2, SOME: 4}
"""States as bit flags, so that combining cells is a bitwise OR (NA is 0: ignored)."""


def _decode(code: int) -> str:
    if code == 0:
        return NA
    if code == 1:
        return ALL
    if code == 2:
        return NONE
    return SOME


def group_key(ep: Endpoint, by: str) -> str:
    """The row/column an endpoint belongs to when aggregating."""
    if by == "namespace":
        return ep.namespace
    if by == "workload":
        return ep.owner or ep.key
    return ep.key


def _groups(m: Matrix, by: str) -> tuple[list[str], list[int]]:
    labels: list[str] = []
    index: dict[str, int] = {}
    of: list[int] = []
    for ep in m.endpoints:
        k = group_key(ep, by)
        g = index.get(k)
        if g is None:
            g = index[k] = len(labels)
            labels.append(k)
        of.append(g)
    return labels, of


def aggregate(m: Matrix, by: str) -> tuple[list[str], Callable[[int, int], str]]:
    """Group endpoints and combine cells: all / none / some over every pair of the groups.

    When grouping, a pod's cell with itself is left out (a pod always reaches itself); per pod
    (``by="pod"``) it is shown. On a
    :class:`ClassMatrix` this works on classes, not endpoint pairs (see :func:`_aggregate_classes`).
    """
    if by == "pod" and len({e.key for e in m.endpoints}) == len(m):
        return [e.key for e in m.endpoints], m.state
    if isinstance(m, ClassMatrix):
        labels, codes = _aggregate_classes(m, by)
        return labels, lambda a, b: _decode(int(codes[a, b]))
    labels, of = _groups(m, by)
    members: list[list[int]] = [[] for _ in labels]
    for i, g in enumerate(of):
        members[g].append(i)

    def cell(a: int, b: int) -> str:
        code = 0
        for i in members[a]:
            for j in members[b]:
                if i == j and by != "pod" and m.endpoints[i].is_pod:
                    continue
                code |= _CODE.get(m.state(i, j), 0)
        return _decode(code)

    return labels, cell


def _aggregate_classes(m: ClassMatrix, by: str) -> tuple[list[str], Any]:
    """Group-by-group state codes, from class-by-class states.

    Every endpoint pair of groups ``A x B`` has the state of its class pair, so the groups' cell
    is the OR of the class-pair codes over the (group, class) pairs present. The only exception
    is a pod's pair with itself, left out: it matters only when a (group, class) has exactly one
    member and that member is a pod; those diagonal cells are recomputed without it.
    """
    import numpy as np

    labels, of = _groups(m, by)
    comp = m.compiled
    n_cls = comp.classes.n
    state = comp.states()
    cls = comp.classes.cls.astype(np.int64)
    key = np.asarray(of, dtype=np.int64) * max(1, n_cls) + cls
    pairs, first, sizes = np.unique(key, return_index=True, return_counts=True)
    pair_g = pairs // max(1, n_cls)
    pair_c = pairs % max(1, n_cls)
    is_pod = np.asarray([e.is_pod for e in m.endpoints], dtype=np.bool_)
    # per pod, the cell of a pod with itself is shown (always reachable); in groups it is left out
    lonely_pod = (sizes == 1) & is_pod[first] & (by != "pod")
    starts = np.flatnonzero(np.r_[True, pair_g[1:] != pair_g[:-1]])
    by_rows = np.bitwise_or.reduceat(state[pair_c], starts, axis=0) if len(pairs) else state[:0]
    codes = np.bitwise_or.reduceat(by_rows[:, pair_c], starts, axis=1) if len(pairs) else by_rows[:, :0]
    bounds = [*starts.tolist(), len(pairs)]
    for gi in range(len(starts)):
        lo, hi = bounds[gi], bounds[gi + 1]
        if not lonely_pod[lo:hi].any():
            continue
        cs = pair_c[lo:hi]
        block = state[np.ix_(cs, cs)].copy()
        diag = np.arange(hi - lo)
        block[diag, diag] = np.where(lonely_pod[lo:hi], 0, block[diag, diag])
        codes[gi, gi] = np.bitwise_or.reduce(block, axis=None)
    return labels, codes


def _fits(n: int, width: int) -> bool:
    return n * 4 + 40 <= width


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
def matrix_command(inputs: Inputs, port: int | None, protocol: str, by: str, output: str) -> ExitCode:
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
    # a closed pipe (``| head``) ends here as BrokenPipeError; cli/main.py stops quietly
    _run(sys.stdout, loaded.engine, port, parse_protocol(protocol), by, output)
    return ExitCode.OK


def _run(out: IO[str], engine: Engine, port: int | None, proto: Protocol, by: str, output: str) -> None:
    with _Bar(enabled=sys.stderr.isatty()) as bar:
        m = matrix(engine, port=port, protocol=proto, progress=bar)
        width = shutil.get_terminal_size((120, 40)).columns
        if by == "auto":
            by = "pod"
            if output in ("text", "md"):
                for candidate in ("pod", "workload", "namespace"):
                    by = candidate
                    n = len({group_key(e, candidate) for e in m.endpoints})
                    if _fits(n, width):
                        break
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
        labels, cell = aggregate(m, by)
    if output == "csv":
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["from", "to", "state"])
        for i, a in enumerate(labels):
            for j, b in enumerate(labels):
                w.writerow([a, b, cell(i, j)])
        return
    sym: Callable[[int, int], str] = lambda i, j: SYMBOL[cell(i, j)]  # noqa: E731
    if output == "md":
        click.echo(grid_markdown(labels, sym))
    else:
        # too wide even by namespace: let the grid overflow the terminal rather than squeeze it
        grid_width = max(width, 80, len(labels) * 4 + max((len(x) for x in labels), default=0) + 8)
        click.echo(
            matrix_grid(
                labels, sym, title=f"reachability on {what} (by {by}; rows: from, columns: to)", width=grid_width
            )
        )


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


__all__ = ["aggregate", "group_key", "register"]
