"""Errors and diagnostics shared by every layer of podwall.

This module imports nothing from podwall, so every other module may use it.

Exception tree::

    PodwallError                  base of everything podwall raises on purpose
    ├── InputError                unreadable or malformed input (exit code 2)
    │   └── ManifestError         one or more Diagnostics of severity "error" in manifests
    ├── QueryError                a question that cannot be answered (unknown endpoint, bad port)
    ├── ClusterError              a live cluster cannot be read (unreachable, TLS, 401/403, bad kubeconfig)
    ├── NftError                  nftables refused a ruleset or is missing
    └── LabError                  the network-namespace lab failed
    PodwallBug                    "should not be reached": a bug in podwall, never caught quietly

Dependencies' exceptions never leak: they are chained with ``raise ... from``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    """How bad a diagnostic is; ordered error > warning > info."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


FieldPath = tuple[str | int, ...]
"""A path to a field inside an object: ``("spec", "ingress", 0, "ports")``."""


def render_path(path: FieldPath) -> str:
    """``("spec", "ingress", 0, "ports")`` → ``spec.ingress[0].ports``, as the API server writes it."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + step
    return out


@dataclass(frozen=True, kw_only=True)
class SourceSpan:
    """Where something came from: file, 1-based line (0 = unknown) and YAML document index."""

    file: str
    """Path as the user gave it, or ``<stdin>``."""
    line: int = 0
    """1-based line of the object or field; 0 when unknown."""
    doc: int = 0
    """0-based index of the YAML document in the file."""
    path: tuple[str | int, ...] = ()
    """Path of the object inside the document (for items of a ``kind: List``)."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, kw_only=True)
class Diagnostic:
    """One finding about the input: a validation error, a warning, a lint finding."""

    severity: Severity
    code: str
    """Stable identifier, e.g. ``invalid``, ``type``, ``yaml``, or a lint rule id."""
    message: str
    """The message, for validation errors exactly as the API server words it."""
    file: str = ""
    line: int = 0
    field: str = ""
    """Field path, e.g. ``spec.ingress[0].ports[1].port``."""
    hint: str = ""

    def render(self) -> str:
        """One line: ``file:line: field: message`` (pieces that are unknown are left out)."""
        where = self.file
        if where and self.line:
            where = f"{where}:{self.line}"
        parts = [p for p in (where, self.field) if p]
        head = ": ".join(parts)
        return f"{head}: {self.message}" if head else self.message


class PodwallError(Exception):
    """Base of every error podwall raises on purpose."""

    exit_code = 1


class InputError(PodwallError):
    """The input cannot be read or decoded; exit code 2."""

    exit_code = 2


class ManifestError(InputError):
    """Manifests contain errors; carries every diagnostic, not just the first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity is Severity.ERROR]
        first = errors[0].render() if errors else "invalid input"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)


class QueryError(PodwallError):
    """A question podwall cannot answer as asked: unknown endpoint, bad port; exit code 2."""

    exit_code = 2


class ClusterError(PodwallError):
    """A live cluster cannot be read or acted on: unreachable, TLS, refused credentials, a 403; exit code 2."""

    exit_code = 2


class NftError(PodwallError):
    """nftables refused a ruleset, or the nft tool is missing; exit code 3."""

    exit_code = 3


class LabError(PodwallError):
    """The network-namespace lab failed (not root, no nft, a kernel refusal); exit code 3."""

    exit_code = 3


@dataclass
class PodwallBug(Exception):
    """Should not be reached: an internal inconsistency."""

    detail: str = field(default="")

    def __str__(self) -> str:
        return self.detail
