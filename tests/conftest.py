"""Shared test fixtures: repository paths and golden-file comparison.

Set PODWALL_UPDATE_GOLDEN=1 to rewrite golden files instead of comparing (then review the diff:
golden files are the specification of what podwall prints).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CONFORMANCE = Path(__file__).resolve().parent / "conformance" / "upstream"


@pytest.fixture
def golden():
    """Compare text with a golden file (or rewrite it when PODWALL_UPDATE_GOLDEN=1)."""

    def check(path: Path, text: str) -> None:
        if os.environ.get("PODWALL_UPDATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        assert path.exists(), f"missing golden file {path} (run with PODWALL_UPDATE_GOLDEN=1)"
        assert text == path.read_text(), f"output differs from {path}"

    return check
