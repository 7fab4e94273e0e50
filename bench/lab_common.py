"""Helpers shared by the lab benchmarks: a scratch lab name and guaranteed cleanup."""

from __future__ import annotations

import atexit
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable

from podwall.lab.netns import teardown

LAB = f"bench{os.getpid() % 10000}"
PREFIX = f"podwall-{LAB}-"


def cleanup() -> None:
    teardown(PREFIX)


def guard() -> None:
    """Tear the scratch lab down on exit, Ctrl-C and SIGTERM, and after an earlier crash."""
    if os.geteuid() != 0:
        sys.exit("benchmarks need root (network namespaces, nftables)")
    cleanup()
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def timed(fn: Callable[[], object], repeat: int = 5, setup: Callable[[], object] | None = None) -> float:
    """Median wall time of ``fn`` in seconds (``setup`` runs before each, untimed)."""
    samples = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)
