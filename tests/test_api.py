"""The Python API: podwall.load(...) answers can, matrix, lint and check; every type in a public
signature is exported; bad arguments raise podwall's own errors."""

from __future__ import annotations

import importlib.metadata
import inspect
import typing
from pathlib import Path

import pytest

import podwall
from podwall import QueryError

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed"


@pytest.fixture(scope="module")
def seed() -> podwall.LoadedCluster:
    return podwall.load([SEED / "manifests"], namespace="production")


def test_can_with_any_destination(seed: podwall.LoadedCluster) -> None:
    v = seed.can("production/frontend", "production/backend", 8080)
    assert isinstance(v, podwall.Verdict) and v.allowed
    s = seed.can("production/frontend", "production/service/backend-service", "http", "tcp")
    assert isinstance(s, podwall.ServiceVerdict) and s.allowed
    answer: podwall.Answer = s  # both verdicts satisfy the Answer protocol
    assert answer.reason()
    assert not seed.can("production/backend", "203.0.113.10", 443).allowed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("production/frontend", "production/backend", 8080, "icmp"), "unknown protocol 'icmp'"),
        (("production/frontend", "production/backend", 0), "port 0 is out of range"),
        (("production/frontend", "production/backend", True), "a port is a number or a port name"),
        (("production/frontend", "production/backend", 8080.5), "a port is a number or a port name"),
        (("production/frontend", "production/nope", 80), "no endpoint 'production/nope'"),
        (("production/service/backend-service", "production/backend", 80), "a Service can only be a destination"),
    ],
)
def test_bad_arguments_raise_query_error(seed: podwall.LoadedCluster, args: tuple[object, ...], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        seed.can(*args)  # type: ignore[arg-type]


def test_matrix(seed: podwall.LoadedCluster) -> None:
    m = seed.matrix(port=5432)
    keys = [e.key for e in m.endpoints]
    i, j = keys.index("production/deployment/backend"), keys.index("production/statefulset/postgres")
    assert m.allowed(i, j) and not m.allowed(keys.index("ci/ci-runner"), j)
    with pytest.raises(QueryError):
        seed.matrix(port=70000)
    with pytest.raises(QueryError):
        seed.matrix(protocol="gre")


def test_lint(seed: podwall.LoadedCluster) -> None:
    findings = seed.lint()
    assert findings and all(isinstance(f, podwall.Finding) for f in findings)
    assert {f.rule for f in seed.lint(enable=["no-default-deny"])} == {"no-default-deny"}
    assert seed.lint(disable=[f.rule for f in findings]) == []
    with pytest.raises(QueryError, match="unknown lint rule"):
        seed.lint(enable=["no-such-rule"])


def test_check_expectations(seed: podwall.LoadedCluster) -> None:
    results = seed.check(podwall.load_expectations(str(SEED / "expect.yaml")))
    assert len(results) == 17 and all(r.ok for r in results)
    (wrong,) = seed.check(podwall.parse_expectations(
        "- {from: ci/ci-runner, to: production/postgres, port: 5432, expect: allow}\n", "e.yaml"))
    assert wrong.failed and not wrong.actual and wrong.expectation.span.line == 1


def test_check_names_the_line_of_an_unknown_endpoint(seed: podwall.LoadedCluster) -> None:
    es = podwall.parse_expectations("\n- {from: production/nope, to: production/backend, port: 1, expect: deny}\n",
                                    "e.yaml")
    with pytest.raises(QueryError, match=r"^e\.yaml:2: no endpoint 'production/nope'"):
        seed.check(es)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"paths": []}, "no input"),
        ({"paths": [3]}, "paths must be file or directory names"),
        ({"paths": [str(SEED)], "namespace": 3}, "namespace must be a non-empty string"),
        ({"paths": [str(SEED)], "options": {"ipblock_matches_pods": False}}, "options must be podwall.Options"),
    ],
)
def test_bad_load_arguments_raise_input_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(podwall.InputError, match=message):
        podwall.load(**kwargs)  # type: ignore[arg-type]


def test_version_comes_from_the_package_metadata() -> None:
    assert podwall.__version__ == importlib.metadata.version("podwall")


def _public_callables() -> list[object]:
    out: list[object] = [podwall.load, podwall.load_expectations, podwall.parse_expectations]
    for cls in (podwall.LoadedCluster, podwall.ExpectationResult):
        out += [m for n, m in inspect.getmembers(cls) if not n.startswith("_") and callable(m)]
        out += [m.fget for n, m in inspect.getmembers(cls) if isinstance(m, property) and not n.startswith("_")]
    return out


def _classes(tp: object) -> set[type]:
    origin = typing.get_origin(tp)
    found: set[type] = set()
    if origin is not None:
        for arg in typing.get_args(tp):
            found |= _classes(arg)
        return found
    if isinstance(tp, type) and tp.__module__.startswith("podwall"):
        found.add(tp)
    return found


def test_every_type_in_a_public_signature_is_exported() -> None:
    exported = {getattr(podwall, n) for n in podwall.__all__ if isinstance(getattr(podwall, n), type)}
    missing = set()
    for fn in _public_callables():
        hints = typing.get_type_hints(fn)
        for tp in hints.values():
            missing |= {c.__name__ for c in _classes(tp) - exported}
    assert missing == set()


def test_a_loaded_cluster_is_immutable(seed: podwall.LoadedCluster) -> None:
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        seed.default_namespace = "other"  # type: ignore[misc]
