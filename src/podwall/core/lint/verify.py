"""The fix checker: a fix is offered only when the engine shows it does what it says.

For every finding with a fix, the fix's :class:`~podwall.core.lint.findings.Change` is applied
to the model and the matrix is recomputed where it can change
(:class:`podwall.core.matrix_delta.DeltaChecker`, built once for all the fixes of a run). The
fix is kept when every flipped verdict is one its finding is about and, where the finding states
a goal (DNS resolves), the goal holds on the changed cluster. Otherwise the finding keeps its
hint, which then says why no fix is offered.

The verdicts compared are the matrix's: every pair of endpoints of the input, on the
destination's declared container ports. Fixes are checked one at a time against the input;
``--fix-dir`` writes many at once, and :mod:`podwall.core.lint.compose` checks them together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from podwall.core.classes import Classes
from podwall.core.evaluate import Engine
from podwall.core.lint.context import describe
from podwall.core.lint.findings import Change, Effect, Finding, Fix
from podwall.core.matrix_delta import DeltaChecker, FlippedCell
from podwall.core.model import Cluster, Options, Policy


def accepted(cell: FlippedCell, change: Change) -> bool:
    if change.effect is Effect.NONE or (change.effect is Effect.OPEN) != cell.allowed:
        return False
    if change.src is not None and not change.src(cell.src):
        return False
    if change.dst is not None and not change.dst(cell.dst):
        return False
    return change.ports is None or cell.port in change.ports


def why_not(cell: FlippedCell, change: Change) -> str | None:
    if accepted(cell, change):
        return None
    proto, num = cell.port
    verb = "allow" if cell.allowed else "deny"
    return f"applying it would {verb} {describe(cell.src)} -> {describe(cell.dst)} on {proto}/{num}"


class FixChecker:
    """Checks the fixes of one lint run against one cluster (built on first use)."""

    def __init__(
        self, cluster: Cluster, options: Options, fixes: Iterable[Fix], classes: Classes | None = None
    ) -> None:
        self.cluster = cluster
        self._classes = classes
        self.options = options
        added: dict[int, Policy] = {}
        for fix in fixes:
            if fix.change is not None:
                for pol in fix.change.added:
                    added.setdefault(id(pol), pol)
        self._candidates = list(added.values())
        self._delta: DeltaChecker | None = None
        self._memo: dict[int, str | None] = {}

    def _checker(self) -> DeltaChecker:
        if self._delta is None:
            self._delta = DeltaChecker(self.cluster, self.options, self._candidates, classes=self._classes)
        return self._delta

    def reason(self, fix: Fix) -> str | None:
        """``None`` when the fix may be offered, else why not (one line)."""
        hit = self._memo.get(id(fix.change))
        if hit is not None or id(fix.change) in self._memo:
            return hit
        why = self._check(fix)
        self._memo[id(fix.change)] = why
        return why

    def _check(self, fix: Fix) -> str | None:
        change = fix.change
        if change is None:
            return "it was not checked"
        for cell in self._checker().flipped(change.removed, change.added):
            why = why_not(cell, change)
            if why is not None:
                return why
        if change.goal is not None:
            gone = {id(p) for p in change.removed}
            policies = (*(p for p in self.cluster.policies if id(p) not in gone), *change.added)
            engine = Engine(dataclasses.replace(self.cluster, policies=policies), self.options)
            if not change.goal(engine):
                return "applying it would not remove the finding"
        return None


def checked(
    findings: list[Finding], cluster: Cluster, options: Options, classes: Classes | None = None
) -> list[Finding]:
    """The findings, each fix kept only when the checker accepts it (else a hint says why).

    ``classes``: the endpoint classes lint built already, reused when they suffice."""
    checker = FixChecker(cluster, options, (f.fix for f in findings if f.fix is not None), classes)
    out = []
    for f in findings:
        if f.fix is not None:
            why = checker.reason(f.fix)
            if why is not None:
                f = dataclasses.replace(f, fix=None, hint=f"{f.hint} (no fix offered: {why})")
        out.append(f)
    return out


__all__ = ["FixChecker", "accepted", "checked", "why_not"]
