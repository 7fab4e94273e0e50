"""How go-yaml v2 reads a plain YAML scalar (pure: the standard library only).

kubectl reads YAML with go-yaml v2 (``sigs.k8s.io/yaml``): a plain scalar means what its
``resolve`` makes of it. :func:`resolve_plain` is that function; :func:`needs_quotes` tells a
writer which strings must be quoted so that kubectl reads them back as strings. The YAML
reader (:mod:`podwall.sources.goyaml`) and the fix writer (:mod:`podwall.report.fixes`) share
it. The ground truth is Go itself: ``tests/vectors/``.
"""

from __future__ import annotations

import functools
import math
import re

_NAN = object()
_POS_INF = object()
_NEG_INF = object()
_RESOLVE_MAP: dict[str, object] = {}
for _v, _words in (
    (True, ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")),
    (False, ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")),
    (None, ("", "~", "null", "Null", "NULL")),
    (_NAN, (".nan", ".NaN", ".NAN")),
    (_POS_INF, (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")),
    (_NEG_INF, ("-.inf", "-.Inf", "-.INF")),
):
    for _w in _words:
        _RESOLVE_MAP[_w] = _v
HINT_CHARS = frozenset("+-0123456789yYnNtTfFoO~.")
"""go-yaml v2's ``resolveTable``: a plain scalar starting with any other character is a string."""
_NUMBER_START = frozenset("+-0123456789.")
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
_DIGITS = {2: frozenset("01"), 8: frozenset("01234567"), 10: frozenset("0123456789"),
           16: frozenset("0123456789abcdefABCDEF")}
INT64_MIN, INT64_MAX, UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1


def _go_parse_uint0(s: str) -> int | None:
    """``strconv.ParseUint(s, 0, 64)`` (no sign; base from the prefix; leading 0 = octal)."""
    base, digits = 10, s
    if len(s) > 1 and s[0] == "0":
        p = s[1]
        if p in "xX":
            base, digits = 16, s[2:]
        elif p in "oO":
            base, digits = 8, s[2:]
        elif p in "bB":
            base, digits = 2, s[2:]
        else:
            base, digits = 8, s[1:]
    if not digits or not set(digits) <= _DIGITS[base]:
        return None
    n = int(digits, base)
    return n if n <= UINT64_MAX else None


def _go_parse_int0(s: str) -> int | None:
    """``strconv.ParseInt(s, 0, 64)``."""
    neg = False
    body = s
    if s[:1] in ("+", "-"):
        neg, body = s[0] == "-", s[1:]
    n = _go_parse_uint0(body)
    if n is None:
        return None
    n = -n if neg else n
    return n if INT64_MIN <= n <= INT64_MAX else None


def _go_float(s: str) -> float | None:
    """``strconv.ParseFloat(s, 64)`` for text already known to be decimal: None on overflow."""
    f = float(s)
    return None if math.isinf(f) else f


@functools.lru_cache(maxsize=1 << 16)
def resolve_plain(text: str) -> object:
    """What go-yaml v2 decodes a plain (unquoted, untagged) scalar into, before the JSON step.

    Returns None, a bool, an int, a float, a str, or one of the NaN/infinity markers."""
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    hint = text[0]
    if hint == ".":
        if _DOT_FLOAT.fullmatch(text):
            f = _go_float(text)
            if f is not None:
                return f
        return text
    if hint in "+-0123456789":
        plain = text.replace("_", "")
        if plain:
            n = _go_parse_int0(plain)
            if n is None and plain[0] != "+" and plain[0] != "-":
                n = _go_parse_uint0(plain)
            if n is not None:
                return n
            if _YAML_STYLE_FLOAT.fullmatch(plain):
                f = _go_float(plain)
                if f is not None:
                    return f
    return text


def needs_quotes(text: str) -> bool:
    """True when go-yaml v2 would read ``text``, written as a plain scalar, as something else
    than this string (``y``, ``0123``, ``2372039e9``, ``<<``...)."""
    if text == "<<" or not text:
        return True
    return text[0] in HINT_CHARS and not isinstance(resolve_plain(text), str)


__all__ = ["HINT_CHARS", "needs_quotes", "resolve_plain"]
