"""JSON input as kubectl reads it: one object, or a stream of them (concatenated, or NDJSON).

kubectl's ``YAMLOrJSONDecoder`` takes an input whose first non-blank character is ``{`` as JSON
and decodes objects one after the other until the end (what ``jq -c '.items[]'`` writes).
Anything else is YAML. JSON is then JSON: no trailing comma, no comments, no ``NaN``, and (as
with kubectl's strict decoding) no key repeated in one object.

The fast path is orjson for the whole text (or per line for NDJSON), with a cheap count that
proves no key was repeated; only when it fails does the standard library's decoder run, to find
the objects of a concatenated stream or to report the error with its own message, line and
column. Positions are never kept for valid input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

_fast_loads: Any = orjson.loads
_FastError: type[Exception] = orjson.JSONDecodeError

_JSON_START = re.compile(r"[ \t\r\n]*\{")
_WS = re.compile(r"[ \t\r\n]*")
_SPACE_BEFORE_COLON = re.compile(r'"[ \t\r\n]+:')


def looks_like_json(text: str) -> bool:
    """kubectl's test (``hasJSONPrefix``): the first non-blank character is ``{``."""
    return _JSON_START.match(text) is not None


@dataclass
class JsonDoc:
    data: Any
    start: int
    """Offset of the object's first character in the text."""
    end: int


class JsonError(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message, self.line, self.column = message, line, column


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _Duplicate(k)
            seen.add(k)
    return out


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _big_int(text: str) -> int | float:
    """Go decodes an integer outside int64 as a float64 (``sigs.k8s.io/json``)."""
    n = int(text)
    return n if -(2**63) <= n < 2**63 else float(text)


_DECODER = json.JSONDecoder(parse_constant=_constant, object_pairs_hook=_pairs, parse_int=_big_int)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _keys_in(text: str) -> int:
    """Keys in a JSON text whose strings hold no ``\\"`` (see :func:`_no_repeated_key`)."""
    return text.count('":') - text.count('\\":')


def _no_repeated_key(text: str, objs: list[Any]) -> bool:
    """True when provably no object of ``text`` repeats a key (orjson keeps the last silently).

    Every key ends with ``":``, and inside a string a ``"`` is escaped, so that (unless a key
    ends in a backslash or has blanks before its colon) the keys of a text are
    ``count('":') - count('\\":')``. orjson writes the parsed objects back the same way; if a
    key was repeated, it writes fewer keys. (Any other difference, such as a ``\\u0022`` in the
    input, also sends the text to the exact check.)
    """
    if '\\\\"' in text or _SPACE_BEFORE_COLON.search(text):
        return False
    again = orjson.dumps(objs)  # (the list around them adds no key)
    return _keys_in(text) == again.count(b'":') - again.count(b'\\":')


def _slow(text: str) -> list[JsonDoc]:
    """Every object of a stream, with the standard library's errors (line and column)."""
    docs: list[JsonDoc] = []
    idx = _WS.match(text, 0).end()  # type: ignore[union-attr]
    while idx < len(text):
        try:
            obj, end = _DECODER.raw_decode(text, idx)
        except json.JSONDecodeError as exc:
            raise JsonError(exc.msg, exc.lineno, exc.colno) from None
        except RecursionError:
            line, col = _position(text, idx)
            raise JsonError("nested too deeply to read", line, col) from None
        except _Duplicate as exc:
            at = text.find(json.dumps(exc.key), idx)
            at = text.find(json.dumps(exc.key), at + 1) if at >= 0 else idx
            line, col = _position(text, max(at, idx))
            raise JsonError(f"duplicate key {json.dumps(exc.key)} in an object", line, col) from None
        except ValueError as exc:  # NaN, Infinity
            m = re.compile(r"-?(?:NaN|Infinity)").search(text, idx)
            line, col = _position(text, m.start() if m else idx)
            raise JsonError(str(exc), line, col) from None
        docs.append(JsonDoc(obj, idx, end))
        idx = _WS.match(text, end).end()  # type: ignore[union-attr]
    return docs


def load(text: str) -> list[JsonDoc]:
    """The objects of a JSON text (one, or a stream). Raises :class:`JsonError`."""
    try:
        obj = _fast_loads(text)
    except _FastError:
        pass
    else:
        if _no_repeated_key(text, [obj]):
            return [JsonDoc(obj, _WS.match(text).end(), len(text))]  # type: ignore[union-attr]
        return _slow(text)
    # NDJSON: one object per line
    docs: list[JsonDoc] = []
    pos = 0
    try:
        for line in text.splitlines(keepends=True):
            if line.strip():
                docs.append(JsonDoc(_fast_loads(line), pos, pos + len(line)))
            pos += len(line)
    except _FastError:
        return _slow(text)
    if _no_repeated_key(text, [d.data for d in docs]):
        return docs
    return _slow(text)
