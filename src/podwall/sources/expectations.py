"""The expectations file: connectivity assertions that ``podwall test``, ``podwall lab test`` and
the Python API all read through this one parser.

The file is a YAML list of probes, or a mapping with a ``probes`` key::

    probes:
    - {from: production/frontend, to: production/backend, port: 8080, expect: allow}
    - {from: production/backend, to: kube-system/coredns, port: 53, protocol: UDP, expect: allow}

Keys: ``from``, ``to``, ``port`` (a number or a port name) and ``expect`` (``allow`` or ``deny``,
any case) are required; ``protocol`` (TCP, UDP or SCTP, any case; default TCP), ``advisory`` and
``loopback`` (booleans: a mismatch is reported but is not a failure) and ``name`` are optional.
A probe from an endpoint to itself is always advisory (upstream's e2e suite ignores loopback).

Every problem is reported, each with its file, line and field path (lines come from the same
node tree the manifest loader uses), as one :class:`ManifestError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podwall.core.model import Protocol
from podwall.errors import Diagnostic, ManifestError, Severity, SourceSpan, render_path
from podwall.sources.manifests import Locator, SourceText, parse_source, read_sources, type_name

KEYS = ("from", "to", "port", "protocol", "expect", "advisory", "loopback", "name")
REQUIRED = ("from", "to", "port", "expect")
CODE = "expectations"
"""The diagnostic code of every problem in an expectations file."""


@dataclass(frozen=True, kw_only=True)
class Expectation:
    """One connectivity assertion of an expectations file."""

    src: str
    """Source endpoint as written (``ns/pod``, ``ns/kind/name`` or an IP)."""
    dst: str
    """Destination endpoint as written (also ``ns/service/name``)."""
    port: int | str
    """Port number, or a port name (a container port name; a Service port name for a Service)."""
    protocol: Protocol
    expect: bool
    """True: the connection must be allowed; False: it must be denied."""
    advisory: bool
    """A mismatch is reported but does not fail the run (``advisory``/``loopback``, or src == dst)."""
    span: SourceSpan
    """Where the probe is written (file and 1-based line)."""
    name: str = ""

    @property
    def expect_word(self) -> str:
        return "allow" if self.expect else "deny"


def _port(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def parse_expectations(text: str, name: str = "<expect>") -> tuple[Expectation, ...]:
    """Parse an expectations file's text (``name`` is the file name used in messages).

    Raises:
        ManifestError: with one diagnostic per problem (file, line, field path).
    """
    src = SourceText(name, text)
    loc = Locator()
    loc.add(src)
    problems: list[Diagnostic] = []

    def problem(path: tuple[str | int, ...], message: str) -> None:
        problems.append(
            Diagnostic(
                severity=Severity.ERROR,
                code=CODE,
                message=message,
                file=name,
                line=loc.line(name, 0, path) or 1,
                field=render_path(path if root or not path else ("probes", *path)),
            )
        )

    docs, diags = parse_source(src)  # the manifest loader: same YAML rules, same line numbers
    if any(d.severity is Severity.ERROR for d in diags):
        raise ManifestError(diags)
    data: Any = docs[0].data if docs else None
    root: tuple[str | int, ...] = ()
    if isinstance(data, dict):
        if "probes" not in data:
            problem((), "expected a list of probes, or a mapping with a 'probes' key")
            raise ManifestError(problems)
        data, root = data["probes"], ("probes",)
    if data is None:
        data = []
    if not isinstance(data, list):
        problem(root, f"expected a list of probes, not {type_name(data)}")
        raise ManifestError(problems)
    out: list[Expectation] = []
    for i, item in enumerate(data):
        at = (*root, i)
        if not isinstance(item, dict):
            problem(at, f"expected a mapping with from, to, port and expect, not {type_name(item)}")
            continue
        before = len(problems)
        for key in sorted(set(item) - set(KEYS), key=str):
            problem((*at, str(key)), f"unknown key {key!r} (known: {', '.join(KEYS)})")
        for key in REQUIRED:
            if item.get(key) in (None, ""):
                problem(at, f"missing {key!r}")
        port = item.get("port")
        if port is not None and (isinstance(port, bool) or not isinstance(port, (int, str))):
            problem((*at, "port"), f"port must be a number or a name, not {type_name(port)}")
        elif isinstance(port, int) and not 1 <= port <= 65535:
            problem((*at, "port"), f"port must be between 1 and 65535, not {port}")
        proto_s = str(item.get("protocol", "TCP")).upper()
        if proto_s not in Protocol.__members__:
            problem((*at, "protocol"), f"protocol must be TCP, UDP or SCTP, not {item.get('protocol')!r}")
        expect = item.get("expect")
        if expect not in (None, "") and str(expect).lower() not in ("allow", "deny"):
            problem((*at, "expect"), f"expect must be allow or deny, not {expect!r}")
        for key in ("advisory", "loopback"):
            if key in item and not isinstance(item[key], bool):
                problem((*at, key), f"{key} must be true or false, not {item[key]!r}")
        for key in ("from", "to"):
            if isinstance(item.get(key), (list, dict)):
                problem((*at, key), f"{key} must be an endpoint name, not {type_name(item[key])}")
        if len(problems) > before:
            continue
        s, d = str(item["from"]), str(item["to"])
        out.append(
            Expectation(
                src=s,
                dst=d,
                port=_port(port) if isinstance(port, str) else int(port),  # type: ignore[arg-type]
                protocol=Protocol[proto_s],
                expect=str(expect).lower() == "allow",
                advisory=bool(item.get("advisory") or item.get("loopback") or s == d),
                span=SourceSpan(file=name, line=loc.line(name, 0, at)),
                name=str(item.get("name") or ""),
            )
        )
    if problems:
        raise ManifestError(problems)
    return tuple(out)


def load_expectations(path: str) -> tuple[Expectation, ...]:
    """Read and parse an expectations file (``-`` reads stdin).

    Raises:
        InputError: the file cannot be read.
        ManifestError: with one diagnostic per problem (file, line, field path).
    """
    (src,) = read_sources([path])[:1] or [SourceText(path, "")]
    return parse_expectations(src.text, src.name)


__all__ = ["Expectation", "load_expectations", "parse_expectations"]
