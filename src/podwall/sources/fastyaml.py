"""A faster way to the same Python objects that ``yaml.load_all`` builds, for big inputs.

Why: with PyYAML's LibYAML loader, parsing and composing nodes run in C, but resolving each
scalar's tag and constructing the objects run in Python, and take more than half of the time.
Manifests are plain data (mappings, sequences and scalars, no anchors in practice), so:

* a plain scalar's tag comes from its first character (:mod:`goyaml`), and its value from a
  memoised pure function of its text;
* documents are built by one tight recursive function for the standard tags (map, seq, str),
  calling the loader's own constructor for every other scalar tag (int, bool, null, float,
  timestamp... including any that ``manifests._Loader`` overrides).

Anything else (a merge key ``<<``, a ``=`` key, an unknown tag, an unhashable key) makes that
document go through the loader's standard ``construct_document``, so the result is the one
``yaml.load_all`` gives. A repeated key raises :class:`Slow`, and the caller redoes the text the
standard way (which warns about it, with lines); so do YAML errors.

:func:`usable` tells when this path may replace the standard one, including its hostile-input
pre-pass (one more full parse): no anchor means no alias, hence no alias bomb. Flow
collections (``{}``, ``[]``, JSON in a ``kind: List``) take this path too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from podwall.sources.goyaml import GO_TAG as _GO
from podwall.sources.goyaml import resolve_plain

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"


class _Fallback(Exception):
    """This document needs the standard constructor."""


class Slow(Exception):
    """This text needs the standard path (here: a key repeated in a mapping, which the
    standard path reports with its line)."""


def usable(text: str) -> bool:
    """True when ``text`` can hold no alias (no anchor), hence no alias bomb.

    Nesting needs no check here: LibYAML refuses more than 1000 levels (flow or block) itself,
    and a ``RecursionError`` while building sends the text to the standard path.
    """
    return "&" not in text


def load_all(text: str, loader_cls: type, roots: list[Mark] | None = None) -> Iterator[Any]:
    """Like ``yaml.load_all(text, Loader=...)`` for a text without anchors (see module doc).

    ``loader_cls`` is a PyYAML loader class with :mod:`goyaml`'s resolver and constructors.
    ``roots``, when given, receives the start mark of each document's root node (in document
    order), which is where :class:`podwall.sources.manifests.Locator` finds a document again.
    """
    loader = loader_cls(text)
    constructors = loader.yaml_constructors

    def build(node: Node) -> Any:
        tag = node.tag
        cls = node.__class__
        if cls is ScalarNode:
            if tag == _STR:
                return node.value
            if tag == _GO:
                value = resolve_plain(node.value)
                if value.__class__ is str or value is None or value.__class__ in (int, float, bool):
                    return value
                raise _Fallback  # NaN or an infinity: the standard constructor reports it, with its line
            fn = constructors.get(tag)
            if fn is None:
                raise _Fallback
            return fn(loader, node)
        if cls is MappingNode and tag == _MAP:
            out: dict[Any, Any] = {}
            pairs = node.value
            for k, v in pairs:
                kt = k.tag
                if kt == _STR and k.__class__ is ScalarNode:
                    out[k.value] = build(v)
                else:  # a merge, or a key that is not a plain string: the standard constructor
                    raise _Fallback
            if len(out) != len(pairs):
                raise Slow
            return out
        if cls is SequenceNode and tag == _SEQ:
            return [build(x) for x in node.value]
        raise _Fallback

    try:
        while loader.check_node():
            node = loader.get_node()
            if roots is not None:
                roots.append(node.start_mark)
            try:
                data = build(node)
            except (_Fallback, TypeError):
                data = loader.construct_document(node)
            yield data
    finally:
        loader.dispose()
