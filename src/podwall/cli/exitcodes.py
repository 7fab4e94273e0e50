"""The one table of podwall's exit codes (stable for scripts; every --help shows it).

Only ``cli/main.py`` exits; commands return or raise, and this table says with what. Each
command's ``--help`` lists the codes it uses, generated from this table by
``cli.common.exit_codes``.
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
    SIGPIPE = 141
    """The reader of the output went away (a closed pipe, ``| head``): podwall stops quietly."""
    SIGTERM = 143
    """Terminated by SIGTERM (or SIGHUP)."""

    def describe(self) -> str:
        """The table's one-line description of this code."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    ExitCode.OK: "success; for a question the answer is yes, everything passed",
    ExitCode.NO: "the answer is no / findings / failing probes / a disagreement / a damaged lab",
    ExitCode.BAD_INPUT: "bad input or usage: unreadable manifests, unknown endpoint, bad option",
    ExitCode.ENVIRONMENT: "the environment cannot do it: not root, nft missing, no such lab, a kernel refusal",
    ExitCode.BUG: "internal error in podwall (a bug: please report it)",
    ExitCode.SIGINT: "interrupted (Ctrl-C)",
    ExitCode.SIGPIPE: "the reader of the output went away (a closed pipe, e.g. head -1): stopped quietly",
    ExitCode.SIGTERM: "terminated (SIGTERM or SIGHUP)",
}
