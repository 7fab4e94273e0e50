"""Lab tests: real namespaces, nftables and packets. They need root, iproute2 and nft.

Every test of this directory is marked ``lab`` (deselect with ``-m "not lab"``) and skips with
a reason when the machine cannot run it. Labs made here are named ``pt<pid><n>`` so that they
never touch a developer's own labs, and are removed by fixture finalizers, at exit, and on
SIGTERM; the session fails if any ``podwall-pt<pid>*`` namespace is left behind.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from podwall.lab.lab import Lab
from podwall.lab.netns import list_netns
from podwall.sources.manifests import read_sources

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CONFORMANCE = REPO / "tests" / "conformance" / "upstream"
SEED = REPO / "examples" / "seed"
TAG = f"pt{os.getpid() % 100000}"
_made: list[Lab] = []


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces, nftables)"
    for tool in ("ip", "nft", "unshare"):
        if shutil.which(tool) is None:
            return f"lab tests need the {tool} tool (apt-get install iproute2 nftables util-linux)"
    if not os.path.isdir("/proc/self/ns"):
        return "no namespace support"
    return None


SKIP = _why_not()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.lab)
            if SKIP:
                item.add_marker(pytest.mark.skip(reason=SKIP))


def _cleanup_all() -> None:
    for lab in list(_made):
        with contextlib.suppress(Exception):
            lab.down()
    names = {n[len("podwall-") : n.index("-", len("podwall-"))] for n in list_netns(f"podwall-{TAG}")}
    if os.path.isdir("/run/podwall"):
        names |= {n for n in os.listdir("/run/podwall") if n.startswith(TAG)}
    for name in sorted(names):
        with contextlib.suppress(Exception):
            Lab(name).down()  # namespaces, processes and the state directory


atexit.register(_cleanup_all)
_old_term = signal.getsignal(signal.SIGTERM)


def _on_term(signum: int, frame: object) -> None:
    _cleanup_all()
    raise SystemExit(143)


signal.signal(signal.SIGTERM, _on_term)


def new_lab(suffix: str) -> Lab:
    lab = Lab(f"{TAG}{suffix}")
    _made.append(lab)
    return lab


@pytest.fixture
def make_lab() -> Iterator[object]:
    """``make_lab("a")`` → a fresh Lab object, always taken down after the test."""
    labs: list[Lab] = []

    def make(suffix: str) -> Lab:
        lab = new_lab(suffix)
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.down()


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_behind() -> Iterator[None]:
    yield
    if SKIP:
        return
    _cleanup_all()
    left = [n for n in list_netns("podwall-") if n.startswith(f"podwall-{TAG}")]
    assert left == [], f"lab namespaces left behind: {left}"
    states = [n for n in os.listdir("/run/podwall") if n.startswith(TAG)] if os.path.isdir("/run/podwall") else []
    assert states == [], f"lab state left behind: {states}"


def sources(*paths: Path):  # type: ignore[no-untyped-def]
    return read_sources([str(p) for p in paths])
