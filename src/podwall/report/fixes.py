"""Lint fixes as YAML files: the manifests ``core`` builds, serialised with PyYAML.

One place decides how a fix looks on disk and in the text output: block style, keys in the
order a NetworkPolicy is usually written (``sort_keys=False``), and for a deletion the object's
identity preceded by a comment that says to delete it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from podwall.core.goscalars import needs_quotes
from podwall.core.lint import Finding, Fix, FixAction, checked_together
from podwall.core.model import Cluster, Options

try:
    _Base: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without LibYAML
    _Base = yaml.SafeDumper


class _Dumper(_Base):  # type: ignore[misc]
    """Quotes every string kubectl would not read back as a string (``y``, ``0123``): PyYAML
    quotes only what YAML 1.1 resolves."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if needs_quotes(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_str(data)


_Dumper.add_representer(str, _represent_str)

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


def _files(fixes: Iterable[tuple[str, Fix]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, fix in fixes:
        path = f"{DELETE_DIR}/{name}.yaml" if fix.action is FixAction.DELETE else f"{name}.yaml"
        out[path] = fix_yaml(fix)
    return out


def checked_fix_files(
    findings: Iterable[Finding], cluster: Cluster, options: Options
) -> tuple[dict[str, str], list[str]]:
    """What ``--fix-dir`` writes, ``{relative path: yaml}`` (``NAME.yaml`` to apply,
    ``delete/NAME.yaml`` to delete) for the fixes that may be applied together (checked with the
    engine as one change), and one line for each object left out, saying why."""
    kept, dropped = checked_together(findings, cluster, options)
    notes = [f"{c.name}: not written: {why}" for c, why in dropped]
    return _files((c.name, c.fix) for c in kept), notes


__all__ = ["DELETE_DIR", "checked_fix_files", "fix_yaml", "manifest_yaml"]
