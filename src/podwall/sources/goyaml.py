"""YAML read as kubectl reads it: go-yaml v2's scalar rules, then sigs.k8s.io/yaml's JSON step.

kubectl and the API server never see YAML: ``sigs.k8s.io/yaml`` unmarshals it with go-yaml v2
(strictly: a repeated key is an error) and re-encodes the result as JSON. So a plain scalar
means what go-yaml v2's ``resolve`` makes of it, not what YAML 1.1 (PyYAML) or 1.2 say:

* ``null``/``Null``/``NULL``/``~``/empty, booleans ``y Y yes Yes YES on On ON true True TRUE``
  (and their negatives ``n no off false``, same spellings), ``.inf``/``.nan`` (which JSON cannot
  hold: an error), ``<<`` (merge);
* for a scalar starting with a digit or a sign: Go's ``strconv.ParseInt(s, 0, 64)`` after
  removing every ``_`` (so ``0x1F``, ``0o120``, ``0b101``, ``+80``, and ``0123`` = 83 octal),
  then ``ParseUint``, then a float if it matches ``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?``
  (so ``0080`` = 80.0, ``1e3`` = 1000.0 and a pod-template-hash like ``2372039e9`` is a float);
* for one starting with ``.``: Go's ``ParseFloat`` (``.5``);
* anything else, quoted scalars and timestamps: strings.

The JSON step turns map keys into strings (``80`` → ``"80"``, ``yes`` → ``"true"``; a null key is
an error) and refuses NaN and infinities. The ground truth is Go itself: ``tests/vectors/``.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import math
import struct
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

GO_TAG = "tag:podwall,2026:go-plain"
"""The tag podwall's resolver gives a plain scalar that go-yaml v2 might read as a non-string."""
STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
_YAML = "tag:yaml.org,2002:"

from podwall.core.goscalars import (  # noqa: E402 - (kept next to what uses them)
    _NAN,
    _NEG_INF,
    _NUMBER_START,
    _POS_INF,
    _RESOLVE_MAP,
    HINT_CHARS,
    needs_quotes,
    resolve_plain,
)


class NotJSON(ValueError):
    """A value that sigs.k8s.io/yaml cannot turn into JSON (NaN, an infinity, a null map key)."""


def _special(value: object, text: str) -> object:
    if value is _NAN or value is _POS_INF or value is _NEG_INF:
        shown = {id(_NAN): "NaN", id(_POS_INF): "+Inf", id(_NEG_INF): "-Inf"}[id(value)]
        raise NotJSON(f"{text} cannot be converted to JSON (kubectl: json: unsupported value: {shown}); "
                      f'quote it if it is a string: "{text}"')
    return value


def _go_replace(exc: UnicodeError) -> tuple[str, int]:
    """Go replaces each byte of an invalid UTF-8 sequence by U+FFFD (``encoding/json``)."""
    assert isinstance(exc, UnicodeDecodeError)
    return "\ufffd", exc.start + 1


codecs.register_error("podwall-go-replace", _go_replace)


def go_string_from_bytes(raw: bytes) -> str:
    return raw.decode("utf-8", "podwall-go-replace")


def resolve_tagged(tag: str, text: str) -> object:
    """A scalar with an explicit standard tag (``!!int "80"``), as go-yaml v2 decodes it."""
    short = tag[len(_YAML):] if tag.startswith(_YAML) else tag
    if short == "str":
        return text
    if short == "binary":
        try:
            raw = base64.b64decode(text.replace("\n", "").replace("\r", "").replace(" ", ""), validate=True)
        except (binascii.Error, ValueError):
            raise NotJSON("!!binary value contains invalid base64 data") from None
        return go_string_from_bytes(raw)
    if short not in ("bool", "int", "float", "null", "timestamp"):
        return text  # go-yaml v2 passes a scalar with a tag it does not resolve through as text
    out = resolve_plain(text) if (text and text[0] in HINT_CHARS) or not text else text
    if out is _NAN or out is _POS_INF or out is _NEG_INF:
        got = "float"
    elif out is None:
        got = "null"
    elif isinstance(out, bool):
        got = "bool"
    elif isinstance(out, int):
        got = "int"
    elif isinstance(out, float):
        got = "float"
    else:
        got = "str"
    if short == "timestamp" or got == short:
        return out
    if short == "float" and got == "int":
        assert isinstance(out, int)
        return float(out)
    raise NotJSON(f"cannot decode !!{got} `{text}` as a !!{short}")


def _float32_g(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 32)``: shortest digits that round-trip as float32."""
    if math.isnan(f):
        return ".nan"
    if math.isinf(f):
        return ".inf" if f > 0 else "-.inf"
    try:
        f32 = struct.unpack("f", struct.pack("f", f))[0]
    except OverflowError:  # beyond float32: Go's conversion gives an infinity
        return ".inf" if f > 0 else "-.inf"
    if math.isinf(f32):
        return ".inf" if f32 > 0 else "-.inf"
    if f32 == 0:
        return "-0" if math.copysign(1, f32) < 0 else "0"
    for p in range(1, 10):
        s = f"{f32:.{p - 1}e}"
        if struct.unpack("f", struct.pack("f", float(s)))[0] == f32:
            break
    mant, _, exp_s = s.partition("e")
    exp = int(exp_s)
    digits = mant.replace(".", "").lstrip("-")
    sign = "-" if mant.startswith("-") else ""
    if exp < -4 or exp >= 6:
        tail = ("." + digits[1:]) if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{tail}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp >= 0:
        whole = digits[: exp + 1].ljust(exp + 1, "0")
        frac = digits[exp + 1:]
        return sign + whole + ("." + frac if frac else "")
    return sign + "0." + "0" * (-exp - 1) + digits


def json_key(key: object) -> str:
    """A YAML map key as sigs.k8s.io/yaml writes it into JSON."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _float32_g(key)
    shown = "<nil>" if key is None else type(key).__name__
    raise NotJSON(f"a map key of type {shown} cannot be converted to JSON (kubectl: Unsupported map key)")


def _identity(key: object) -> tuple[type, object]:
    """Go compares map keys by type and value: ``1``, ``true`` and ``"1"`` are three keys."""
    return (type(key), key)


class GoConstructorMixin:
    """Constructors for :class:`yaml.SafeLoader`-like classes that read scalars as go-yaml v2."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            if implicit[0]:
                if value == "<<":
                    return MERGE_TAG
                # a word (y, no, null...) is not a string only if it is one of the table's; a
                # number starts with a sign, a digit or a dot
                if not value or value[0] in _NUMBER_START or value in _RESOLVE_MAP:
                    return GO_TAG
            return STR_TAG
        return super().resolve(kind, value, implicit)  # type: ignore[misc]

    # podwall adds no path resolvers: LibYAML's composer calls these for every node
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def construct_go_plain(self, node: ScalarNode) -> object:
        try:
            return _special(resolve_plain(node.value), node.value)
        except NotJSON as exc:
            raise ConstructorError(None, None, str(exc), node.start_mark) from None

    def construct_go_tagged(self, node: Node) -> object:
        if not isinstance(node, ScalarNode):
            return self.construct_undefined_collection(node)
        try:
            return _special(resolve_tagged(node.tag, node.value), node.value)
        except NotJSON as exc:
            raise ConstructorError(None, None, str(exc), node.start_mark) from None

    def construct_undefined_collection(self, node: Node) -> object:
        if isinstance(node, MappingNode):
            return self.construct_mapping(node)
        return [self.construct_object(x) for x in node.value]  # type: ignore[attr-defined]

    def flatten_mapping(self, node: MappingNode) -> None:
        """Expand ``<<`` merges in place, in order, keeping every pair (a key brought twice stays
        twice, so that :meth:`construct_mapping` refuses it as go-yaml v2's strict mode does)."""
        merged: list[tuple[Node, Node]] = []
        own: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != MERGE_TAG:
                own.append((key_node, value_node))
                continue
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            if not isinstance(value_node, (MappingNode, SequenceNode)):
                sources = [None]
            for sub in sources:
                if not isinstance(sub, MappingNode):
                    raise ConstructorError(None, None, "map merge requires map or sequence of maps as the value",
                                           value_node.start_mark)
                self.flatten_mapping(sub)
                merged.extend(sub.value)
        node.value = merged + own

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[str, Any]:
        """A mapping with strict go-yaml v2 semantics: a repeated key (also one brought in by a
        ``<<`` merge) is an error, keys become JSON strings."""
        if not isinstance(node, MappingNode):
            raise ConstructorError(None, None, f"expected a mapping node, but found {node.id}", node.start_mark)
        self.flatten_mapping(node)
        out: dict[str, Any] = {}
        seen: dict[tuple[type, object], Node] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
            try:
                ident = _identity(key)
                hash(ident)
            except TypeError:
                raise ConstructorError(None, None, "a map key that is a list or a mapping cannot be converted "
                                       "to JSON", key_node.start_mark) from None
            first = seen.get(ident)
            if first is not None:
                raise ConstructorError(
                    None, None,
                    f"key {key_text(key)} already set in map (first at line {first.start_mark.line + 1})",
                    key_node.start_mark,
                )
            seen[ident] = key_node
            try:
                out[json_key(key)] = self.construct_object(value_node, deep=deep)  # type: ignore[attr-defined]
            except NotJSON as exc:
                raise ConstructorError(None, None, str(exc), key_node.start_mark) from None
        return out


def key_text(key: object) -> str:
    if isinstance(key, str):
        return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return json_key(key) if not isinstance(key, float) else repr(key)


def install(loader_cls: type) -> None:
    """Register go-yaml v2's constructors on ``loader_cls`` (a subclass of GoConstructorMixin)."""
    loader_cls.add_constructor(GO_TAG, GoConstructorMixin.construct_go_plain)  # type: ignore[attr-defined]
    for t in ("bool", "int", "float", "null", "str", "binary", "timestamp"):
        loader_cls.add_constructor(_YAML + t, GoConstructorMixin.construct_go_tagged)  # type: ignore[attr-defined]
    loader_cls.add_constructor(MERGE_TAG, lambda _loader, _node: "<<")  # type: ignore[attr-defined]
    loader_cls.add_constructor(None, GoConstructorMixin.construct_go_tagged)  # type: ignore[attr-defined]
    loader_cls.add_constructor(_YAML + "map", GoConstructorMixin.construct_mapping)  # type: ignore[attr-defined]


try:
    _BaseDumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without LibYAML
    _BaseDumper = yaml.SafeDumper


class SafeDumper(_BaseDumper):  # type: ignore[misc]
    """PyYAML's safe dumper, quoting every string that kubectl would not read back as a string
    (PyYAML quotes only what YAML 1.1 resolves, so it writes ``y``, ``n`` and ``2372039e9`` bare),
    and never writing an anchor or alias (kubectl writes none)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if needs_quotes(data):
        return dumper.represent_scalar(STR_TAG, data, style='"')
    return dumper.represent_str(data)


SafeDumper.add_representer(str, _represent_str)


def dump_all(documents: Any, stream: Any = None, **kwargs: Any) -> Any:
    """``yaml.dump_all`` with :class:`SafeDumper`: YAML that kubectl reads back unchanged."""
    return yaml.dump_all(documents, stream, Dumper=SafeDumper, **kwargs)


__all__ = [
    "GO_TAG",
    "GoConstructorMixin",
    "NotJSON",
    "SafeDumper",
    "dump_all",
    "install",
    "json_key",
    "needs_quotes",
    "resolve_plain",
    "resolve_tagged",
]
