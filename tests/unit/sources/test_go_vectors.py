"""podwall reads scalars as kubectl does: vectors printed by Go itself (tests/vectors/main.go).

Each YAML vector is the document ``v: <scalar>`` through sigs.k8s.io/yaml (go-yaml v2, strict,
then JSON), then through the API server's JSON decoding into int32, IntOrString, string and bool
fields. podwall must read the same value, and its typed accessors must accept what Go accepts.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from podwall.sources.fields import FieldReader
from podwall.sources.manifests import Document, SourceText, parse_source

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "vectors.json").read_text())


def _num(x: Any) -> Any:
    """Compare numbers by value, whatever their Python type (Go's JSON drops 80.0's fraction)."""
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return (type(x).__name__, x)
    if isinstance(x, (int, float)):
        return ("number", Decimal(repr(x)) if isinstance(x, float) else Decimal(x))
    if isinstance(x, Decimal):
        return ("number", x)
    if isinstance(x, list):
        return [_num(i) for i in x]
    if isinstance(x, dict):
        return {k: _num(v) for k, v in x.items()}
    raise TypeError(x)


def _go_json(text: str) -> Any:
    return _num(json.loads(text, parse_float=Decimal, parse_int=Decimal))


def _read(text: str) -> tuple[list[Document], list[str]]:
    docs, diags = parse_source(SourceText("v.yaml", text))
    return docs, [d.message for d in diags if d.severity.value == "error"]


def _typed(value: Any) -> dict[str, Any]:
    r = FieldReader("default")
    r.doc = Document("v.yaml", 0, (), {})
    out: dict[str, Any] = {}
    for name, fn in (("int32", r.integer), ("intorstr", r.int_or_string), ("string", r.string), ("bool", r.boolean)):
        r.issues.clear()
        got = fn(value, ("v",))  # type: ignore[operator]
        out[name] = "error" if r.issues else got
    return out


@pytest.mark.parametrize("vec", VECTORS["scalars"], ids=lambda v: repr(v["yaml"]))
def test_yaml_scalar_reads_as_go_reads_it(vec: dict[str, Any]) -> None:
    docs, errors = _read(f"v: {vec['yaml']}\n")
    if "error" in vec:
        assert errors, f"Go refuses it: {vec['error']}"
        return
    assert errors == []
    (doc,) = docs
    assert _num(doc.data) == _go_json(vec["json"])
    typed = _typed(doc.data["v"])
    for name in ("int32", "intorstr", "string", "bool"):
        go = vec[name]
        if "error" in go:
            assert typed[name] == "error", f"{name}: Go says {go['error']}"
        elif name == "bool" and go["value"] is None:
            assert typed[name] is False  # a null bool is its zero value
        else:
            assert _num(typed[name]) == _num(go["value"]), name


@pytest.mark.parametrize("vec", VECTORS["documents"], ids=lambda v: v["name"])
def test_yaml_document_reads_as_go_reads_it(vec: dict[str, Any]) -> None:
    docs, errors = _read(vec["yaml"])
    if "error" in vec:
        assert errors, f"Go refuses it: {vec['error']}"
        return
    assert errors == []
    expected = _go_json(vec["json"])
    if expected == ("NoneType", None):
        assert docs == []
    else:
        (doc,) = docs
        assert _num(doc.data) == expected


def test_the_vectors_cover_what_kubectl_users_write() -> None:
    written = {v["yaml"] for v in VECTORS["scalars"]}
    for must in ("0080", "0o120", "0x1F", "0b101", "1_000", "+80", "80.0", "1e3", ".inf", ".nan", "y", "N", "On",
                 "off", "~", "null", "2024-01-01", "2372039e9", "!!binary aGVsbG8="):
        assert must in written
    assert {d["name"] for d in VECTORS["documents"]} >= {"merge key", "duplicate key", "long string"}
