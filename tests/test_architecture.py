"""The layering contract of STYLE.md, checked on the source tree.

* ``podwall.core`` is pure: no YAML, CLI, terminal, subprocess, socket or OS access.
* only ``podwall.cli`` may exit the process or import click.
* the public API is exactly ``podwall.__all__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import podwall

SRC = Path(podwall.__file__).resolve().parent
FORBIDDEN_IN_CORE = {"yaml", "click", "rich", "subprocess", "socket", "os", "sys", "shutil", "podwall.sources", "podwall.cli", "podwall.report", "podwall.nft", "podwall.lab"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _modules(sub: str) -> list[Path]:
    return sorted((SRC / sub).rglob("*.py"))


def test_core_is_pure():
    offenders = []
    for f in _modules("core"):
        for mod in _imports(f):
            if any(mod == bad or mod.startswith(bad + ".") for bad in FORBIDDEN_IN_CORE):
                offenders.append(f"{f.relative_to(SRC)} imports {mod}")
    assert offenders == []


def test_only_the_cli_exits_or_uses_click():
    offenders = []
    for f in sorted(SRC.rglob("*.py")):
        rel = f.relative_to(SRC)
        if rel.parts[0] == "cli":
            continue
        text = f.read_text()
        if "sys.exit(" in text:
            offenders.append(f"{rel} calls sys.exit")
        if "click" in _imports(f):
            offenders.append(f"{rel} imports click")
    assert offenders == []


def test_public_api_is_exactly_all():
    public = {n for n in dir(podwall) if not n.startswith("_")} - {"api", "core", "errors", "sources", "report", "cli", "nft", "lab", "linux", "annotations"}
    assert public | {"__version__"} == set(podwall.__all__)
    for name in podwall.__all__:
        assert hasattr(podwall, name)
