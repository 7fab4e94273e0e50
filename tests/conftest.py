"""Shared test fixtures: repository paths and golden-file comparison.

Run ``pytest --update-golden`` to rewrite golden files instead of comparing them; the run ends with
the list of files it changed (review that diff: golden files are the specification of what podwall
prints).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CONFORMANCE = Path(__file__).resolve().parent / "conformance" / "upstream"

_CHANGED = pytest.StashKey[list[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files (and generated docs) from the current output, then list the files changed",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_CHANGED] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if not config.getoption("--update-golden"):
        return
    changed = config.stash[_CHANGED]
    terminalreporter.section("golden files")
    if not changed:
        terminalreporter.write_line("--update-golden: no golden file changed")
    for path in changed:
        terminalreporter.write_line(f"rewritten: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[Path, str], None]:
    """Compare text with a golden file (or rewrite it under ``--update-golden``)."""
    config = request.config

    def check(path: Path, text: str) -> None:
        if config.getoption("--update-golden"):
            if not path.exists() or path.read_text() != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                config.stash[_CHANGED].append(path)
            return
        assert path.exists(), f"missing golden file {path} (run pytest --update-golden)"
        assert text == path.read_text(), f"output differs from {path} (pytest --update-golden rewrites it)"

    return check
