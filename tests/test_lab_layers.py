"""The lab's place in the layers: it never imports the ``podwall.api`` facade, and the netns
primitives live once, in ``podwall.linux.netns`` (below both ``nft`` and ``lab``)."""

from __future__ import annotations

import ast
from pathlib import Path

import podwall

SRC = Path(podwall.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_lab_does_not_import_the_api_facade() -> None:
    bad = {f.name: sorted(m for m in _imports(f) if m == "podwall.api" or m.startswith("podwall.api."))
           for f in (SRC / "lab").glob("*.py")}  # fmt: skip
    assert {k: v for k, v in bad.items() if v} == {}


def test_netns_primitives_live_in_linux_only() -> None:
    defined = []
    for f in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name in ("setns", "in_netns", "netns_path"):
                defined.append(str(f.relative_to(SRC)))
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") == "CDLL"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value is None
            ):
                defined.append(f"{f.relative_to(SRC)} (CDLL(None))")
    assert sorted(set(defined)) == ["linux/netns.py", "linux/netns.py (CDLL(None))"]
    linux = {m for f in (SRC / "linux").glob("*.py") for m in _imports(f) if m.startswith("podwall")}
    assert linux <= {"podwall.errors"}


def test_nothing_imports_netns_primitives_from_nft() -> None:
    old = {"podwall.nft.apply.in_netns", "podwall.nft.apply.setns", "podwall.nft.apply.netns_path"}
    users = [str(f.relative_to(SRC)) for f in SRC.rglob("*.py") if old & _imports(f)]
    assert users == []
