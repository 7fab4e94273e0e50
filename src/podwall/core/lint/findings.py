"""What a lint check produces: findings, where they point, and the fixes they offer.

A :class:`Finding` is pure data. It points at objects through their :class:`SourceSpan` plus a
field path below it, so the caller (who owns the YAML locator) can turn it into a line number;
``core`` never reads files. :meth:`Finding.to_diagnostic` does that conversion given a
``line_of(span, *path)`` function such as ``LoadResult.line_of``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from podwall.core.columns import PortKey
from podwall.core.evaluate import Engine
from podwall.core.lint.documents import identity_doc, policy_doc
from podwall.core.lint.rules import RULES, RuleId
from podwall.core.model import Endpoint, Policy
from podwall.errors import Diagnostic, FieldPath, Severity, SourceSpan, render_path

LineOf = Callable[..., int]


@dataclass(frozen=True, kw_only=True)
class Location:
    """An object (by its span) and optionally a field below it."""

    span: SourceSpan | None
    path: FieldPath = ()
    what: str = ""
    """The object, in words: ``NetworkPolicy production/db``, ``Namespace ci``, ``Pod ci/runner``."""


@dataclass(frozen=True, kw_only=True)
class PolicyEdit:
    """A change to one existing policy, applied by ``--fix-dir`` together with its siblings.

    ``order`` sequences edits of the same policy so that index-based edits stay valid: edits that
    keep the shape (namespace, policyTypes, CIDRs, ports) come first, peer merges next, rule
    removals last (highest rule index first).
    """

    policy: Policy
    order: tuple[int, ...]
    apply: Callable[[Policy], Policy] = field(compare=False)


class Effect(StrEnum):
    """Which verdict changes a fix is allowed to make (every other change rejects it)."""

    NONE = "none"
    """No verdict changes: the fix only makes the manifests say what they already do."""
    OPEN = "open"
    """Only denied connections become allowed (a rule starts doing what it was written for)."""
    CLOSE = "close"
    """Only allowed connections become denied (isolation the finding asks for)."""


@dataclass(frozen=True, kw_only=True)
class Change:
    """What a fix does to the cluster, and which verdict changes its finding is about.

    The fix checker (:mod:`podwall.core.lint.verify`) applies ``removed``/``added`` to the
    model, recomputes the matrix where it can change and accepts the fix only when every
    flipped cell is of ``effect``, from a source ``src`` accepts, to a destination ``dst``
    accepts, on one of ``ports`` (``None``: any), and when ``goal`` holds on the changed cluster
    (the finding is gone). The predicates see class representatives, so they must depend only
    on what the policies' selectors can tell apart (namespace, selected-by).
    """

    removed: tuple[Policy, ...] = ()
    """Policies of the cluster that the fix replaces or deletes."""
    added: tuple[Policy, ...] = ()
    """Policies the fix applies (a replacement of a removed one, or a new object)."""
    effect: Effect = Effect.NONE
    src: Callable[[Endpoint], bool] | None = field(default=None, compare=False)
    dst: Callable[[Endpoint], bool] | None = field(default=None, compare=False)
    ports: frozenset[PortKey] | None = None
    goal: Callable[[Engine], bool] | None = field(default=None, compare=False)
    """Must hold with the engine of the changed cluster: the finding is gone."""


class FixAction(StrEnum):
    """What applying a fix does with its manifest."""

    APPLY = "apply"
    """Create the object, or replace the one of the same namespace and name (``kubectl apply``)."""
    DELETE = "delete"
    """Delete the object the manifest names (``kubectl delete``)."""


@dataclass(frozen=True, kw_only=True)
class Fix:
    """A change that fixes a finding, checked with the engine before it is offered.

    ``name`` is the file stem ``--fix-dir`` writes it under (``production.default-deny-ingress``);
    fixes with the same name are the same object, so they are written once. ``manifest`` is the
    plain mapping to apply (or, for :attr:`FixAction.DELETE`, the object to delete); it is
    serialised outside ``core`` (``report/fixes.py``). ``edit`` is set when the fix is a
    corrected copy of an existing policy, so several fixes to one policy compose.
    """

    name: str
    manifest: Mapping[str, Any] = field(compare=False)
    action: FixAction = FixAction.APPLY
    edit: PolicyEdit | None = None
    change: Change | None = field(default=None, compare=False)
    """What applying it changes; a fix without one is never offered."""


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One lint finding."""

    rule: RuleId
    """A rule id of :data:`~podwall.core.lint.rules.RULES`; it fixes the severity."""
    message: str
    hint: str = ""
    locations: tuple[Location, ...] = ()
    """The primary location first; may be empty (e.g. a CNI named on the command line)."""
    namespace: str | None = None
    """The namespace the finding is about (for ``podwall.io/lint-ignore`` on a Namespace)."""
    policy: str | None = None
    """``ns/name`` of the policy the finding is about, if any."""
    endpoint: str | None = None
    """The key of the pod or workload the finding is about, if any."""
    fix: Fix | None = None

    @property
    def severity(self) -> Severity:
        """The rule's severity, as the rule table states it."""
        return RULES[self.rule].severity

    def line(self, line_of: LineOf) -> tuple[str, int]:
        """File and line of the primary location (``("", 0)`` when unknown)."""
        for loc in self.locations:
            if loc.span is not None:
                return loc.span.file, line_of(loc.span, *loc.path)
        return "", 0

    def to_diagnostic(self, line_of: LineOf) -> Diagnostic:
        """This finding as a :class:`Diagnostic` (code = rule id), located by ``line_of``."""
        file, line = self.line(line_of)
        path = self.locations[0].path if self.locations else ()
        return Diagnostic(
            severity=self.severity,
            code=self.rule,
            message=self.message,
            file=file,
            line=line,
            field=render_path(path),
            hint=self.hint,
        )


def _file(pol: Policy) -> str:
    return f"{pol.namespace}.{pol.name}"


def replacement(
    old: Policy,
    new: Policy,
    *,
    order: tuple[int, ...],
    apply: Callable[[Policy], Policy],
    effect: Effect = Effect.NONE,
    ports: frozenset[PortKey] | None = None,
) -> Fix:
    """A corrected copy of ``old`` (composable with other edits of it through ``apply``)."""
    return Fix(
        name=_file(new),
        manifest=policy_doc(new),
        edit=PolicyEdit(policy=old, order=order, apply=apply),
        change=Change(removed=(old,), added=(new,), effect=effect, ports=ports),
    )


def deletion(old: Policy, *, order: tuple[int, ...], apply: Callable[[Policy], Policy]) -> Fix:
    """Delete ``old``, which does nothing (``apply`` is the edit that empties it, for composition)."""
    return Fix(
        name=_file(old),
        manifest=identity_doc(old),
        action=FixAction.DELETE,
        edit=PolicyEdit(policy=old, order=order, apply=apply),
        change=Change(removed=(old,)),
    )


def creation(new: Policy, change: Change) -> Fix:
    """A new policy; ``change`` says what it may change (its ``added`` is set here)."""
    return Fix(
        name=_file(new),
        manifest=policy_doc(new, annotations=False),
        change=dataclasses.replace(change, added=(new,)),
    )
