"""Lint findings point at the right line in the middle of a multi-document file, a JSON stream
and a JSON List.

The expected lines are computed independently of podwall: PyYAML's pure-Python loader composes
the whole text (or each JSON object at the offset this test placed it), and the line is read off
its nodes. (podwall composes only the document a finding points into; these must agree.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from podwall.cli.main import cli

RULES = Path(__file__).parent / "rules"
BASE = [d for d in yaml.safe_load_all((RULES / "base.yaml").read_text()) if d is not None]
BAD = yaml.safe_load((RULES / "named-port-unresolved" / "bad.yaml").read_text())
OBJECTS = [*BASE[:5], BAD, *BASE[5:]]
"""The bad policy in the middle, pods before and after it."""
PORT_PATH: tuple[str | int, ...] = ("spec", "ingress", 0, "ports", 0)


def node_at(root: yaml.Node, path: tuple[str | int, ...]) -> tuple[yaml.Node, int]:
    """The node at ``path`` and its line (a field at its key's line, an item at its own)."""
    node, line = root, root.start_mark.line + 1
    for step in path:
        if isinstance(step, str):
            assert isinstance(node, yaml.MappingNode)
            key, node = next((k, v) for k, v in node.value if k.value == step)
            line = key.start_mark.line + 1
        else:
            assert isinstance(node, yaml.SequenceNode)
            node = node.value[step]
            line = node.start_mark.line + 1
    return node, line


def findings(path: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["lint", "-o", "json", str(path)], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["findings"]  # type: ignore[no-any-return]


def expected(roots: list[tuple[yaml.Node, int]]) -> tuple[int, dict[str, int]]:
    """The named port's line, and each pod's line, from (root node, lines before it) per object."""
    pods: dict[str, int] = {}
    port = 0
    for obj, (root, before) in zip(OBJECTS, roots, strict=True):
        if obj.get("kind") == "Pod":
            pods[f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"] = root.start_mark.line + 1 + before
        if obj is BAD:
            port = node_at(root, PORT_PATH)[1] + before
    return port, pods


def check(path: Path, port_line: int, pod_lines: dict[str, int]) -> None:
    found = findings(path)
    (port,) = [f for f in found if f["rule"] == "named-port-unresolved"]
    assert (port["field"], port["line"]) == ("spec.ingress[0].ports[0]", port_line)
    unprotected = [f for f in found if f["rule"] == "unprotected-pod"]
    assert len(unprotected) >= 2
    for f in unprotected:
        key = f["endpoint"]
        assert f["line"] == pod_lines[key], key
    assert min(pod_lines.values()) < port_line < max(pod_lines.values())  # the policy is in the middle


def test_yaml_multi_document_file(tmp_path: Path) -> None:
    parts = [yaml.safe_dump(o, sort_keys=False) for o in OBJECTS]
    text = "# a comment first\n" + "".join(f"---\n# object {i}\n{p}" for i, p in enumerate(parts))
    roots = [(r, 0) for r in yaml.compose_all(text, Loader=yaml.SafeLoader)]
    path = tmp_path / "all.yaml"
    path.write_text(text)
    check(path, *expected(roots))


@pytest.mark.parametrize("indent", [2, None], ids=["stream", "ndjson"])
def test_json_stream(tmp_path: Path, indent: int | None) -> None:
    text, roots = "", []
    for o in OBJECTS:
        one = json.dumps(o, indent=indent)
        roots.append((yaml.compose(one, Loader=yaml.SafeLoader), text.count("\n")))
        text += one + "\n"
    path = tmp_path / "all.json"
    path.write_text(text)
    check(path, *expected(roots))


def test_json_list(tmp_path: Path) -> None:
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": OBJECTS}, indent=2)
    items = yaml.compose(text, Loader=yaml.SafeLoader)
    assert items is not None
    seq = node_at(items, ("items",))[0]
    path = tmp_path / "all.json"
    path.write_text(text)
    check(path, *expected([(item, 0) for item in seq.value]))
