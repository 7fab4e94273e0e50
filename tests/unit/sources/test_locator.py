"""The Locator composes one document at a time; its lines must be the lines of the whole text.

Every expected line here is computed independently of podwall: PyYAML's pure-Python loader
(``yaml.SafeLoader``) composes the whole YAML stream at once (or, for JSON, each object at the
offset the test itself placed it), and the walk below reads each field's line off those nodes
(a field at its key's line, a list item at the item's line). podwall's Locator must give the same
line for every path of every document, wherever the document sits in its file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from podwall.sources.manifests import Locator, SourceText, parse_source

Path = tuple[str | int, ...]


def expected_lines(node: yaml.Node, path: Path = (), line: int | None = None) -> Iterator[tuple[Path, int]]:
    """(path, 1-based line) for the node and everything below it, read off a pure-loader tree."""
    yield path, (node.start_mark.line + 1 if line is None else line)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value not in seen:  # the first of a repeated key
                seen.add(k.value)
                yield from expected_lines(v, (*path, k.value), k.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from expected_lines(item, (*path, i))


def located(text: str, name: str = "f.yaml") -> Locator:
    locator = Locator()
    _docs, diags = parse_source(SourceText(name, text), locator)
    assert not [d for d in diags if d.severity.value == "error"], diags
    return locator


def check_yaml(text: str, name: str = "f.yaml") -> int:
    """Every path of every document; returns how many were checked (so a test can insist on them)."""
    locator = located(text, name)
    checked = 0
    for doc, root in enumerate(yaml.compose_all(text, Loader=yaml.SafeLoader)):
        for path, line in expected_lines(root):
            assert locator.line(name, doc, path) == line, (doc, path)
            checked += 1
    return checked


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  containers:
  - name: c
    ports:
    - containerPort: 80
"""

MIXED = (
    "# a comment before the first document\n\n"
    + POD.format(name="first")
    + "---\n# between documents\n\n"
    + POD.format(name="second")
    + "--- |\n  a block scalar as a root\n  --- that is not a marker\n---\n"  # a root on the --- line
    + "kind: ConfigMap\ndata:\n  script: |\n    x\n    ---\n    ...\n  other: 'a\n    --- b'\n"
    + "...\n"  # an explicit document end
    + "---\n---\n"  # an empty document
    + "--- !!map\n"  # a tag on the marker line
    + POD.format(name="tagged")
    + "---\napiVersion: v1\nkind: List\nitems:\n"
    + "".join("- " + POD.format(name=f"item{i}").replace("\n", "\n  ").rstrip(" ") for i in range(3))
    + "--- {kind: Pod, metadata: {name: flow,\n  labels: {app: flow}}}\n"
    + "---\n"
    + POD.format(name="last-é😀")  # non-ASCII before the end: offsets count characters
)


def test_every_field_of_every_document_of_a_multi_document_file() -> None:
    assert check_yaml(MIXED) > 100


def test_a_document_in_the_middle_is_composed_alone() -> None:
    """The mechanism, not only the result: asking for lines in the middle of a big file composes
    that document, not the whole text."""
    text = "---\n".join(POD.format(name=f"p{i}") for i in range(200))
    locator = located(text)
    reference = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    for doc in (0, 57, 123, 199):
        for path, line in expected_lines(reference[doc]):
            assert locator.line("f.yaml", doc, path) == line
    assert locator.scalar("f.yaml", 123, ("metadata", "name")) == "p123"
    assert locator.line("f.yaml", 200, ()) == 0  # no such document
    assert "f.yaml" not in locator._trees  # never composed whole
    assert {doc for _name, doc in locator._docs} == {0, 57, 123, 199}


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_other_line_breaks(newline: str) -> None:
    assert check_yaml(MIXED.replace("\n", newline)) > 100


def test_line_breaks_yaml_counts_inside_quoted_scalars() -> None:
    # NEL, LS and PS are line breaks for YAML 1.1 (LibYAML counts them), not for str.count("\n")
    text = 'a: "x\u2028y"\nb: "\x85"\n---\nc: "\u2029"\nd: [1,\n  2]\n---\ne: 1\n'
    assert check_yaml(text) == 10


def test_standard_path_with_anchors_and_aliases() -> None:
    # anchors send the text through the standard loader, which records the documents too
    text = POD.format(name="a") + "---\nx: &anchor {k: v}\ny: *anchor\nz:\n- *anchor\n---\n" + POD.format(name="b")
    assert check_yaml(text) > 20


def test_a_tag_directive_of_a_middle_document() -> None:
    # the document alone would lose its %TAG directive: the Locator must still get its lines right
    middle = "...\n%TAG !e! tag:example.com,2026:\n--- !e!thing\nk: v\nl:\n- 1\n---\n"
    text = POD.format(name="a") + middle + POD.format(name="b")
    assert check_yaml(text) > 20


def test_documents_before_a_syntax_error_keep_their_lines() -> None:
    good = POD.format(name="a") + "---\n" + POD.format(name="b")
    text = good + "---\nbroken: [1,\n"
    locator = Locator()
    _docs, diags = parse_source(SourceText("f.yaml", text), locator)
    assert diags and diags[0].code == "yaml"
    for doc, root in enumerate(yaml.compose_all(good, Loader=yaml.SafeLoader)):
        for path, line in expected_lines(root):
            assert locator.line("f.yaml", doc, path) == line


def json_stream(objects: list[Any], separators: list[str], indent: int | None) -> tuple[str, list[int]]:
    """A JSON stream and the offset where each object starts (placed by the test itself)."""
    text, starts = separators[0], []
    for obj, sep in zip(objects, separators[1:], strict=True):
        starts.append(len(text))
        text += json.dumps(obj, indent=indent) + sep
    return text, starts


def check_json(objects: list[Any], separators: list[str], indent: int | None = 2) -> int:
    text, starts = json_stream(objects, separators, indent)
    locator = located(text, "f.json")
    checked = 0
    for doc, start in enumerate(starts):
        root = yaml.compose(json.dumps(objects[doc], indent=indent), Loader=yaml.SafeLoader)
        assert root is not None
        before = text.count("\n", 0, start)
        for path, line in expected_lines(root):
            assert locator.line("f.json", doc, path) == line + before, (doc, path)
            checked += 1
    return checked


def pod_obj(name: str) -> dict[str, Any]:
    return yaml.safe_load(POD.format(name=name))  # type: ignore[no-any-return]


def test_json_stream_object_in_the_middle() -> None:
    objs = [pod_obj(f"p{i}") for i in range(5)]
    assert check_json(objs, ["\n", "\n", "", "\n\n", " \n", "\n"]) > 50


def test_ndjson_object_in_the_middle() -> None:
    # one object per line (what jq -c writes): each object's fields are on its line
    objs = [pod_obj(f"p{i}") for i in range(5)]
    assert check_json(objs, ["", "\n", "\n", "\n", "\n", "\n"], indent=None) > 50


def test_json_list_items() -> None:
    # a kind: List in the middle of a stream: its items are objects at ("items", i) of that document
    lst = {"apiVersion": "v1", "kind": "List", "items": [pod_obj(f"p{i}") for i in range(4)]}
    assert check_json([pod_obj("before"), lst, pod_obj("after")], ["", "\n", "\n", "\n"]) > 80
    assert check_json([pod_obj("before"), lst], ["", "", ""]) > 60  # concatenated, no newline between


def test_lines_through_the_loader() -> None:
    """The line of a problem in the middle of a multi-document file, as `podwall` reports it."""
    from podwall.sources.decode import load_texts

    bad = POD.format(name="bad").replace("containerPort: 80", "containerPort: x80")
    text = "---\n".join([POD.format(name="a"), POD.format(name="b"), bad, POD.format(name="c")])
    result = load_texts([SourceText("f.yaml", text)])
    (d,) = result.errors
    root = list(yaml.compose_all(text, Loader=yaml.SafeLoader))[2]
    assert d.line == dict(expected_lines(root))[("spec", "containers", 0, "ports", 0, "containerPort")]


keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=6)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=12))
data = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=20
)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(
    st.lists(data, min_size=1, max_size=5),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["|", ">", None, "'", '"']),
    st.booleans(),
)
def test_random_streams(docs: list[Any], flow: bool, start: bool, style: str | None, end: bool) -> None:
    text = yaml.safe_dump_all(
        docs, default_flow_style=flow, explicit_start=start, explicit_end=end, default_style=style, allow_unicode=True
    )
    check_yaml("# a YAML stream (not JSON, though it may start with {)\n" + text)


def test_documents_nested_deeper_than_pythons_stack() -> None:
    # LibYAML composes up to 1000 levels; the Locator's walk must not depend on Python's stack
    depth = 995
    locator = Locator()
    locator.add(SourceText("deep.yaml", "[\n" * depth + "x\n" + "]" * depth + "\n---\nb: 1\n"))
    assert locator.line("deep.yaml", 0, (0,) * 10) == 11  # the 11th "[", on line 11
    assert locator.line("deep.yaml", 0, (0,) * depth) == depth + 1
    assert locator.scalar("deep.yaml", 0, (0,) * depth) == "x"
    assert locator.line("deep.yaml", 1, ("b",)) == depth + 4


def test_a_recursive_alias_does_not_hang_the_locator() -> None:
    # (the loader refuses such a text; the Locator, asked anyway, must still answer)
    locator = Locator()
    locator.add(SourceText("r.yaml", "a: &x\n- 1\n- *x\nb: 2\n"))
    assert locator.line("r.yaml", 0, ("a", 0)) == 2
    assert locator.line("r.yaml", 0, ("a", 1, 1, 1)) == 1  # an alias is its anchor's node: line 1
    assert locator.line("r.yaml", 0, ("b",)) == 4
