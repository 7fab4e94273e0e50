"""Human-readable text for verdicts and matrices. Results in, text out: no decisions here."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

from rich.box import SIMPLE
from rich.console import Console
from rich.table import Table

from podwall.core.evaluate import DirectionVerdict, Verdict
from podwall.core.reachability import ALL, NA, NONE, SOME, Matrix, PortKey
from podwall.core.services import ServiceVerdict

SYMBOL = {ALL: ".", NONE: "X", SOME: "~", NA: "-"}
LEGEND = "'.' all checked ports reachable, 'X' none, '~' some, '-' nothing to check (no declared ports)"


def _direction_lines(d: DirectionVerdict) -> list[str]:
    if d.decided_by:
        return _tier_lines(d)
    return _np_lines(d)


def _tier_lines(d: DirectionVerdict) -> list[str]:
    """A direction decided through the cluster-wide tiers: Admin, NetworkPolicy, Baseline in order."""
    word = d.direction.value
    side = "from" if word == "Egress" else "to"
    lines = [f"{word} {side} {d.endpoint}: {'allowed' if d.allowed else 'DENIED'} (decided by {d.decided_by})"]
    admin_pass = [p for p in d.passed if p.tier.value == "Admin"]
    base_pass = [p for p in d.passed if p.tier.value == "Baseline"]
    for p in admin_pass:
        lines.append(f"  {p}: skips the rest of the Admin tier")
    if d.decided_by == "Admin":
        assert d.tier_rule is not None
        lines.append(f"  {d.tier_rule}: {'allows' if d.allowed else 'denies'} it (final)")
    else:
        if not admin_pass:
            lines.append("  [Admin] no rule matches")
        np_lines = _np_lines(d)[1:]
        if np_lines:
            np_lines[0] = "  [NetworkPolicy] " + np_lines[0].strip()
        lines.extend(np_lines)
        if d.decided_by == "Baseline":
            assert d.tier_rule is not None
            lines.append(f"  {d.tier_rule}: {'allows' if d.allowed else 'denies'} it")
        elif d.decided_by == "default":
            for p in base_pass:
                lines.append(f"  {p}: skips the rest of the Baseline tier")
            if not base_pass:
                lines.append("  [Baseline] no rule matches")
            lines.append("  nothing decides: allowed")
    for n in d.tier_notes:
        lines.append(f"  ! {n}")
    return lines


def _np_lines(d: DirectionVerdict) -> list[str]:
    word = d.direction.value
    side = "from" if word == "Egress" else "to"
    head = f"{word} {side} {d.endpoint}: {'allowed' if d.allowed else 'DENIED'}"
    lines = [head]
    if not d.governed:
        lines.append("  not governed by NetworkPolicy (outside the cluster, or node traffic)")
        return lines
    if not d.isolated:
        lines.append(f"  not isolated: no NetworkPolicy selects it with policyType {word}")
        return lines
    lines.append(
        f"  isolated by {len(d.policies)} {'policy' if len(d.policies) == 1 else 'policies'}: {', '.join(d.policies)}"
    )
    for r in d.allowed_by:
        lines.append(f"  + allowed by {r}")
    for m in d.misses:
        lines.append(f"  - {m}")
    return lines


def explain_text(v: Verdict | ServiceVerdict) -> str:
    """The reasoning behind a verdict, for ``podwall explain``."""
    if isinstance(v, ServiceVerdict):
        head = f"{v.src} -> {v.dst} on {v.protocol}/{v.service_port}: {'ALLOWED' if v.allowed else 'DENIED'}"
        lines = [head, f"  {v.reason()}"]
        for b in v.backends:
            lines.append("")
            if b.verdict is None:
                lines.append(f"backend {b.endpoint}: no container port matches the Service's targetPort")
                continue
            lines.append(f"backend {b.endpoint} (target port {b.port}):")
            lines.extend("  " + line for line in explain_text(b.verdict).splitlines())
        return "\n".join(lines)
    verdict = "ALLOWED" if v.allowed else "DENIED"
    lines = [f"{v.src} -> {v.dst} on {v.protocol}/{v.port}: {verdict}"]
    if v.self_traffic:
        lines.append("  a pod can always reach itself; policies are not consulted")
        return "\n".join(lines)
    lines.append("")
    lines.extend(_direction_lines(v.egress))
    lines.extend(_direction_lines(v.ingress))
    if not v.allowed:
        lines.append("")
        lines.append("A connection needs both: egress allowed at the source and ingress allowed at the destination.")
    return "\n".join(lines)


def _ports_text(ports: Sequence[PortKey]) -> str:
    return ",".join(f"{p}/{n}" for p, n in ports)


def matrix_grid(
    labels: Sequence[str],
    cell: Callable[[int, int], str],
    title: str,
    width: int = 200,
) -> str:
    """A source × destination grid (rows from, columns to), as rich renders it."""
    table = Table(box=SIMPLE, show_lines=False, pad_edge=False)
    table.add_column("from \\ to", no_wrap=True)
    for j in range(len(labels)):
        table.add_column(str(j + 1), justify="center", no_wrap=True)
    for i, lab in enumerate(labels):
        table.add_row(f"{i + 1} {lab}", *(cell(i, j) for j in range(len(labels))))
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False, legacy_windows=False)
    console.print(table)
    body = "\n".join(line.rstrip() for line in buf.getvalue().strip("\n").splitlines())
    return f"{title}\n{body}\n{LEGEND}"


def matrix_csv(m: Matrix) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["from", "to", "state", "allowed", "checked"])
    for i, src in enumerate(m.endpoints):
        for j, dst in enumerate(m.endpoints):
            w.writerow([src.key, dst.key, m.state(i, j), _ports_text(m.allowed(i, j)), _ports_text(m.checked(j))])
    return buf.getvalue()


def grid_markdown(labels: Sequence[str], cell: Callable[[int, int], str]) -> str:
    head = "| from \\ to | " + " | ".join(labels) + " |"
    sep = "|---|" + "|".join(":-:" for _ in labels) + "|"
    rows = [f"| {lab} | " + " | ".join(cell(i, j) for j in range(len(labels))) + " |" for i, lab in enumerate(labels)]
    return "\n".join([head, sep, *rows]) + "\n\n" + LEGEND.replace("'", "`")
