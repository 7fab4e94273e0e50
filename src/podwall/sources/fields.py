"""Typed access to decoded YAML, with diagnostics that remember where they point.

The readers of ``decode`` and ``netpol`` share this base: every accessor checks a value's type
and records a ``type`` diagnostic (the input is then unreadable, exit code 2) instead of raising,
so that every problem in every file is reported, not just the first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from podwall.errors import FieldPath, Severity, SourceSpan, render_path
from podwall.sources import validation as v
from podwall.sources.manifests import Document, type_name

NS_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass
class Issue:
    severity: Severity
    code: str
    message: str
    doc: Document
    path: FieldPath
    at: FieldPath | None = None
    """Where to look for the line when it is more precise than ``path`` (a label's own key)."""
    quote: str | None = None
    """A value to suggest quoting: the loader appends ``(quote it: "<text>")`` with the text as
    written in the source (``0123``, not the 83 go-yaml reads), or this rendering if unknown."""
    written: str | None = None
    """A value to show as written: the loader replaces :data:`WRITTEN` in the message with the
    text of the source (``5e10``), or with this rendering if unknown."""


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
WRITTEN = "\x00written\x00"
"""Where a message shows a value as the source wrote it (see :attr:`Issue.written`)."""


def as_int32(value: object) -> int | None:
    """The int32 that Go's JSON decoder makes of ``value``, or None if it refuses it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    else:
        return None
    return n if INT32_MIN <= n <= INT32_MAX else None


class FieldReader:
    """Per-object typed access and diagnostics; ``doc`` is the object being read."""

    def __init__(self, default_namespace: str) -> None:
        self.default_namespace = default_namespace
        self.issues: list[Issue] = []
        self.seen: dict[tuple[str, str, str], Document] = {}
        self.doc: Document | None = None

    # -- diagnostics ---------------------------------------------------------------------
    def issue(
        self,
        path: FieldPath,
        message: str,
        code: str = "invalid",
        severity: Severity = Severity.ERROR,
        at: FieldPath | None = None,
        quote: str | None = None,
        written: str | None = None,
    ) -> None:
        assert self.doc is not None
        self.issues.append(Issue(severity, code, message, self.doc, path, at, quote, written))

    def type_error(self, path: FieldPath, expected: str, value: object, hint: str = "") -> None:
        msg = f"Invalid type: expected {expected}, got {type_name(value)}"
        self.issue(path, msg + (f" ({hint})" if hint else ""), code="type")

    # -- typed access --------------------------------------------------------------------
    def mapping(self, value: Any, path: FieldPath) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.type_error(path, "a mapping", value)
            return None
        # (keys are strings: JSON's are, and the YAML reader turns keys into JSON's, as kubectl does)
        return value

    def seq(self, value: Any, path: FieldPath) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.type_error(path, "a list", value)
            return []
        return value

    def string(self, value: Any, path: FieldPath) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            if isinstance(value, (int, float, bool)):
                shown = v.render_value(value)
                self.issue(path, f"Invalid type: expected a string, got {type_name(value)}", code="type", quote=shown)
            else:
                self.type_error(path, "a string", value)
            return None
        return value

    def list_string(self, value: Any, path: FieldPath) -> str | None:
        """An item of a list of strings: JSON ``null`` there decodes to ``""`` in Go."""
        return "" if value is None else self.string(value, path)

    def integer(self, value: Any, path: FieldPath) -> int | None:
        """An ``int32`` field, decoded as the API server's JSON decoder does: any JSON number
        with an integral value in range (``80``, and ``80.0`` or ``1e3``, which kubectl sends
        re-encoded as ``80`` and ``1000``); not a fraction, a string or a boolean."""
        if value is None:
            return None
        n = as_int32(value)
        if n is None:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.issue(path, f"Invalid type: expected an integer (int32), got {WRITTEN}", code="type",
                           written=v.render_value(value))
            else:
                self.type_error(path, "an integer", value)
            return None
        return n

    def int_or_string(self, value: Any, path: FieldPath) -> int | str | None:
        """An ``IntOrString`` field: a JSON string, or a number read as :meth:`integer` does."""
        if value is None:
            return None
        if isinstance(value, str):
            return value
        n = as_int32(value)
        if n is None:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.issue(
                    path, f"Invalid type: expected an integer (int32) or a string, got {WRITTEN}",
                    code="type", written=v.render_value(value),
                )
            else:
                self.type_error(path, "an integer or a string", value)
            return None
        return n

    def boolean(self, value: Any, path: FieldPath) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.type_error(path, "a boolean", value)
            return False
        return value

    def string_map(self, value: Any, path: FieldPath) -> dict[str, str]:
        m = self.mapping(value, path)
        if m is None:
            return {}
        if all(val.__class__ is str for val in m.values()):  # the common case
            return dict(m)
        out: dict[str, str] = {}
        for k, val in m.items():
            if val is None:
                val = ""
            s = self.string(val, (*path, k))
            if s is not None:
                out[k] = s
        return out

    def unknown_fields(self, m: Mapping[str, Any], allowed: set[str], path: FieldPath) -> None:
        for k in m:
            if k not in allowed:
                full = render_path((*path, k))
                self.issue((*path, k), f'unknown field "{full}" (the API server rejects it)', code="unknown-field")

    # -- metadata ------------------------------------------------------------------------
    def metadata(
        self,
        data: Mapping[str, Any],
        namespaced: bool,
        name_check: Callable[[str], list[str]] = v.is_dns1123_subdomain,
    ) -> tuple[str, str, dict[str, str], dict[str, str], bool]:
        meta = self.mapping(data.get("metadata"), ("metadata",)) or {}
        raw_name = meta.get("name")
        name = self.string(raw_name, ("metadata", "name")) or ""
        if name:
            if not (name_check is v.is_dns1123_subdomain and v.dns1123_subdomain_ok(name)):
                for msg in name_check(name):
                    self.issue(("metadata", "name"), v.invalid(name, msg))
        elif raw_name is None or raw_name == "":  # (a name of the wrong type is reported already)
            if meta.get("generateName"):
                name = str(meta.get("generateName"))
            else:
                self.issue(("metadata", "name"), v.required("name or generateName is required"))
        ns = ""
        explicit = False
        if namespaced:
            ns_val = self.string(meta.get("namespace"), ("metadata", "namespace"))
            if ns_val:
                explicit = True
                ns = ns_val
                for msg in v.is_dns1123_label(ns):
                    self.issue(("metadata", "namespace"), v.invalid(ns, msg))
            else:
                ns = self.default_namespace
        labels = self.string_map(meta.get("labels"), ("metadata", "labels"))
        self.validate_labels(labels, ("metadata", "labels"))
        annotations = self.string_map(meta.get("annotations"), ("metadata", "annotations"))
        return name, ns, labels, annotations, explicit

    def validate_labels(self, labels: Mapping[str, str], path: FieldPath) -> None:
        qualified, value = v.qualified_name_errors, v.label_value_errors
        if not any(qualified(k) or value(val) for k, val in labels.items()):
            return
        for k in sorted(labels):
            for msg in v.is_qualified_name(k):
                self.issue(path, v.invalid(k, msg), at=(*path, k))
            for msg in v.is_valid_label_value(labels[k]):
                self.issue(path, v.invalid(labels[k], msg), at=(*path, k))

    def span(self) -> SourceSpan:
        assert self.doc is not None
        return SourceSpan(file=self.doc.source, doc=self.doc.doc, path=self.doc.path)

    def sub_span(self, path: FieldPath) -> SourceSpan:
        assert self.doc is not None
        return SourceSpan(file=self.doc.source, doc=self.doc.doc, path=self.doc.path + path)

    def remember(self, kind: str, ns: str, name: str) -> None:
        key = (kind, ns, name)
        prev = self.seen.get(key)
        if prev is not None:
            where = f"{prev.source}"
            self.issue(
                ("metadata", "name"),
                f"{kind} {ns + '/' if ns else ''}{name} is defined again (first in {where}); the later one wins",
                code="duplicate",
                severity=Severity.WARNING,
            )
        assert self.doc is not None
        self.seen[key] = self.doc
