"""Lint findings as SARIF 2.1.0, for GitHub code scanning and editors.

Each finding becomes a ``result`` whose ``ruleId`` is the lint rule id and whose first location
is the file and line it points at. File paths are written as relative URIs (relative to the
current directory when the user passed absolute paths under it), which is what code scanning
matches against the repository. Secondary locations (the pod behind a DNS finding, the rule that
shadows another) become ``relatedLocations``; the ready-to-apply fix travels in
``properties.fix`` and in the markdown message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any

from podwall.core.lint import RULES, Finding
from podwall.errors import Severity
from podwall.report.fixes import fix_yaml

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}

LineOf = Callable[..., int]


def artifact_uri(path: str, cwd: str | None = None) -> str:
    """A relative, forward-slash URI for a path as the user gave it."""
    if path in ("", "-", "<stdin>"):
        return "stdin"
    if os.path.isabs(path):
        base = cwd or os.getcwd()
        try:
            rel = os.path.relpath(path, base)
        except ValueError:  # another drive on Windows
            rel = path
        if not rel.startswith(".."):
            path = rel
    uri = PurePosixPath(*path.replace("\\", "/").split("/")).as_posix()
    return uri[2:] if uri.startswith("./") else uri


def _location(file: str, line: int, cwd: str | None) -> dict[str, Any]:
    phys: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(file, cwd)}}
    if line > 0:
        phys["region"] = {"startLine": line}
    return {"physicalLocation": phys}


def _rules() -> list[dict[str, Any]]:
    out = []
    for info in RULES.values():
        out.append(
            {
                "id": info.id,
                "name": "".join(w.capitalize() for w in info.id.split("-")),
                "shortDescription": {"text": info.summary},
                "fullDescription": {"text": info.why},
                "help": {
                    "text": f"{info.why}\n\nBad:\n{info.bad}\n\nFixed:\n{info.fixed}",
                    "markdown": f"{info.why}\n\nBad:\n```yaml\n{info.bad}\n```\n\nFixed:\n```yaml\n{info.fixed}\n```",
                },
                "defaultConfiguration": {"level": LEVEL[info.severity]},
            }
        )
    return out


def sarif_log(
    findings: Sequence[Finding], line_of: LineOf, *, tool_version: str, cwd: str | None = None
) -> dict[str, Any]:
    """The SARIF log (a JSON-ready dict) for a list of findings."""
    index = {rid: i for i, rid in enumerate(RULES)}
    results = []
    for f in findings:
        located = [(loc.span.file, line_of(loc.span, *loc.path), loc.what) for loc in f.locations if loc.span]
        text = f.message + (f"\nhint: {f.hint}" if f.hint else "")
        markdown = f.message + (f"\n\n**Hint:** {f.hint}" if f.hint else "")
        if f.fix is not None:
            markdown += f"\n\n**Fix:**\n```yaml\n{fix_yaml(f.fix)}```"
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": LEVEL[f.severity],
            "message": {"text": text, "markdown": markdown},
        }
        if located:
            file, line, _ = located[0]
            result["locations"] = [_location(file, line, cwd)]
            related = []
            for k, (rfile, rline, what) in enumerate(located[1:], start=1):
                loc = _location(rfile, rline, cwd)
                loc["id"] = k
                loc["message"] = {"text": what}
                related.append(loc)
            if related:
                result["relatedLocations"] = related
        if f.fix is not None:
            result["properties"] = {"fix": fix_yaml(f.fix), "fixName": f.fix.name}
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "podwall",
                        "semanticVersion": tool_version,
                        "rules": _rules(),
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
