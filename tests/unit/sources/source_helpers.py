"""Helpers for the loader tests: decode YAML text held in memory."""

from __future__ import annotations

import textwrap

from podwall.errors import Diagnostic, Severity
from podwall.sources.decode import LoadResult, load_texts
from podwall.sources.manifests import SourceText


def decode(text: str, name: str = "p.yaml", *, namespace: str = "default") -> LoadResult:
    return load_texts([SourceText(name, textwrap.dedent(text))], default_namespace=namespace)


def errors(result: LoadResult) -> list[str]:
    """Every error as ``field: message``."""
    return [f"{d.field}: {d.message}" if d.field else d.message for d in result.errors]


def warnings(result: LoadResult) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.severity is Severity.WARNING]


def netpol(spec: str, *, metadata: str = "name: p\nnamespace: prod") -> str:
    """A NetworkPolicy document around a ``spec`` body written in YAML."""
    return (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
        + textwrap.indent(textwrap.dedent(metadata).strip("\n"), "  ")
        + "\nspec:\n"
        + textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
        + "\n"
    )
