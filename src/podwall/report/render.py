"""Human-readable text for verdicts and matrices. Results in, text out: no decisions here."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

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
    noun = "policy" if len(d.policies) == 1 else "policies"
    lines.append(f"  isolated by {len(d.policies)} {noun}: {', '.join(d.policies)}")
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
    *,
    row_cells: Callable[[int], Sequence[str]] | None = None,
) -> str:
    """A source x destination grid (rows from, columns to), formatted with plain strings.

    Rows are ``N label``; columns are numbered with the same N. The layout is rich's ``SIMPLE``
    box (no vertical lines, one rule under the header), written directly: formatting costs one
    string per row, so the grid of a 10,000-pod matrix aggregated by namespace takes
    milliseconds. ``width`` is accepted for compatibility; a plain grid never wraps or squeezes.
    ``row_cells(i)``, when given, returns row ``i``'s cells at once (instead of one ``cell`` call
    per cell).
    """
    del width
    n = len(labels)
    heads = [str(j + 1) for j in range(n)]
    rows = [f"{i + 1} {lab}" for i, lab in enumerate(labels)]
    w0 = max([len("from \\ to"), *(len(r) for r in rows)])
    widths = [len(h) for h in heads]
    # every cell is one character; centred in its column as rich centres (extra space right)
    pads = [(w - 1) // 2 for w in widths]
    seps = ["   " + " " * p for p in pads]
    tails = [" " * (w - 1 - p) for w, p in zip(widths, pads, strict=True)]
    lines = ["", " " + ("from \\ to").ljust(w0) + "".join("   " + h for h in heads)]
    lines.append(" " + "\u2500" * (len(lines[1]) - 1))
    for i, label in enumerate(rows):
        cells = row_cells(i) if row_cells is not None else [cell(i, j) for j in range(n)]
        parts = [" ", label.ljust(w0)]
        for sep, c, tail in zip(seps, cells, tails, strict=True):
            parts.append(sep)
            parts.append(c)
            parts.append(tail)
        lines.append("".join(parts).rstrip())
    lines.append("")
    return f"{title}\n" + "\n".join(line.rstrip() for line in lines) + f"\n{LEGEND}"


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
