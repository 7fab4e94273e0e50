"""``podwall matrix --ports all``: every pair's allowed connections over the whole port space.

One line per (source, destination) with something allowed, ``src => dst : conns``; pairs with
nothing are left out. Endpoints are named as everywhere (``ns/pod``, ``ns/kind/name``), and
addresses outside the cluster as the ranges the policies' ipBlocks distinguish
(``0.0.0.0-9.255.255.255``). Output is streamed (text, csv, md and JSON alike).
"""

from __future__ import annotations

import json
from typing import IO

from podwall.core.evaluate import Engine
from podwall.core.matrix_ports import Progress, connection_list
from podwall.report import serialize
from podwall.report.connections import CSV_HEAD, MD_HEAD, connection_line, connection_md_row, csv_row


def write(out: IO[str], engine: Engine, by: str, output: str, progress: Progress | None = None) -> None:
    """Write the connectivity list in ``output`` format (text, json, csv, md)."""
    rows = connection_list(engine.cluster, engine.options, by="pod" if by == "auto" else by, progress=progress)
    if output == "json":
        head = json.dumps(serialize.document("ConnectivityList", {}))[:-1]
        out.write(head + ', "connections": [')
        sep = "\n"
        for src, dst, ps in rows:
            out.write(sep + "  " + json.dumps(serialize.connection(src, dst, ps)))
            sep = ",\n"
        out.write("\n]}\n" if sep != "\n" else "]}\n")
        return
    if output == "csv":
        out.write(CSV_HEAD + "\n")
        for src, dst, ps in rows:
            out.write(csv_row(src, dst, str(ps)) + "\n")
        return
    if output == "md":
        out.write(MD_HEAD + "\n")
        for src, dst, ps in rows:
            out.write(connection_md_row(src, dst, ps) + "\n")
        return
    for src, dst, ps in rows:
        out.write(connection_line(src, dst, ps) + "\n")


__all__ = ["write"]
