"""Text, Markdown and CSV for allowed-connection lists (``podwall matrix --ports all``).

Results in, text out: one line per pair that has connections, ``src => dst : conns``.
"""

from __future__ import annotations

import csv
import io

from podwall.core.portsets import PortSet


def connection_line(src: str, dst: str, allowed: PortSet) -> str:
    return f"{src} => {dst} : {allowed}"


def md_escape(text: str) -> str:
    return text.replace("|", "\\|")


MD_HEAD = "| from | to | allowed |\n|---|---|---|"


def connection_md_row(src: str, dst: str, allowed: PortSet) -> str:
    return f"| {md_escape(src)} | {md_escape(dst)} | {md_escape(str(allowed))} |"


CSV_HEAD = "from,to,allowed"


def csv_row(*fields: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()
