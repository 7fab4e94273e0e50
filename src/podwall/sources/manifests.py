"""Read manifests: files, directories and stdin, into YAML documents that can tell their lines.

Parsing uses PyYAML's LibYAML loader (``CSafeLoader``) on the fast path. Line numbers are not
kept while loading (that would slow the common, valid case): the loader records only where each
document's root node starts, and a :class:`Locator` composes the node tree of one document when a
diagnostic or a lint finding needs a line in it, and maps a field path to it.

Hostile input is refused with a one-line error instead of a hang or a traceback: non-UTF-8 or
binary bytes, alias bombs (many aliases) and recursive aliases, and nesting too deep to walk.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import yaml

from podwall.errors import Diagnostic, InputError, Severity
from podwall.sources import fastyaml, goyaml, jsonstream, kinds

try:
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without LibYAML
    _BaseLoader = yaml.SafeLoader


class _Loader(goyaml.GoConstructorMixin, _BaseLoader):  # type: ignore[misc]
    """PyYAML's LibYAML loader, with go-yaml v2's scalar rules and sigs.k8s.io/yaml's JSON step
    (:mod:`podwall.sources.goyaml`): what kubectl reads, not what YAML 1.1 says."""


goyaml.install(_Loader)
_FastLoader = _Loader

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MAX_ALIASES = 1000
MAX_ALIAS_EXPANSION = 1_000_000
"""Nodes that aliases may add in one source (each alias counts the size of what it names)."""
MAX_DEPTH = 1000
"""Deepest nesting of mappings and sequences accepted (real manifests stay below 30)."""
STDIN = "-"


@dataclass
class SourceText:
    """The text of one input, named as the user named it (``<stdin>`` for ``-``)."""

    name: str
    text: str
    warnings: list[Diagnostic] = field(default_factory=list)
    """What reading the bytes noticed (an encoding other than plain UTF-8)."""


@dataclass
class Document:
    """One object read from a source: a document, or an item of a ``kind: List``."""

    source: str
    doc: int
    """0-based index of the YAML document in the source."""
    path: tuple[str | int, ...]
    """Path of the object inside the document (``("items", 3)`` for list items)."""
    data: Any
    """The object; decode reports it if it is not a mapping."""


def _expand(paths: Iterable[str]) -> Iterator[str]:
    for p in paths:
        if p == STDIN:
            yield p
        elif os.path.isdir(p):
            found: list[str] = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(
                    os.path.join(root, f) for f in files if f.endswith(MANIFEST_SUFFIXES) and not f.startswith(".")
                )
            yield from sorted(found)
        else:
            yield p


_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32 (big-endian)"),
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32 (little-endian)"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xfe\xff", "utf-16-be", "UTF-16 (big-endian)"),
    (b"\xff\xfe", "utf-16-le", "UTF-16 (little-endian)"),
)


def _decode_bytes(name: str, raw: bytes) -> tuple[str, list[Diagnostic]]:
    """The text of ``raw`` and warnings; an ``InputError`` at the line of the first byte that is
    not text. A byte-order mark names the encoding (UTF-8, -16 or -32: what PowerShell's ``>``
    writes is UTF-16); without one the text must be UTF-8, as kubectl requires."""
    warnings: list[Diagnostic] = []
    codec, label = "utf-8", ""
    for bom, c, lbl in _BOMS:
        if raw.startswith(bom):
            raw, codec, label = raw[len(bom):], c, lbl
            break
    if label:
        warnings.append(
            Diagnostic(
                severity=Severity.WARNING,
                code="encoding",
                message=f"{label} text with a byte-order mark: decoded as {label} (kubectl reads UTF-8; "
                "save the file as UTF-8 without a byte-order mark)",
                file=name,
                line=1,
            )
        )
    text: str | None = None
    bad = -1
    reason = ""
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        bad, reason = exc.start, exc.reason
    nul = raw.find(b"\x00") if codec == "utf-8" else (text.find("\x00") if text is not None else -1)
    if nul >= 0 and (bad < 0 or nul < bad):
        where = raw.count(b"\n", 0, nul) if codec == "utf-8" else (text or "").count("\n", 0, nul)
        raise InputError(f"{name}:{where + 1}: binary data (a NUL byte) where YAML or JSON text was expected")
    if text is None:
        line = raw[:bad].decode(codec, "replace").count("\n") + 1 if codec != "utf-8" else raw.count(b"\n", 0, bad) + 1
        what = "UTF-8" if codec == "utf-8" else label
        raise InputError(f"{name}:{line}: not {what} text (binary data?): {reason}")
    return text, warnings


def read_sources(paths: Iterable[str], stdin: BinaryIO | None = None) -> list[SourceText]:
    """Read every manifest named by ``paths`` (files, directories recursively, ``-``)."""
    out: list[SourceText] = []
    for p in _expand(paths):
        if p == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            text, warnings = _decode_bytes("<stdin>", stream.read())
            out.append(SourceText("<stdin>", text, warnings))
            continue
        try:
            with open(p, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            raise InputError(f"{p}: no such file or directory") from None
        except IsADirectoryError:  # pragma: no cover - handled by _expand
            raise InputError(f"{p}: is a directory") from None
        except OSError as exc:
            raise InputError(f"{p}: cannot read: {exc.strerror}") from None
        text, warnings = _decode_bytes(p, raw)
        out.append(SourceText(p, text, warnings))
    return out


def _yaml_error(src: SourceText, exc: yaml.YAMLError) -> Diagnostic:
    name = src.name
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 0
    # An error at the end of the stream (a truncated file) is marked past the last line:
    # report the last line that exists.
    line = min(line, max(1, len(src.text.splitlines())))
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    msg = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return Diagnostic(severity=Severity.ERROR, code="yaml", message=msg, file=name, line=line)


def _line(ev: yaml.Event) -> int:
    return ev.start_mark.line + 1 if ev.start_mark is not None else 0


def _refuse(src: SourceText, line: int, message: str) -> Diagnostic:
    return Diagnostic(severity=Severity.ERROR, code="yaml", message=message, file=src.name, line=line)


def _check_structure(src: SourceText, warnings: list[Diagnostic]) -> Diagnostic | None:
    """Refuse hostile YAML before anything builds it: one pass over the parser's events.

    * nesting deeper than :data:`MAX_DEPTH` (LibYAML's composer recurses in C and would crash);
    * recursive aliases (an alias inside the node it names);
    * alias bombs: more than :data:`MAX_ALIASES` aliases, or aliases that would expand to more
      than :data:`MAX_ALIAS_EXPANSION` nodes (a billion-laughs needs only a few dozen aliases).

    (A key repeated in one mapping is an error of the constructor, as in go-yaml v2's strict mode.)
    """
    # Each open collection: [anchor, expanded size so far, {key: line} for a mapping, children].
    stack: list[list[Any]] = []
    sizes: dict[str, int] = {}
    aliases = 0
    expansion = 0
    try:
        for ev in yaml.parse(src.text, Loader=_Loader):
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    return _refuse(src, _line(ev), f"YAML nested more than {MAX_DEPTH} levels deep: refusing it")
                keys: dict[str, int] | None = {} if isinstance(ev, yaml.MappingStartEvent) else None
                stack.append([ev.anchor, 1, keys, 0])
                continue
            if isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                anchor, size, _, _ = stack.pop()
            elif isinstance(ev, yaml.ScalarEvent):
                anchor, size = ev.anchor, 1
            elif isinstance(ev, yaml.AliasEvent):
                aliases += 1
                line = _line(ev)
                if any(frame[0] == ev.anchor for frame in stack):
                    return _refuse(src, line, f"recursive YAML alias *{ev.anchor} refers to a node that contains it")
                anchor, size = None, sizes.get(ev.anchor or "", 1)
                expansion += size
                if aliases > MAX_ALIASES or expansion > MAX_ALIAS_EXPANSION:
                    what = f"more than {MAX_ALIASES} YAML aliases" if aliases > MAX_ALIASES else (
                        f"YAML aliases expanding to more than {MAX_ALIAS_EXPANSION} nodes"
                    )
                    return _refuse(src, line, f"{what}: refusing a possible alias bomb")
            else:
                continue
            if anchor is not None:
                sizes[anchor] = size
            if stack:
                parent = stack[-1]
                parent[1] += size
                parent[3] += 1
    except yaml.YAMLError as exc:
        return _yaml_error(src, exc)
    return None


def _load_fast(src: SourceText) -> tuple[list[Any], list[yaml.Mark]] | None:
    """Every document of ``src`` the fast way (:mod:`fastyaml`), or None when the standard way
    (structure pre-pass, then ``yaml.load_all``) must read it: anchors, deep nesting, a repeated
    key, or any YAML error. Same objects as the standard way, about twice as fast on big inputs.
    With them, the start mark of every document's root node."""
    if not fastyaml.usable(src.text):
        return None
    roots: list[yaml.Mark] = []
    try:
        return list(fastyaml.load_all(src.text, _FastLoader, roots)), roots
    except (fastyaml.Slow, yaml.YAMLError, RecursionError):
        return None


def _load_standard(text: str, roots: list[yaml.Mark]) -> Iterator[Any]:
    """``yaml.load_all(text, Loader=_Loader)``, step by step as it does it, recording the start
    mark of every document's root node in ``roots``."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            roots.append(node.start_mark)
            yield loader.construct_document(node)
    finally:
        loader.dispose()


def _objects(name: str, i: int, data: Any, docs: list[Document]) -> None:
    """The objects of one document: itself, or the items of a ``kind: List`` / typed list."""
    if data is None:
        return
    if not isinstance(data, dict):
        docs.append(Document(name, i, (), data))
        return
    kind = data.get("kind")
    if not (isinstance(kind, str) and kind.endswith("List") and "items" in data):
        docs.append(Document(name, i, (), data))
        return
    items = data["items"]
    if items is None:  # ``items: null``: an empty list, as the API server reads it
        return
    if not isinstance(items, list):
        docs.append(Document(name, i, ("items",), items))
        return
    item_kind = kinds.item_kind(kind)
    for j, item in enumerate(items):
        if item is None:
            continue
        if item_kind is not None and isinstance(item, dict):
            # a typed list (PodList): apimachinery gives its items the list's kind
            if "kind" not in item:
                item["kind"] = item_kind
            if "apiVersion" not in item and "apiVersion" in data:
                item["apiVersion"] = data["apiVersion"]
        docs.append(Document(name, i, ("items", j), item))


def _parse_json(src: SourceText) -> tuple[list[Document], list[Diagnostic], list[tuple[int, int]]]:
    docs: list[Document] = []
    try:
        loaded = jsonstream.load(src.text)
    except jsonstream.JsonError as exc:
        # an error at the end of a truncated text is placed past its last line: report that line
        line = min(exc.line, max(1, src.text.count("\n") + (0 if src.text.endswith("\n") else 1)))
        return [], [Diagnostic(severity=Severity.ERROR, code="yaml", message=f"invalid JSON: {exc}",
                               file=src.name, line=line)], []
    for i, d in enumerate(loaded):
        _objects(src.name, i, d.data, docs)
    return docs, [], [(d.start, d.end) for d in loaded]


def parse_source(src: SourceText, locator: Locator | None = None) -> tuple[list[Document], list[Diagnostic]]:
    """Split a source into objects; every problem becomes a diagnostic, never an exception.

    ``locator``, when given, learns the source (and, for JSON, where each object is)."""
    if jsonstream.looks_like_json(src.text):
        json_docs, json_diags, spans = _parse_json(src)
        if locator is not None:
            locator.add(src, spans)
        return json_docs, json_diags
    diags: list[Diagnostic] = []
    fast = _load_fast(src)
    loaded, roots = fast if fast is not None else (None, [])
    if loaded is None:
        bad = _check_structure(src, diags)
        if bad is not None:
            if locator is not None:
                locator.add(src)
            return [], [bad]
    docs: list[Document] = []
    complete = False
    try:
        for i, data in enumerate(_load_standard(src.text, roots) if loaded is None else loaded):
            _objects(src.name, i, data, docs)
        complete = True
    except yaml.YAMLError as exc:
        diags.append(_yaml_error(src, exc))
    except RecursionError:
        diags.append(
            Diagnostic(
                severity=Severity.ERROR,
                code="yaml",
                message="YAML nested too deeply to read",
                file=src.name,
            )
        )
    if locator is not None:
        # Where the documents start is known only when every one of them was read; otherwise
        # the locator composes the whole text, keeping the documents before the error.
        locator.add(src, roots=[(m.index, m.line, m.column) for m in roots] if complete else None)
    return docs, diags


def type_name(value: object) -> str:
    """A user-facing name for a YAML value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


class _Composer(_BaseLoader):  # type: ignore[misc]
    """LibYAML's composer for the :class:`Locator`: only the nodes' shape, values and marks are
    used, so scalars get no resolved tag (resolving, in Python, is a third of composing)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        return ""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while composing: the node tree of a big file is
    hundreds of thousands of objects that all live on, and the collections their allocation
    triggers (each walking every object alive) cost four times the composing itself."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_Tree = tuple[int, Any]
"""A composed document as the :class:`Locator` keeps it: ``(0-based line, payload)`` per node,
the payload being the scalar's text, a tuple of the items of a sequence, or a dict of a
mapping's ``{key text: (0-based key line, value)}`` (the first of a repeated key). Plain tuples,
dicts and strings, which the garbage collector stops tracking: PyYAML's node objects, kept for
thousands of documents, made each collection walk them all again (4x the composing)."""


def _compact(root: yaml.Node) -> _Tree:
    """``root`` as a :data:`_Tree`."""
    try:
        return _compact_fast(root)
    except RecursionError:  # nested deeper than Python's stack (or a recursive alias)
        return _compact_deep(root)


def _compact_fast(node: yaml.Node) -> _Tree:
    cls = node.__class__
    if cls is yaml.ScalarNode:
        return (node.start_mark.line, node.value)
    if cls is yaml.MappingNode:
        pairs: dict[str, tuple[int, _Tree]] = {}
        for k, v in node.value:
            if k.__class__ is yaml.ScalarNode and k.value not in pairs:
                pairs[k.value] = (k.start_mark.line, _compact_fast(v))
        return (node.start_mark.line, pairs)
    return (node.start_mark.line, tuple(map(_compact_fast, node.value)))


def _compact_deep(root: yaml.Node) -> _Tree:
    """:func:`_compact` without recursion (documents may nest up to :data:`MAX_DEPTH`). A node
    inside itself (a recursive alias) is kept there as a leaf: ``(line, None)``."""
    done: dict[int, _Tree] = {}
    open_: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack[-1]
        if id(node) in done:
            stack.pop()
            continue
        line = node.start_mark.line
        if isinstance(node, yaml.ScalarNode):
            done[id(node)] = (line, node.value)
            stack.pop()
            continue
        children = [v for _, v in node.value] if isinstance(node, yaml.MappingNode) else list(node.value)
        if id(node) not in open_:
            open_.add(id(node))
            stack.extend(c for c in children if id(c) not in done and id(c) not in open_)
            continue
        stack.pop()
        open_.discard(id(node))
        if isinstance(node, yaml.MappingNode):
            pairs: dict[str, tuple[int, _Tree]] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value not in pairs:
                    pairs[k.value] = (k.start_mark.line, done.get(id(v), (v.start_mark.line, None)))
            done[id(node)] = (line, pairs)
        else:
            done[id(node)] = (line, tuple(done.get(id(c), (c.start_mark.line, None)) for c in children))
    return done[id(root)]


def _compose_first(text: str) -> yaml.Node | None:
    """The root node of the first document of ``text`` (None for a text with no document);
    raises a ``yaml.YAMLError`` (or ``RecursionError``) for a text that is not YAML up to it."""
    loader = _Composer(text)
    try:
        return loader.get_node() if loader.check_node() else None
    finally:
        loader.dispose()


@dataclass
class Locator:
    """Find the line of a field path inside a source, composing node trees on demand.

    Only the document asked for is composed, from where its root node starts to where the next
    document's root starts: the loader records those marks (LibYAML's own, so a ``---`` inside
    a block scalar or a quoted string can never be taken for a document marker). A JSON source
    is composed object by object (JSON is YAML), each at its offset in the text. A source whose
    marks are not known (it did not load completely) is composed whole, once, keeping the
    documents before an error."""

    texts: dict[str, str] = field(default_factory=dict)
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    """JSON sources: the (start, end) offsets of each object."""
    roots: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    """YAML sources: the (index, line, column) mark where each document's root node starts."""
    _docs: dict[tuple[str, int], tuple[int, _Tree | None]] = field(default_factory=dict)
    _trees: dict[str, list[tuple[int, _Tree | None]]] = field(default_factory=dict)

    def add(
        self,
        src: SourceText,
        spans: list[tuple[int, int]] | None = None,
        roots: list[tuple[int, int, int]] | None = None,
    ) -> None:
        self.texts[src.name] = src.text
        self.spans.pop(src.name, None)
        self.roots.pop(src.name, None)
        if spans is not None:
            self.spans[src.name] = spans
        if roots is not None:
            self.roots[src.name] = roots
        self._trees.pop(src.name, None)
        for key in [k for k in self._docs if k[0] == src.name]:
            del self._docs[key]

    def _tree(self, name: str) -> list[tuple[int, _Tree | None]]:
        """(line offset, root) per document, composing the whole text."""
        tree = self._trees.get(name)
        if tree is None:
            tree = []
            # Keep the documents composed before a syntax error: their lines are still right.
            try:
                with _no_gc():
                    for node in yaml.compose_all(self.texts.get(name, ""), Loader=_Composer):
                        tree.append((0, _compact(node)))
            except (yaml.YAMLError, RecursionError):
                pass
            self._trees[name] = tree
        return tree

    def _doc(self, name: str, doc: int) -> tuple[int, _Tree | None] | None:
        """(line offset, root) of one document, None if the source has no such document. The
        root is None for a JSON object that YAML cannot compose (a surrogate pair escape)."""
        hit = self._docs.get((name, doc))
        if hit is not None:
            return hit
        text = self.texts.get(name)
        if text is None or doc < 0:
            return None
        spans = self.spans.get(name)
        roots = self.roots.get(name)
        if spans is not None:
            if doc >= len(spans):
                return None
            start, end = spans[doc]
            one: _Tree | None
            try:
                node = _compose_first(text[start:end])
                one = _compact(node) if node is not None else None
            except (yaml.YAMLError, RecursionError):
                one = None
            hit = (text.count("\n", 0, start), one)
        elif roots is not None and doc >= len(roots):
            return None
        elif roots is not None and (found := self._slice(text, roots, doc)) is not None:
            hit = found
        else:
            tree = self._tree(name)
            if doc >= len(tree):
                return None
            hit = tree[doc]
        self._docs[(name, doc)] = hit
        return hit

    @staticmethod
    def _slice(text: str, roots: list[tuple[int, int, int]], doc: int) -> tuple[int, _Tree] | None:
        """Compose document ``doc`` alone: the text from the start of its root node's line to the
        start of the next root node's line (the next document's ``---`` is on that line or
        before it). None, for the caller to compose the whole text, if that text does not give
        a root node exactly where the whole text has it (a ``%TAG`` directive left behind)."""
        index, line, column = roots[doc]
        start = index - column
        end = roots[doc + 1][0] - roots[doc + 1][2] if doc + 1 < len(roots) else len(text)
        try:
            node = _compose_first(text[start:end])
        except (yaml.YAMLError, RecursionError):
            return None
        if node is None:
            return None
        mark = node.start_mark
        if (mark.index, mark.line, mark.column) != (column, 0, column):
            return None
        return line, _compact(node)

    def _at(self, name: str, doc: int, path: Iterable[str | int]) -> _Tree | None:
        """The node at exactly ``path`` (None if the path does not exist)."""
        hit = self._doc(name, doc)
        if hit is None or hit[1] is None:
            return None
        node: _Tree = hit[1]
        for step in path:
            payload = node[1]
            if isinstance(payload, dict) and isinstance(step, str) and step in payload:
                node = payload[step][1]
            elif isinstance(payload, tuple) and isinstance(step, int) and 0 <= step < len(payload):
                node = payload[step]
            else:
                return None
        return node

    def scalar(self, name: str, doc: int, path: Iterable[str | int]) -> str | None:
        """The text of the scalar at ``path`` as written (``0123``, ``yes``, ``1e3``), or None."""
        node = self._at(name, doc, path)
        return node[1] if node is not None and isinstance(node[1], str) else None

    def line(self, name: str, doc: int, path: Iterable[str | int]) -> int:
        """1-based line of the deepest node on ``path`` that exists (0 if unknown).

        A field is found at the line of its key (``podSelector:``), even when its value starts
        on the next line; a list item at the line of the item.
        """
        hit = self._doc(name, doc)
        if hit is None:
            return 0
        offset, root = hit
        if root is None:
            # a JSON object YAML cannot compose (a surrogate pair escape): its first line
            return offset + 1 if name in self.spans else 0
        node = root
        line = node[0]
        for step in path:
            payload = node[1]
            if isinstance(payload, dict) and isinstance(step, str) and step in payload:
                line, node = payload[step]
            elif isinstance(payload, tuple) and isinstance(step, int) and 0 <= step < len(payload):
                node = payload[step]
                line = node[0]
            else:
                break
        return line + 1 + offset
