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

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without LibYAML
    _Loader = yaml.SafeLoader

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MAX_ALIASES = 1000
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
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise InputError(f"{name}:{line}: binary data (a NUL byte) where YAML or JSON text was expected")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{name}:{line}: not UTF-8 text (binary data?): {exc.reason}") from None


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


def _yaml_error(name: str, exc: yaml.YAMLError) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 0
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    msg = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return Diagnostic(severity=Severity.ERROR, code="yaml", message=msg, file=name, line=line)


def _check_aliases(src: SourceText) -> Diagnostic | None:
    """Refuse alias bombs and recursive aliases before anything expands them."""
    if "&" not in src.text or "*" not in src.text:
        return None
    open_anchors: list[str | None] = []
    aliases = 0
    try:
        for ev in yaml.parse(src.text, Loader=_Loader):
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                open_anchors.append(ev.anchor)
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                open_anchors.pop()
            elif isinstance(ev, yaml.AliasEvent):
                aliases += 1
                line = ev.start_mark.line + 1 if ev.start_mark is not None else 0
                if ev.anchor in open_anchors:
                    return Diagnostic(
                        severity=Severity.ERROR,
                        code="yaml",
                        message=f"recursive YAML alias *{ev.anchor} refers to a node that contains it",
                        file=src.name,
                        line=line,
                    )
                if aliases > MAX_ALIASES:
                    return Diagnostic(
                        severity=Severity.ERROR,
                        code="yaml",
                        message=f"more than {MAX_ALIASES} YAML aliases: refusing a possible alias bomb",
                        file=src.name,
                        line=line,
                    )
    except yaml.YAMLError as exc:
        return _yaml_error(src.name, exc)
    return None


def parse_source(src: SourceText) -> tuple[list[Document], list[Diagnostic]]:
    """Split a source into objects; every problem becomes a diagnostic, never an exception."""
    bad = _check_aliases(src)
    if bad is not None:
        return [], [bad]
    docs: list[Document] = []
    diags: list[Diagnostic] = []
    try:
        for i, data in enumerate(yaml.load_all(src.text, Loader=_Loader)):
            if data is None:
                continue
            if not isinstance(data, dict):
                docs.append(Document(src.name, i, (), data))
                continue
            kind = data.get("kind")
            items = data.get("items")
            if isinstance(kind, str) and kind.endswith("List") and "items" in data:
                if not isinstance(items, list):
                    docs.append(Document(src.name, i, ("items",), items))
                    continue
                for j, item in enumerate(items):
                    if item is not None:
                        docs.append(Document(src.name, i, ("items", j), item))
            else:
                docs.append(Document(src.name, i, (), data))
    except yaml.YAMLError as exc:
        diags.append(_yaml_error(src.name, exc))
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
            try:
                tree = list(yaml.compose_all(self.texts.get(name, ""), Loader=_Loader))
            except (yaml.YAMLError, RecursionError):
                tree = []
            self._trees[name] = tree
        return tree

    def line(self, name: str, doc: int, path: Iterable[str | int]) -> int:
        """1-based line of the deepest node on ``path`` that exists (0 if unknown)."""
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
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if 0 <= step < len(node.value):
                    nxt = node.value[step]
            if nxt is None:
                break
            node = nxt
            if not isinstance(node, yaml.ScalarNode) or isinstance(step, int):
                line = node.start_mark.line + 1
        return line
