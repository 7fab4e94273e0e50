"""Text, Markdown (a pull-request comment) and CSV for ``podwall diff``. Results in, text out."""

from __future__ import annotations

import csv
import io

from podwall.core.diff import Diff, PairChange

WIDTH = 16


def summary_line(d: Diff) -> str:
    """``4 added, 0 removed, 0 changed, 116 unchanged pairs (by workload)``, plus one-sided pairs."""
    s = d.summary
    head = (
        f"{s.get('added', 0)} added, {s.get('removed', 0)} removed, {s.get('changed', 0)} changed, "
        f"{s.get('unchanged', 0)} unchanged pairs (by {d.by})"
    )
    extra = [f"{s[k]} with a {k}" for k in ("new endpoint", "removed endpoint") if s.get(k)]
    return head + ("; " + ", ".join(extra) if extra else "")


def _ports_line(c: PairChange) -> str:
    return f"{c.before} -> {c.after}"


def diff_text(d: Diff) -> str:
    """One line per changed pair (``change  src => dst : before -> after``), its causes below."""
    if not d.changes:
        return f"no difference in allowed connections: {d.summary.get('unchanged', 0)} pairs compared (by {d.by})\n"
    lines = []
    for c in d.changes:
        lines.append(f"{c.change:<{WIDTH}} {c.src} => {c.dst} : {_ports_line(c)}")
        if c.change == "changed":
            if not c.opened.is_empty:
                lines.append(f"{'':<{WIDTH}}   opened: {c.opened}")
            if not c.closed.is_empty:
                lines.append(f"{'':<{WIDTH}}   closed: {c.closed}")
        for cause in c.causes:
            lines.append(f"{'':<{WIDTH}}   because {cause}")
    lines.append("")
    lines.append(summary_line(d))
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def diff_markdown(d: Diff) -> str:
    """A pull-request comment: a summary line, then a table (or a line saying nothing changed)."""
    s = d.summary
    opened = sum(1 for c in d.changes if c.change in ("added", "changed") and not c.opened.is_empty)
    closed = sum(1 for c in d.changes if c.change in ("removed", "changed") and not c.closed.is_empty)
    if not d.changes:
        n = s.get("unchanged", 0)
        return f"**podwall diff**: no difference in allowed connections ({n} pairs by {d.by} compared).\n"
    head = f"**podwall diff**: {opened} pair(s) gain connections, {closed} lose some. {summary_line(d)}."
    rows = ["| change | from | to | before | after | cause |", "|---|---|---|---|---|---|"]
    for c in d.changes:
        causes = "<br>".join(_md(str(x)) for x in c.causes) or "-"
        rows.append(
            f"| {c.change} | `{_md(c.src)}` | `{_md(c.dst)}` | {_md(str(c.before))} | {_md(str(c.after))} | {causes} |"
        )
    return head + "\n\n" + "\n".join(rows) + "\n"


def diff_csv(d: Diff) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["change", "from", "to", "before", "after", "causes"])
    for c in d.changes:
        w.writerow([c.change, c.src, c.dst, str(c.before), str(c.after), "; ".join(str(x) for x in c.causes)])
    return buf.getvalue()
