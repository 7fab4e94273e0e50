"""Inputs people have: JSON and JSON streams, other encodings, CRLF, several files, nothing at all."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from tests.unit.sources.source_helpers import decode

import podwall
from podwall.errors import InputError
from podwall.sources.decode import load

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "vectors.json").read_text())


def _pod(name: str, ns: str = "prod", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, **extra}}


def keys(result: Any) -> list[str]:
    return [e.key for e in result.cluster.endpoints]


def test_one_json_object_and_a_json_list() -> None:
    assert keys(decode(json.dumps(_pod("a")), "a.json")) == ["prod/a"]
    lst = {"apiVersion": "v1", "kind": "List", "items": [_pod("a"), _pod("b")]}
    assert keys(decode(json.dumps(lst, indent=2), "l.json")) == ["prod/a", "prod/b"]


def test_ndjson_and_concatenated_objects_are_streams() -> None:
    nd = "\n".join(json.dumps(_pod(n)) for n in "abc") + "\n"
    assert keys(decode(nd, "s.json")) == ["prod/a", "prod/b", "prod/c"]
    pretty = json.dumps(_pod("a"), indent=2) + "\n" + json.dumps(_pod("b"), indent=1) + json.dumps(_pod("c"))
    assert keys(decode(pretty, "s.json")) == ["prod/a", "prod/b", "prod/c"]


def test_a_line_of_an_ndjson_stream_is_located() -> None:
    nd = "\n".join(json.dumps(_pod(n, labels={"v": 1} if n == "c" else {})) for n in "abc") + "\n"
    r = decode(nd, "s.json")
    assert [(d.line, d.field, d.message) for d in r.errors] == [
        (3, "metadata.labels.v", 'Invalid type: expected a string, got an integer (quote it: "1")')
    ]


def test_a_json_number_is_quoted_as_written() -> None:
    r = decode('{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": 1e3}}', "p.json")
    assert [(d.line, d.message) for d in r.errors] == [
        (2, 'Invalid type: expected a string, got a number (quote it: "1e3")')
    ]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('{"apiVersion": "v1",\n "kind": "Pod",}\n',
         "Expecting property name enclosed in double quotes (line 2, column 16)", 2),
        ('{"a": NaN}', "NaN is not JSON (line 1, column 7)", 1),
        ('{"a": 1}\n{"a": 1, "b": 2, "a": 3}\n', 'duplicate key "a" in an object (line 2, column 18)', 2),
        ('{"a": 1} x', "Expecting value (line 1, column 10)", 1),
    ],
)
def test_json_errors_are_json_errors(text: str, message: str, line: int) -> None:
    (d,) = decode(text, "bad.json").errors
    assert (d.code, d.line, d.message) == ("yaml", line, "invalid JSON: " + message)


def test_a_repeated_key_hidden_behind_escaped_quotes_is_still_found() -> None:
    text = ('{"apiVersion": "v1", "kind": "Pod", '
            '"metadata": {"name": "a", "annotations": {"x": "{\\"k\\":1}"}, "name": "b"}}')
    (d,) = decode(text, "p.json").errors
    assert 'duplicate key "name"' in d.message


@pytest.mark.parametrize("vec", VECTORS["json_numbers"], ids=lambda v: v["json"])
def test_json_numbers_decode_as_the_api_server_decodes_them(vec: dict[str, Any]) -> None:
    ports = {"containerPort": json.loads(vec["json"])} if vec["json"] != "null" else {}
    text = json.dumps(_pod("p") | {"spec": {"containers": [{"name": "c", "ports": [ports]}]}})
    text = text.replace(json.dumps(ports), "{\"containerPort\": " + vec["json"] + "}") if ports else text
    r = decode(text, "p.json")
    go = vec["int32"]
    if "error" in go:
        assert [d.field for d in r.errors] == ["spec.containers[0].ports[0].containerPort"], go["error"]
    elif go["value"] is None:
        assert r.errors == []
    else:
        assert r.errors == [] and r.cluster.endpoints[0].ports[0].port == go["value"]


@pytest.mark.parametrize(
    ("codec", "bom", "label"),
    [
        ("utf-8", b"\xef\xbb\xbf", "UTF-8"),
        ("utf-16-le", b"\xff\xfe", "UTF-16 (little-endian)"),
        ("utf-16-be", b"\xfe\xff", "UTF-16 (big-endian)"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
        ("utf-32-be", b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    ],
)
def test_text_with_a_byte_order_mark_is_decoded_with_a_warning(
    tmp_path: Path, codec: str, bom: bytes, label: str
) -> None:
    p = tmp_path / "w.yaml"
    text = "apiVersion: v1\r\nkind: Pod\r\nmetadata: {name: a, namespace: prod, annotations: {note: café}}\r\n"
    p.write_bytes(bom + text.encode(codec))
    r = load([str(p)])
    assert r.errors == []
    (w,) = r.diagnostics
    assert w.code == "encoding" and w.message.startswith(f"{label} text with a byte-order mark: decoded as {label}")
    assert r.cluster.endpoints[0].annotations["note"] == "café"


def test_utf16_json_from_powershell_is_read(tmp_path: Path) -> None:
    p = tmp_path / "ps.json"
    p.write_bytes(b"\xff\xfe" + json.dumps(_pod("a"), indent=4).replace("\n", "\r\n").encode("utf-16-le"))
    assert keys(load([str(p)])) == ["prod/a"]


def test_crlf_yaml_reads_as_lf() -> None:
    r = decode("apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: a\r\n  namespace: prod\r\n")
    assert r.diagnostics == [] and keys(r) == ["prod/a"]


def test_documents_of_different_files_never_merge(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: prod}")  # no newline
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: prod}\n")
    assert keys(load([str(tmp_path)])) == ["prod/a", "prod/b"]


def test_no_objects_at_all_is_an_error_that_says_so(tmp_path: Path) -> None:
    (d,) = load([str(tmp_path)]).errors
    assert (d.code, d.message) == ("empty", f"no manifest files (.yaml, .yml, .json) in {tmp_path}: nothing to read")
    (tmp_path / "notes.yaml").write_text("# just a comment\n---\n")
    (d,) = load([str(tmp_path)]).errors
    assert (d.code, d.message, d.line) == ("empty", f"no Kubernetes objects in {tmp_path}", 1)
    with pytest.raises(podwall.ManifestError):
        podwall.load([str(tmp_path)])


def test_stdin_reads_json_streams_too() -> None:
    nd = ("\n".join(json.dumps(_pod(n)) for n in "ab") + "\n").encode()
    assert keys(load(["-"], stdin=io.BytesIO(nd))) == ["prod/a", "prod/b"]


@pytest.mark.parametrize("ns", ["Prod", "a/b", "", "x" * 64, "-x"])
def test_the_default_namespace_must_be_a_namespace_name(ns: str) -> None:
    with pytest.raises(InputError, match="invalid namespace"):
        decode("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", namespace=ns)


def test_a_json_object_yaml_cannot_compose_is_located_at_its_first_line() -> None:
    nd = json.dumps(_pod("a")) + "\n" + json.dumps(_pod("b", labels={"x": 1}, annotations={"e": "\U0001F600"})) + "\n"
    (d,) = decode(nd, "s.json").errors
    assert (d.line, d.field) == (2, "metadata.labels.x")


def test_json_nested_too_deeply_is_a_one_line_error() -> None:
    (d,) = decode('{"a": ' + "[" * 100000 + "]" * 100000 + "}", "deep.json").errors
    assert d.code == "yaml" and d.message.startswith("invalid JSON: ") and d.line == 1


def test_the_cli_exits_2_when_the_paths_hold_no_object(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from podwall.cli.main import cli

    r = CliRunner().invoke(cli, ["matrix", str(tmp_path)], catch_exceptions=False)
    assert r.exit_code == 2 and "no manifest files (.yaml, .yml, .json)" in r.output
