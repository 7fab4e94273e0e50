"""The one expectations parser (sources/expectations.py), read by `podwall test`, `podwall lab
test` and the Python API alike."""

from __future__ import annotations

from pathlib import Path

import pytest

import podwall
from podwall.core.model import Protocol
from podwall.errors import InputError, ManifestError, SourceSpan
from podwall.lab.probe import parse_expectations as lab_parse
from podwall.sources.expectations import Expectation, load_expectations, parse_expectations

SEED = Path(__file__).resolve().parents[3] / "examples" / "seed"


def problems(text: str) -> list[str]:
    with pytest.raises(ManifestError) as info:
        parse_expectations(text, "e.yaml")
    return [d.render() for d in info.value.diagnostics]


def test_a_probe_with_its_line() -> None:
    (e,) = parse_expectations("# head\nprobes:\n- {from: a/b, to: a/c, port: 80, expect: allow}\n", "e.yaml")
    assert e == Expectation(
        src="a/b", dst="a/c", port=80, protocol=Protocol.TCP, expect=True, advisory=False,
        span=SourceSpan(file="e.yaml", line=3),
    )


def test_case_and_advisory_are_read_the_same_everywhere() -> None:
    text = "- {from: a/b, to: a/c, port: http, protocol: udp, expect: Allow, advisory: true}\n"
    (e,) = parse_expectations(text)
    assert (e.expect, e.advisory, e.protocol, e.port) == (True, True, Protocol.UDP, "http")
    (p,) = lab_parse(text)
    assert (p.expect, p.advisory, p.protocol, p.port) == (True, True, Protocol.UDP, "http")


def test_loopback_and_self_probes_are_advisory() -> None:
    es = parse_expectations(
        "- {from: a/b, to: a/b, port: 80, expect: deny}\n"
        "- {from: a/b, to: a/c, port: 80, expect: deny, loopback: true}\n"
    )
    assert [e.advisory for e in es] == [True, True]


def test_every_problem_has_its_line_and_field() -> None:
    text = (
        "probes:\n"
        "- {from: a/b, to: a/c, port: 80, expect: allow}\n"
        "- {from: a/b, port: 0, expect: maybe, colour: red}\n"
        "- 3\n"
        "- from: a/b\n"
        "  to: a/c\n"
        "  port: 80\n"
        "  protocol: ICMP\n"
        "  expect: deny\n"
        "  advisory: 'yes'\n"
    )
    assert problems(text) == [
        "e.yaml:3: probes[1].colour: unknown key 'colour' (known: from, to, port, protocol, expect, advisory, "
        "loopback, name)",
        "e.yaml:3: probes[1]: missing 'to'",
        "e.yaml:3: probes[1].port: port must be between 1 and 65535, not 0",
        "e.yaml:3: probes[1].expect: expect must be allow or deny, not 'maybe'",
        "e.yaml:4: probes[2]: expected a mapping with from, to, port and expect, not an integer",
        "e.yaml:8: probes[3].protocol: protocol must be TCP, UDP or SCTP, not 'ICMP'",
        "e.yaml:10: probes[3].advisory: advisory must be true or false, not 'yes'",
    ]


def test_bad_shapes_and_yaml() -> None:
    assert problems("kind: x\n") == ["e.yaml:1: expected a list of probes, or a mapping with a 'probes' key"]
    assert problems("probes: 3\n") == ["e.yaml:1: probes: expected a list of probes, not an integer"]
    (yaml_error,) = problems("- {from: a\n")
    assert yaml_error.startswith("e.yaml:1: invalid YAML")  # as the manifest loader reports it
    assert parse_expectations("probes:\n") == ()


def test_a_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_expectations(str(tmp_path / "nope.yaml"))


def test_the_seed_file() -> None:
    es = load_expectations(str(SEED / "expect.yaml"))
    assert len(es) == 17 and es[0].span.line == 5
    assert podwall.load_expectations is load_expectations and podwall.parse_expectations is parse_expectations
