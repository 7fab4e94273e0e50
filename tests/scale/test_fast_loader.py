"""The loader's fast path (``sources/fastyaml.py``) must give what the standard path gives.

Same documents and the same diagnostics, for tricky YAML and for random data; and it must
really be taken for plain manifests (else the parse-floor target silently regresses).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from podwall.sources import fastyaml
from podwall.sources import manifests as m
from podwall.sources.manifests import SourceText, parse_source

TRICKY = {
    "repeated key": "a: 1\na: 2\n",
    "repeated key, int and string": "1: a\n'1': b\n",
    "merge key": "a: {x: 1}\nb:\n  <<: {y: 2}\n  z: 3\n",
    "value key": "=: 1\nb: 2\n",
    "scalars": "d: 2024-01-01\nt: 10:30\nf: 1:30.5\nn: null\nb: yes\nbb: true\ni: 0x1f\nfl: 1.5e3\no: 0o17\ns: '08'\n",
    "explicit tags": "a: !!str 12\nb: !!binary aGVsbG8=\nc: !!set {x, y}\nd: !!float 1\n",
    "unhashable key": "? [a, b]\n: 1\n",
    "syntax error in 2nd doc": "a: 1\n---\nb: [1,\n",
    "undefined alias": "a: *x\n",
    "anchors": "a: &x {k: v}\nb: *x\n",
    "list": "---\nkind: List\nitems:\n- {kind: Pod, metadata: {name: a}}\n- null\n---\n",
    "custom tag": "a: !foo bar\n",
    "empty": "",
    "compact nesting": "a:\n  b:\n    - - - c\n",
    "deep flow": "a: " + "[" * 300 + "]" * 300 + "\n",
    "document end marker": "a: 1\n...\n---\nb: 2\n",
    "json": '{"kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}}, "spec": {}}',
}


def both(text: str) -> tuple[Any, Any]:
    src = SourceText("x.yaml", text)
    fast = parse_source(src)
    saved = m._load_fast
    m._load_fast = lambda s: None  # type: ignore[assignment]
    try:
        slow = parse_source(src)
    finally:
        m._load_fast = saved
    return fast, slow


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_yaml_same_result(name: str) -> None:
    fast, slow = both(TRICKY[name])
    assert repr(fast) == repr(slow)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=8),
    st.sampled_from(["yes", "no", "on", "1:30", "2024-01-01", "0x10", "~", "=", "<<", "1e3", ".inf", "TCP"]),
)
data = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6) | st.integers(0, 3), inner, max_size=4)
    ),
    max_leaves=25,
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.lists(data, min_size=1, max_size=3), st.booleans())
def test_random_documents_same_result(docs: list[Any], flow: bool) -> None:
    text = yaml.safe_dump_all(docs, default_flow_style=flow, sort_keys=False)
    fast, slow = both(text)
    assert repr(fast) == repr(slow)


def test_plain_manifests_take_the_fast_path() -> None:
    text = "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n  labels: {{app: a{i}}}\nspec:\n  containers:\n  - "
        f"name: c\n    ports: [{{containerPort: 80}}]\n"
        for i in range(200)
    )
    assert fastyaml.usable(text)
    assert m._load_fast(SourceText("x.yaml", text)) is not None
