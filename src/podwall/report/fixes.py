"""Lint fixes as YAML files: the manifests ``core`` builds, serialised with PyYAML.

One place decides how a fix looks on disk and in the text output: block style, keys in the
order a NetworkPolicy is usually written (``sort_keys=False``), and for a deletion the object's
identity preceded by a comment that says to delete it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

try:
    _Dumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without LibYAML
    _Dumper = yaml.SafeDumper

from podwall.core.lint import Finding, Fix, FixAction, combined_fixes

DELETE_DIR = "delete"
"""Where ``--fix-dir`` puts the objects to delete (``kubectl delete -f DIR/delete``)."""


def manifest_yaml(doc: Mapping[str, Any]) -> str:
    """One YAML document (without ``---``), ending in a newline."""
    return yaml.dump(dict(doc), Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def fix_yaml(fix: Fix) -> str:
    """The fix as YAML: the manifest to apply, or (a deletion) the object to delete."""
    text = manifest_yaml(fix.manifest)
    if fix.action is FixAction.DELETE:
        meta = fix.manifest.get("metadata", {})
        return f"# delete: kubectl delete networkpolicy -n {meta.get('namespace')} {meta.get('name')}\n{text}"
    return text


def fix_files(findings: Iterable[Finding]) -> dict[str, str]:
    """``{relative path: yaml}`` for ``--fix-dir``: ``NAME.yaml`` to apply, ``delete/NAME.yaml`` to delete."""
    out: dict[str, str] = {}
    for name, fix in combined_fixes(findings).items():
        path = f"{DELETE_DIR}/{name}.yaml" if fix.action is FixAction.DELETE else f"{name}.yaml"
        out[path] = fix_yaml(fix)
    return out


__all__ = ["DELETE_DIR", "fix_files", "fix_yaml", "manifest_yaml"]
