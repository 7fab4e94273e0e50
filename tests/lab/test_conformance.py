"""Every upstream conformance case, with real packets: the kernel agrees with the engine.

One lab serves every case: the first case builds it and each next case changes it in place
(``Lab.apply``), as ``podwall lab apply`` does. Loopback probes are advisory (upstream ignores
them too). SCTP goes through raw INIT probes: this kernel kind has no SCTP sockets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from podwall.lab.probe import parse_expectations, run_probes, summary

from .conftest import CONFORMANCE, new_lab, shown, sources


def _steps() -> list[tuple[str, Path]]:
    out = []
    for case in sorted(p for p in CONFORMANCE.iterdir() if p.is_dir()):
        steps = sorted(p for p in case.iterdir() if p.is_dir() and p.name.startswith("step"))
        for d in steps or [case]:
            out.append((case.name + ("/" + d.name if steps else ""), d))
    return out


STEPS = _steps()


@pytest.fixture(scope="module")
def shared_lab():  # type: ignore[no-untyped-def]
    lab = new_lab("c")
    yield lab
    lab.down()


def test_there_are_cases() -> None:
    assert len(STEPS) >= 32


@pytest.mark.parametrize("name,path", STEPS, ids=[s[0] for s in STEPS])
def test_kernel_agrees_with_engine(shared_lab, name: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    src = sources(path / "cluster.yaml", path / "policies.yaml")
    if shared_lab.exists():
        # cut: a probe whose source port matches a live flow of the previous policies would ride on it
        shared_lab.apply(src, cut=True)
    else:
        shared_lab.up(src)
    lc, plan = shared_lab.loaded()
    probes = parse_expectations((path / "expected.yaml").read_text(), str(path))
    results = run_probes(lc, plan, probes, timeout=1.0, parallel=96)
    s = summary(results)
    bad = [shown(r) for r in results if r.failed]
    not_run = [shown(r) for r in results if r.kernel is None and not r.advisory]
    assert not_run == [], not_run[:3]
    assert bad == [], bad[:3]
    assert s.disagree == 0 and s.unexpected == 0
    assert s.compared == len([p for p in probes if not p.advisory])
