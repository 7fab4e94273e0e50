"""apimachinery's value validators, with their exact messages.

Sources: ``k8s.io/apimachinery/pkg/util/validation/validation.go`` (qualified names, label
values, DNS names, port names and numbers), ``.../validation/field/errors.go`` (how an error
is rendered: ``<path>: <Type>: <value>: <detail>``), and ``k8s.io/utils/net`` (the "sloppy"
CIDR parser that accepts leading zeros and host bits while ``StrictIPCIDRValidation`` is off).
"""

from __future__ import annotations

import ipaddress
import json
import re

from podwall.core.model import IPNetwork

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

_QNAME_RE = re.compile("^" + QUALIFIED_NAME_FMT + "$")
_LABEL_VALUE_RE = re.compile("^" + LABEL_VALUE_FMT + "$")
_DNS1123_LABEL_RE = re.compile("^" + DNS1123_LABEL_FMT + "$")
_DNS1123_SUBDOMAIN_RE = re.compile("^" + DNS1123_SUBDOMAIN_FMT + "$")
_PORT_NAME_CHARSET_RE = re.compile("^[-a-z0-9]+$")
_PORT_NAME_ONE_LETTER_RE = re.compile("[a-z]")
_DIGITS_RE = re.compile("^[0-9]{1,3}$")
_OCTET_RE = re.compile("^[0-9]{1,3}$")


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


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not _DNS1123_SUBDOMAIN_RE.match(value):
        errs.append(regex_error(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _DNS1123_LABEL_RE.match(value):
        errs.append(regex_error(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_qualified_name(value: str) -> list[str]:
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
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _QNAME_RE.match(name):
        errs.append(
            "name part " + regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _LABEL_VALUE_RE.match(value):
        errs.append(regex_error(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_valid_port_num(port: int) -> list[str]:
    if 1 <= port <= 65535:
        return []
    return ["must be between 1 and 65535, inclusive"]


def is_valid_port_name(port: str) -> list[str]:
    """``validation.IsValidPortName`` (IANA_SVC_NAME)."""
    errs = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_CHARSET_RE.match(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_ONE_LETTER_RE.search(port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


CIDR_INVALID = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def parse_cidr_sloppy(value: str) -> tuple[IPNetwork, bool] | None:
    """Parse a CIDR as ``netutils.ParseCIDRSloppy`` does.

    Returns ``(network, canonical)`` or ``None`` if the API server would reject it. Leading
    zeros in IPv4 octets are read as decimal, host bits are masked off; ``canonical`` is False
    when either happened (the caller may warn, never reject).
    """
    addr, sep, prefix = value.partition("/")
    if not sep or not _DIGITS_RE.match(prefix) or "%" in addr:
        return None
    canonical = not (len(prefix) > 1 and prefix.startswith("0"))
    if ":" not in addr:
        octets = addr.split(".")
        if len(octets) != 4 or not all(_OCTET_RE.match(o) for o in octets):
            return None
        if any(len(o) > 1 and o.startswith("0") for o in octets):
            canonical = False
        addr = ".".join(str(int(o)) for o in octets)
    try:
        ip = ipaddress.ip_address(addr)
        net = ipaddress.ip_network(f"{addr}/{int(prefix)}", strict=False)
    except ValueError:
        return None
    if ip != net.network_address:
        canonical = False
    return net, canonical


def render_value(value: object) -> str:
    """How ``field.Error`` prints a bad value: strings quoted, numbers bare, others as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 200 else text[:200] + "..."


def invalid(value: object, detail: str) -> str:
    return f"Invalid value: {render_value(value)}: {detail}"


def required(detail: str = "") -> str:
    return f"Required value: {detail}" if detail else "Required value"


def forbidden(detail: str) -> str:
    return f"Forbidden: {detail}"


def unsupported(value: object, supported: list[str]) -> str:
    vals = ", ".join(json.dumps(s) for s in supported)
    return f"Unsupported value: {render_value(value)}: supported values: {vals}"
