"""Many fixes at once (``lint --fix-dir``): composed per object, then checked together.

Every fix lint offers was checked alone (:mod:`podwall.core.lint.verify`). Written together,
fixes interact: two edits of one policy compose into one corrected policy, and fixes of
different objects can together flip a verdict that neither flips alone (two rules that both
allow a connection, each removed by its own fix). So the composition is checked like a single
fix: every verdict it flips must be one that some finding of the set is about, and every
finding's goal must hold on the cluster with all of it applied. When the whole set does not
pass, objects are taken in name order and each is kept only if the set kept so far still
passes with it; the others are left out, with the reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from podwall.core.evaluate import Engine
from podwall.core.lint.documents import identity_doc, policy_doc
from podwall.core.lint.findings import Change, Finding, Fix, FixAction, PolicyEdit
from podwall.core.lint.verify import accepted, why_not
from podwall.core.matrix_delta import DeltaChecker
from podwall.core.model import Cluster, Options, Policy


@dataclass(frozen=True, kw_only=True)
class ComposedFix:
    """The fix of one object (``name``), composed from the fixes of ``findings``."""

    name: str
    fix: Fix
    findings: tuple[Finding, ...]
    removed: tuple[Policy, ...]
    """Policies of the cluster it replaces or deletes."""
    added: tuple[Policy, ...]
    """Policies it applies."""

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(f.fix.change for f in self.findings if f.fix is not None and f.fix.change is not None)


def compose_fixes(findings: Iterable[Finding]) -> list[ComposedFix]:
    """The fixes of many findings, one per object, sorted by name.

    Fixes that create an object (a default deny, a DNS policy) are kept once. Fixes that
    correct an existing policy are composed: every edit of the same policy is applied, in the
    order that keeps rule and port indices valid, to produce one corrected policy; a policy left
    without any policyType (every rule removed) becomes a deletion.
    """
    plain: dict[str, tuple[Fix, list[Finding]]] = {}
    edits: dict[str, list[tuple[PolicyEdit, Finding]]] = {}
    for f in findings:
        if f.fix is None:
            continue
        if f.fix.edit is None:
            plain.setdefault(f.fix.name, (f.fix, []))[1].append(f)
        else:
            edits.setdefault(f.fix.edit.policy.key, []).append((f.fix.edit, f))
    out: list[ComposedFix] = []
    for name, (fix, plain_findings) in plain.items():
        change = fix.change or Change()
        out.append(
            ComposedFix(
                name=name, fix=fix, findings=tuple(plain_findings), removed=change.removed, added=change.added
            )
        )
    for group in edits.values():
        fs = tuple(f for _, f in group)
        first = fs[0].fix
        assert first is not None
        if len(group) == 1:
            change = first.change or Change()
            out.append(ComposedFix(name=first.name, fix=first, findings=fs, removed=change.removed, added=change.added))
            continue
        original = group[0][0].policy
        seen: set[tuple[int, ...]] = set()
        pol = original
        for edit, _ in sorted(group, key=lambda g: g[0].order):
            if edit.order in seen:
                continue
            seen.add(edit.order)
            pol = edit.apply(pol)
        name = f"{pol.namespace}.{pol.name}"
        if not pol.policy_types:
            fix = Fix(name=name, manifest=identity_doc(original), action=FixAction.DELETE)
            out.append(ComposedFix(name=name, fix=fix, findings=fs, removed=(original,), added=()))
        else:
            fix = Fix(name=name, manifest=policy_doc(pol))
            out.append(ComposedFix(name=name, fix=fix, findings=fs, removed=(original,), added=(pol,)))
    return sorted(out, key=lambda c: c.name)


def combined_fixes(findings: Iterable[Finding]) -> dict[str, Fix]:
    """``{name: fix}``: :func:`compose_fixes` without the bookkeeping (not checked together)."""
    return {c.name: c.fix for c in compose_fixes(findings)}


class _Combination:
    def __init__(self, cluster: Cluster, options: Options, composed: Sequence[ComposedFix]) -> None:
        self.cluster = cluster
        self.options = options
        candidates: dict[int, Policy] = {}
        for c in composed:
            for p in c.added:
                candidates.setdefault(id(p), p)
        self.delta = DeltaChecker(cluster, options, list(candidates.values()))

    def why_not(self, chosen: Sequence[ComposedFix]) -> str | None:
        """``None`` when ``chosen`` may be applied together, else why not (one line)."""
        removed: dict[int, Policy] = {}
        added: dict[int, Policy] = {}
        for c in chosen:
            removed.update((id(p), p) for p in c.removed)
            added.update((id(p), p) for p in c.added)
        changes = [ch for c in chosen for ch in c.changes]
        for cell in self.delta.flipped(list(removed.values()), list(added.values())):
            if not any(accepted(cell, ch) for ch in changes):
                return why_not(cell, changes[0]) if changes else "it was not checked"
        goals = [ch.goal for ch in changes if ch.goal is not None]
        if goals:
            policies = (*(p for p in self.cluster.policies if id(p) not in removed), *added.values())
            engine = Engine(dataclasses.replace(self.cluster, policies=policies), self.options)
            if not all(goal(engine) for goal in goals):
                return "with the other fixes applied, its finding would remain"
        return None


def checked_together(
    findings: Iterable[Finding], cluster: Cluster, options: Options
) -> tuple[list[ComposedFix], list[tuple[ComposedFix, str]]]:
    """The composed fixes that may be applied together, and those left out with the reason."""
    composed = compose_fixes(findings)
    if not composed or (len(composed) == 1 and len(composed[0].findings) == 1):
        return composed, []  # one fix of one finding: checked alone already
    combo = _Combination(cluster, options, composed)
    if combo.why_not(composed) is None:
        return composed, []
    kept: list[ComposedFix] = []
    dropped: list[tuple[ComposedFix, str]] = []
    for c in composed:
        why = combo.why_not([*kept, c])
        if why is None:
            kept.append(c)
        else:
            dropped.append((c, f"together with the fixes written, {why}"))
    return kept, dropped


__all__ = ["ComposedFix", "checked_together", "combined_fixes", "compose_fixes"]
