"""Read manifests: files, directories and stdin, into YAML documents that can tell their lines.

Parsing uses PyYAML's LibYAML loader (``CSafeLoader``) on the fast path. Line numbers are not
kept while loading (that would slow the common, valid case); a :class:`Locator` composes a file's
node tree only when a diagnostic or a lint finding needs a line, and maps a field path to it.

Hostile input is refused with a one-line error instead of a hang or a traceback: non-UTF-8 or
binary bytes, alias bombs (many aliases) and recursive aliases, and nesting too deep to walk.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import yaml

from podwall.errors import Diagnostic, InputError, Severity
from podwall.sources import fastyaml

try:
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without LibYAML
    _BaseLoader = yaml.SafeLoader


class _Loader(_BaseLoader):  # type: ignore[misc]
    """PyYAML's safe loader, with plain scalars kubectl reads as strings kept as strings.

    kubectl converts YAML with go-yaml v2 (``sigs.k8s.io/yaml``), which hands timestamps to
    an untyped target as their text, knows no ``=`` value tag and no base-60 numbers. PyYAML
    would make ``2024-01-01`` a date, ``10:30`` the integer 630 and fail on ``=``, so a label or
    annotation that the API server accepts would be refused.
    """


def _as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


def _int_unless_base60(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    if ":" in str(node.value):
        return _as_text(loader, node)
    return loader.construct_yaml_int(node)  # type: ignore[arg-type]


def _float_unless_base60(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    if ":" in str(node.value):
        return _as_text(loader, node)
    return loader.construct_yaml_float(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)
_Loader.add_constructor("tag:yaml.org,2002:value", _as_text)
_Loader.add_constructor("tag:yaml.org,2002:int", _int_unless_base60)
_Loader.add_constructor("tag:yaml.org,2002:float", _float_unless_base60)
_FastLoader = fastyaml.memoising(_Loader)

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


def _decode_bytes(name: str, raw: bytes) -> str:
    """UTF-8 text, or an ``InputError`` at the line of the first byte that is not text."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    nul = raw.find(b"\x00")
    text: str | None = None
    bad_utf8 = -1
    reason = ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_utf8, reason = exc.start, exc.reason
    if nul >= 0 and (bad_utf8 < 0 or nul < bad_utf8):
        line = raw.count(b"\n", 0, nul) + 1
        raise InputError(f"{name}:{line}: binary data (a NUL byte) where YAML or JSON text was expected")
    if text is None:
        line = raw.count(b"\n", 0, bad_utf8) + 1
        raise InputError(f"{name}:{line}: not UTF-8 text (binary data?): {reason}")
    return text


def read_sources(paths: Iterable[str], stdin: BinaryIO | None = None) -> list[SourceText]:
    """Read every manifest named by ``paths`` (files, directories recursively, ``-``)."""
    out: list[SourceText] = []
    for p in _expand(paths):
        if p == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            out.append(SourceText("<stdin>", _decode_bytes("<stdin>", stream.read())))
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
        out.append(SourceText(p, _decode_bytes(p, raw)))
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

    It also warns (into ``warnings``) about a key repeated in one mapping: the later value
    silently replaces the earlier one, as in kubectl's YAML reader, which can hide a rule.
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
                if parent[2] is not None and parent[3] % 2 == 0 and isinstance(ev, yaml.ScalarEvent):
                    _note_key(src, parent[2], ev, warnings)
                parent[3] += 1
    except yaml.YAMLError as exc:
        return _yaml_error(src, exc)
    return None


def _note_key(src: SourceText, seen: dict[str, int], ev: yaml.ScalarEvent, warnings: list[Diagnostic]) -> None:
    key, line = ev.value, _line(ev)
    if key == "<<":  # merge keys may repeat
        return
    first = seen.get(key)
    if first is None:
        seen[key] = line
        return
    warnings.append(
        Diagnostic(
            severity=Severity.WARNING,
            code="duplicate-key",
            message=f'key "{key}" is repeated (first at line {first}): the later value replaces the earlier one',
            file=src.name,
            line=line,
        )
    )


def _load_fast(src: SourceText) -> list[Any] | None:
    """Every document of ``src`` the fast way (:mod:`fastyaml`), or None when the standard way
    (structure pre-pass, then ``yaml.load_all``) must read it: anchors, deep nesting, a repeated
    key, or any YAML error. Same objects as the standard way, about twice as fast on big inputs."""
    if not fastyaml.usable(src.text):
        return None
    try:
        return list(fastyaml.load_all(src.text, _FastLoader))
    except (fastyaml.Slow, yaml.YAMLError, RecursionError):
        return None


def parse_source(src: SourceText) -> tuple[list[Document], list[Diagnostic]]:
    """Split a source into objects; every problem becomes a diagnostic, never an exception."""
    diags: list[Diagnostic] = []
    loaded = _load_fast(src)
    if loaded is None:
        bad = _check_structure(src, diags)
        if bad is not None:
            return [], [bad]
    docs: list[Document] = []
    try:
        for i, data in enumerate(yaml.load_all(src.text, Loader=_Loader) if loaded is None else loaded):
            if data is None:
                continue
            if not isinstance(data, dict):
                docs.append(Document(src.name, i, (), data))
                continue
            kind = data.get("kind")
            items = data.get("items")
            if isinstance(kind, str) and kind.endswith("List") and "items" in data:
                if items is None:  # ``items: null``: an empty list, as the API server reads it
                    continue
                if not isinstance(items, list):
                    docs.append(Document(src.name, i, ("items",), items))
                    continue
                for j, item in enumerate(items):
                    if item is not None:
                        docs.append(Document(src.name, i, ("items", j), item))
            else:
                docs.append(Document(src.name, i, (), data))
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


@dataclass
class Locator:
    """Find the line of a field path inside a source, composing its node tree on demand."""

    texts: dict[str, str] = field(default_factory=dict)
    _trees: dict[str, list[yaml.Node]] = field(default_factory=dict)

    def add(self, src: SourceText) -> None:
        self.texts[src.name] = src.text

    def _tree(self, name: str) -> list[yaml.Node]:
        tree = self._trees.get(name)
        if tree is None:
            # Keep the documents composed before a syntax error: their lines are still right.
            tree = []
            try:
                for node in yaml.compose_all(self.texts.get(name, ""), Loader=_Loader):
                    tree.append(node)
            except (yaml.YAMLError, RecursionError):
                pass
            self._trees[name] = tree
        return tree

    def line(self, name: str, doc: int, path: Iterable[str | int]) -> int:
        """1-based line of the deepest node on ``path`` that exists (0 if unknown).

        A field is found at the line of its key (``podSelector:``), even when its value starts
        on the next line; a list item at the line of the item.
        """
        if name not in self.texts:
            return 0
        tree = self._tree(name)
        if doc >= len(tree) or tree[doc] is None:
            return 0
        node: yaml.Node = tree[doc]
        line = node.start_mark.line + 1
        for step in path:
            nxt: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == step:
                        nxt = v
                        line = k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
                nxt = node.value[step]
            if nxt is None:
                break
            node = nxt
            if isinstance(step, int):
                line = node.start_mark.line + 1
        return line
