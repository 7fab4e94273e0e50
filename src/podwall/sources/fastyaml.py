"""A faster way to the same Python objects that ``yaml.load_all`` builds, for big inputs.

Why: with PyYAML's LibYAML loader, parsing and composing nodes run in C, but resolving each
scalar's tag and constructing the objects run in Python, and take more than half of the time.
Manifests are plain data (mappings, sequences and scalars, no anchors in practice), so:

* tags of plain scalars are memoised per ``(value, implicit)`` (the resolver is a pure function
  of them: podwall adds no path resolvers);
* documents are built by one tight recursive function for the standard tags (map, seq, str),
  calling the loader's own constructor for every other scalar tag (int, bool, null, float,
  timestamp... including any that ``manifests._Loader`` overrides).

Anything else (a merge key ``<<``, a ``=`` key, an unknown tag, an unhashable key) makes that
document go through the loader's standard ``construct_document``, so the result is the one
``yaml.load_all`` gives. A repeated key raises :class:`Slow`, and the caller redoes the text the
standard way (which warns about it, with lines); so do YAML errors.

:func:`usable` tells when this path may replace the standard one, including its hostile-input
pre-pass (one more full parse): no anchor means no alias, hence no alias bomb; and nesting
depth has an upper bound from the text alone (each level of block nesting needs its own
column at least every second level; each flow level needs a ``[`` or ``{`` in the same
document).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
_DOC_MARKER = re.compile(r"^(?:---|\.\.\.)", re.MULTILINE)


FAST_MAX_DEPTH = 200
"""The fast path is taken only when nesting is provably shallower than this, so that neither
LibYAML nor Python's recursion limit can be reached, on either path."""


class _Fallback(Exception):
    """This document needs the standard constructor."""


class Slow(Exception):
    """This text needs the standard path (here: a key repeated in a mapping, which the
    standard path reports with its line)."""


def usable(text: str, max_depth: int = FAST_MAX_DEPTH) -> bool:
    """True when ``text`` can have neither aliases nor nesting as deep as ``max_depth``."""
    if "&" in text:
        return False
    longest = max((len(line) for line in text.splitlines()), default=0)
    # no node spans a document marker (a line starting with --- or ...)
    flow = max((c.count("[") + c.count("{") for c in _DOC_MARKER.split(text)), default=0)
    return 2 * (longest + 2) + flow < max_depth


def memoising(loader_cls: type) -> type:
    """A subclass of ``loader_cls`` whose scalar tag resolution is memoised per instance."""

    class Memo(loader_cls):  # type: ignore[misc]
        def __init__(self, stream: Any) -> None:
            super().__init__(stream)
            self._resolved: dict[tuple[str, Any], str] = {}

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is ScalarNode:
                key = (value, implicit)
                tag = self._resolved.get(key)
                if tag is None:
                    tag = self._resolved[key] = super().resolve(kind, value, implicit)
                return tag
            return super().resolve(kind, value, implicit)

    Memo.__name__ = Memo.__qualname__ = f"Memo{loader_cls.__name__}"
    return Memo


def load_all(text: str, loader_cls: type) -> Iterator[Any]:
    """Like ``yaml.load_all(text, Loader=...)`` for a text without anchors (see module doc).

    ``loader_cls`` should come from :func:`memoising` (any PyYAML loader class works).
    """
    loader = loader_cls(text)
    constructors = loader.yaml_constructors

    def build(node: Node) -> Any:
        tag = node.tag
        cls = node.__class__
        if cls is ScalarNode:
            if tag == _STR:
                return node.value
            fn = constructors.get(tag)
            if fn is None:
                raise _Fallback
            return fn(loader, node)
        if cls is MappingNode and tag == _MAP:
            out: dict[Any, Any] = {}
            plain = True
            pairs = node.value
            for k, v in pairs:
                kt = k.tag
                if kt == _STR and k.__class__ is ScalarNode:
                    out[k.value] = build(v)
                elif kt in (_MERGE, _VALUE):
                    raise _Fallback
                else:
                    plain = False
                    out[build(k)] = build(v)  # TypeError if unhashable: fall back
            if len(out) != len(pairs):
                raise Slow
            if not plain:
                texts = [k.value for k, _ in pairs if k.__class__ is ScalarNode]
                if len(set(texts)) != len(texts):
                    raise Slow
            return out
        if cls is SequenceNode and tag == _SEQ:
            return [build(x) for x in node.value]
        raise _Fallback

    try:
        while loader.check_node():
            node = loader.get_node()
            try:
                data = build(node)
            except (_Fallback, TypeError):
                data = loader.construct_document(node)
            yield data
    finally:
        loader.dispose()
