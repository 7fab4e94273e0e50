"""``podwall matrix``: who can reach whom, as a table."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import click

from podwall.cli.common import echo_json, input_options, load_cluster
from podwall.core.model import Endpoint, Protocol
from podwall.core.reachability import ALL, NA, NONE, SOME, Matrix, matrix
from podwall.report.render import SYMBOL, grid_markdown, matrix_csv, matrix_grid


def group_key(ep: Endpoint, by: str) -> str:
    """The row/column an endpoint belongs to when aggregating."""
    if by == "namespace":
        return ep.namespace
    if by == "workload":
        return ep.owner or ep.key
    return ep.key


def aggregate(m: Matrix, by: str) -> tuple[list[str], Callable[[int, int], str]]:
    """Group endpoints and combine cells: all / none / some over every pair of the groups."""
    labels: list[str] = []
    members: dict[str, list[int]] = {}
    for i, ep in enumerate(m.endpoints):
        k = group_key(ep, by)
        if k not in members:
            members[k] = []
            labels.append(k)
        members[k].append(i)

    def cell(a: int, b: int) -> str:
        states = set()
        for i in members[labels[a]]:
            for j in members[labels[b]]:
                if i == j and by != "pod" and m.endpoints[i].is_pod:
                    continue
                states.add(m.state(i, j))
        states.discard(NA)
        if not states:
            return NA
        if states == {ALL}:
            return ALL
        if states == {NONE}:
            return NONE
        return SOME

    return labels, cell


def _fits(n: int, width: int) -> bool:
    return n * 4 + 40 <= width


@click.command("matrix")
@input_options
@click.option("--port", "-p", type=click.IntRange(1, 65535), help="Check this port on every destination (default: each destination's declared container ports).")
@click.option("--protocol", type=click.Choice(["TCP", "UDP", "SCTP"], case_sensitive=False), default="TCP", show_default=True)
@click.option(
    "--by",
    type=click.Choice(["auto", "pod", "workload", "namespace"]),
    default="auto",
    show_default=True,
    help="Rows and columns: each endpoint (pod), workload, or namespace. 'auto' aggregates when the table would not fit the terminal.",
)
@click.option("-o", "--output", type=click.Choice(["text", "json", "csv", "md"]), default="text", show_default=True)
def matrix_command(
    paths: tuple[str, ...],
    namespace: str,
    ipblock_matches_pods: bool,
    host_network: str,
    port: int | None,
    protocol: str,
    by: str,
    output: str,
) -> None:
    """Who can reach whom: a source x destination table.

    Without --port each destination is checked on its own declared container ports, and a
    cell tells whether all, none or some of them are reachable. With --port, every destination
    is checked on that port.

    \b
    Text cells: '.' reachable, 'X' blocked, '~' some ports, '-' nothing to check.
    JSON and CSV list, per pair, the reachable ports and the checked ports.
    """
    loaded = load_cluster(paths, namespace, ipblock_matches_pods, host_network)
    proto = Protocol(protocol.upper())
    m = matrix(loaded.engine, port=port, protocol=proto)
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
        _json(m, port, proto, by)
        return
    if output == "csv":
        click.echo(matrix_csv(m), nl=False)
        return
    labels, cell = aggregate(m, by)
    sym: Callable[[int, int], str] = lambda i, j: SYMBOL[cell(i, j)]  # noqa: E731
    if output == "md":
        click.echo(grid_markdown(labels, sym))
    else:
        click.echo(matrix_grid(labels, sym, title=f"reachability on {what} (by {by}; rows: from, columns: to)", width=max(width, 80)))


def _json(m: Matrix, port: int | None, proto: Protocol, by: str) -> None:
    if by in ("pod", "auto"):
        cells = [
            {
                "from": src.key,
                "to": dst.key,
                "state": m.state(i, j),
                "allowed": [f"{p}/{n}" for p, n in m.allowed(i, j)],
                "checked": [f"{p}/{n}" for p, n in m.checked(j)],
            }
            for i, src in enumerate(m.endpoints)
            for j, dst in enumerate(m.endpoints)
        ]
        echo_json({"port": port, "protocol": proto.value, "by": "pod", "endpoints": [e.key for e in m.endpoints], "cells": cells})
        return
    labels, cell = aggregate(m, by)
    echo_json(
        {
            "port": port,
            "protocol": proto.value,
            "by": by,
            "groups": labels,
            "cells": [{"from": a, "to": b, "state": cell(i, j)} for i, a in enumerate(labels) for j, b in enumerate(labels)],
        }
    )


def register(cli: click.Group) -> None:
    cli.add_command(matrix_command)


__all__ = ["register", "aggregate", "group_key"]
