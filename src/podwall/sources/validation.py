"""apimachinery's value validators, with their exact messages.

Sources: ``k8s.io/apimachinery/pkg/util/validation/validation.go`` (qualified names, label
values, DNS names, port names and numbers), ``.../validation/field/errors.go`` (how an error
is rendered: ``<path>: <Type>: <value>: <detail>``), and ``k8s.io/utils/net`` (the "sloppy"
CIDR parser that accepts leading zeros and host bits while ``StrictIPCIDRValidation`` is off).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re

from podwall.core.model import IPAddress, IPNetwork

QNAME_CHAR_FMT = "[A-Za-z0-9]"
QNAME_EXT_CHAR_FMT = "[-A-Za-z0-9_.]"
QUALIFIED_NAME_FMT = "(" + QNAME_CHAR_FMT + QNAME_EXT_CHAR_FMT + "*)?" + QNAME_CHAR_FMT
QUALIFIED_NAME_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"
LABEL_VALUE_ERR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_ERR = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character"
)
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1123_SUBDOMAIN_ERR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)

# Go's ``^...$`` (no multiline flag) anchors at the very end of the text; Python's ``$`` also
# matches before a trailing newline, so every pattern is used with ``fullmatch`` instead.
_QNAME_RE = re.compile(QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(LABEL_VALUE_FMT)
_DNS1123_LABEL_RE = re.compile(DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(DNS1123_SUBDOMAIN_FMT)
_PORT_NAME_CHARSET_RE = re.compile("[-a-z0-9]+")
_PORT_NAME_ONE_LETTER_RE = re.compile("[a-z]")
# ``dtoi`` in k8s.io/utils/net's forked parser: any number of decimal digits (leading zeros too).
_DIGITS_RE = re.compile("[0-9]+")


def dns1123_subdomain_ok(value: str) -> bool:
    """True when :func:`is_dns1123_subdomain` finds nothing (fast: no message is built)."""
    return len(value) <= 253 and _DNS1123_SUBDOMAIN_RE.fullmatch(value) is not None


def qualified_name_errors(value: str) -> tuple[str, ...]:
    """:func:`is_qualified_name`, memoised, as a tuple (empty: valid)."""
    return _is_qualified_name(value)


def label_value_errors(value: str) -> tuple[str, ...]:
    """:func:`is_valid_label_value`, memoised, as a tuple (empty: valid)."""
    return _is_valid_label_value(value)


def _go_len(value: str) -> int:
    """``len(s)`` in Go counts UTF-8 bytes, not characters."""
    return len(value.encode("utf-8", "surrogatepass"))


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``validation.RegexError``: note the double space before each ``or``, as upstream prints."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    out = msg + " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            out += " or "
        out += f"'{ex}', "
    return out + f"regex used for validation is '{fmt}')"


def max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


@functools.lru_cache(maxsize=1 << 14)
def _is_dns1123_subdomain(value: str) -> tuple[str, ...]:
    return tuple(_is_dns1123_subdomain_list(value))


def is_dns1123_subdomain(value: str) -> list[str]:
    return list(_is_dns1123_subdomain(value))


def _is_dns1123_subdomain_list(value: str) -> list[str]:
    errs = []
    if _go_len(value) > 253:
        errs.append(max_len_error(253))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errs.append(regex_error(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


@functools.lru_cache(maxsize=1 << 14)
def _is_dns1123_label(value: str) -> tuple[str, ...]:
    return tuple(_is_dns1123_label_list(value))


def is_dns1123_label(value: str) -> list[str]:
    return list(_is_dns1123_label(value))


def _is_dns1123_label_list(value: str) -> list[str]:
    errs = []
    if _go_len(value) > 63:
        errs.append(max_len_error(63))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value):
            # upstream: a valid subdomain but not a valid label; the length was checked, so: dots
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1035_LABEL_ERR = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character"
)
_DNS1035_LABEL_RE = re.compile(DNS1035_LABEL_FMT)


@functools.lru_cache(maxsize=1 << 14)
def _is_dns1035_label(value: str) -> tuple[str, ...]:
    return tuple(_is_dns1035_label_list(value))


def is_dns1035_label(value: str) -> list[str]:
    return list(_is_dns1035_label(value))


def _is_dns1035_label_list(value: str) -> list[str]:
    errs = []
    if _go_len(value) > 63:
        errs.append(max_len_error(63))
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errs.append(regex_error(DNS1035_LABEL_ERR, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


@functools.lru_cache(maxsize=1 << 14)
def _is_qualified_name(value: str) -> tuple[str, ...]:
    return tuple(_is_qualified_name_list(value))


def is_qualified_name(value: str) -> list[str]:
    return list(_is_qualified_name(value))


def _is_qualified_name_list(value: str) -> list[str]:
    """``validation.IsQualifiedName``: label keys (an optional DNS-subdomain prefix and a name)."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif _go_len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _QNAME_RE.fullmatch(name):
        errs.append(
            "name part " + regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


@functools.lru_cache(maxsize=1 << 14)
def _is_valid_label_value(value: str) -> tuple[str, ...]:
    return tuple(_is_valid_label_value_list(value))


def is_valid_label_value(value: str) -> list[str]:
    return list(_is_valid_label_value(value))


def _is_valid_label_value_list(value: str) -> list[str]:
    errs = []
    if _go_len(value) > 63:
        errs.append(max_len_error(63))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(regex_error(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_valid_port_num(port: int) -> list[str]:
    if 1 <= port <= 65535:
        return []
    return ["must be between 1 and 65535, inclusive"]


def is_valid_port_name(port: str) -> list[str]:
    """``validation.IsValidPortName`` (IANA_SVC_NAME)."""
    errs = []
    if _go_len(port) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_CHARSET_RE.fullmatch(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_ONE_LETTER_RE.search(port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


CIDR_INVALID = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def _sloppy_ipv4(addr: str) -> tuple[str, bool] | None:
    """The forked ``parseIPv4``: four decimal octets, any number of digits each, value <= 255.

    Returns the canonical dotted form and whether the input already was canonical.
    """
    octets = addr.split(".")
    if len(octets) != 4 or not all(_DIGITS_RE.fullmatch(o) for o in octets):
        return None
    values = [int(o) for o in octets]
    if any(n > 255 for n in values):
        return None
    out = ".".join(str(n) for n in values)
    return out, out == addr


def _sloppy_ipv6(addr: str) -> tuple[str, bool] | None:
    """The forked ``parseIPv6``: like Python's, but hex groups may carry extra leading zeros
    (value <= 0xffff) and an embedded IPv4 tail is read by :func:`_sloppy_ipv4`."""
    groups = addr.split(":")
    canonical = True
    if groups and "." in groups[-1]:
        v4 = _sloppy_ipv4(groups[-1])
        if v4 is None:
            return None
        groups[-1], ok = v4
        canonical = canonical and ok
    for i, g in enumerate(groups[:-1] if "." in groups[-1] else groups):
        if len(g) > 4 and re.fullmatch("[0-9A-Fa-f]+", g):
            n = int(g, 16)
            if n > 0xFFFF:
                return None
            groups[i] = format(n, "x")
            canonical = False
    return ":".join(groups), canonical


@functools.lru_cache(maxsize=1 << 14)
def parse_cidr_sloppy(value: str) -> tuple[IPNetwork, bool] | None:
    """Parse a CIDR as ``netutils.ParseCIDRSloppy`` does.

    Returns ``(network, canonical)`` or ``None`` if the API server would reject it. Leading
    zeros in IPv4 octets and in the prefix length are read as decimal, host bits are masked
    off; ``canonical`` is False when either happened (the caller may warn, never reject).
    """
    addr, sep, prefix = value.partition("/")
    if not sep or not _DIGITS_RE.fullmatch(prefix) or "%" in addr:
        return None
    canonical = str(int(prefix)) == prefix
    v4 = _sloppy_ipv4(addr)
    parsed = v4 if v4 is not None else _sloppy_ipv6(addr) if ":" in addr else None
    if parsed is None:
        return None
    addr, ok = parsed
    canonical = canonical and ok
    try:
        ip = ipaddress.ip_address(addr)
        net = ipaddress.ip_network(f"{addr}/{int(prefix)}", strict=False)
    except ValueError:
        return None
    if ip != net.network_address:
        canonical = False
    return net, canonical


@functools.lru_cache(maxsize=1 << 14)
def cidr_contains(net: IPNetwork, ip: IPAddress) -> bool:
    """Go's ``(*net.IPNet).Contains``, which the API server uses for ``except`` subsets.

    Unlike Python's ``in``, Go reads IPv4-mapped IPv6 addresses (``::ffff:a.b.c.d``) as IPv4
    on both sides: a mapped network keeps only the last 32 bits of its mask.
    """
    def as_v4(a: IPAddress) -> ipaddress.IPv4Address | None:
        if isinstance(a, ipaddress.IPv4Address):
            return a
        return a.ipv4_mapped

    base = as_v4(net.network_address)
    if base is None:
        return isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None and ip in net
    other = as_v4(ip)
    if other is None:
        return False
    bits = net.prefixlen if net.version == 4 else max(0, net.prefixlen - 96)
    return ipaddress.ip_network(f"{base}/{bits}", strict=False).network_address == (
        ipaddress.ip_network(f"{other}/{bits}", strict=False).network_address
    )


class Named(str):
    """A string of a *named* Go string type (``Protocol``, ``PolicyType``, an operator).

    ``field.Error`` prints plain strings with ``%q`` but values of named string types through
    ``json.Marshal``, which escapes ``<``, ``>`` and ``&`` differently.
    """


def go_quote(value: str) -> str:
    """Go's ``strconv.Quote`` (``%q``): printable runes as they are, the rest escaped."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")  # Go strings cannot hold a lone surrogate
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
_GO_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json_string(value: str) -> str:
    """Go's ``json.Marshal`` of a string (HTML-safe escaping, as ``encoding/json`` does)."""
    text = json.dumps(value, ensure_ascii=False)
    return "".join(_GO_JSON_ESCAPES.get(ch, ch) for ch in text)


_RENDER_LIMIT = 200


def _go_json(value: object, out: list[str], budget: list[int]) -> None:
    """A bounded ``json.Marshal``: stops once ``budget`` characters are written."""
    if budget[0] <= 0:
        return
    if value is None:
        piece = "null"
    elif isinstance(value, bool):
        piece = "true" if value else "false"
    elif isinstance(value, (int, float)):
        piece = json.dumps(value)
    elif isinstance(value, str):
        piece = go_json_string(value)
    elif isinstance(value, list):
        out.append("[")
        budget[0] -= 1
        for i, item in enumerate(value):
            if i:
                out.append(",")
                budget[0] -= 1
            _go_json(item, out, budget)
            if budget[0] <= 0:
                return
        piece = "]"
    elif isinstance(value, dict):
        out.append("{")
        budget[0] -= 1
        for i, (k, item) in enumerate(sorted(value.items(), key=lambda kv: str(kv[0]))):
            if i:
                out.append(",")
                budget[0] -= 1
            key = go_json_string(str(k)) + ":"
            out.append(key)
            budget[0] -= len(key)
            _go_json(item, out, budget)
            if budget[0] <= 0:
                return
        piece = "}"
    else:
        piece = f"<{type(value).__name__}>"
    out.append(piece)
    budget[0] -= len(piece)


def render_value(value: object) -> str:
    """How ``field.Error`` prints a bad value (``ErrorBody``): numbers and booleans bare, plain
    strings with ``%q``, anything else (named string types, lists) through ``json.Marshal``.

    podwall cuts values longer than 200 characters (upstream prints them whole).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and not isinstance(value, Named):
        return go_quote(value)
    out: list[str] = []
    budget = [_RENDER_LIMIT + 1]
    try:
        _go_json(value, out, budget)
    except RecursionError:
        return f"<{type(value).__name__}>"
    text = "".join(out)
    return text if len(text) <= _RENDER_LIMIT and budget[0] > 0 else text[:_RENDER_LIMIT] + "..."


def invalid(value: object, detail: str) -> str:
    return f"Invalid value: {render_value(value)}: {detail}"


def required(detail: str = "") -> str:
    return f"Required value: {detail}" if detail else "Required value"


def forbidden(detail: str) -> str:
    return f"Forbidden: {detail}"


def unsupported(value: object, supported: list[str]) -> str:
    """``field.NotSupported``; every enum podwall checks is a named Go string type."""
    vals = ", ".join(go_quote(s) for s in supported)
    shown = Named(value) if isinstance(value, str) and not isinstance(value, Named) else value
    return f"Unsupported value: {render_value(shown)}: supported values: {vals}"
