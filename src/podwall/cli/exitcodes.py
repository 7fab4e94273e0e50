"""The one table of podwall's exit codes (stable for scripts; every --help shows it).

Only ``cli/main.py`` exits; commands return or raise, and this table says with what.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a podwall process's exit status means."""

    OK = 0
    """Success; for a question the answer is yes, everything passed."""
    NO = 1
    """The answer is no / findings / failing probes / a disagreement / a damaged lab."""
    BAD_INPUT = 2
    """Bad input or usage: unreadable manifests, unknown endpoint, bad option, an unknown answer."""
    ENVIRONMENT = 3
    """The environment cannot do it: not root, nft missing, no such lab, a kernel refusal."""
    BUG = 4
    """An internal error in podwall (a bug: please report it)."""
    SIGINT = 130
    """Interrupted by Ctrl-C (SIGINT)."""
    SIGTERM = 143
    """Terminated by SIGTERM."""
