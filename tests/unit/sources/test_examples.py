"""The examples read the same from a directory and concatenated on stdin (each starts with ``---``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from podwall.cli.main import cli

EXAMPLES = Path(__file__).parents[3] / "examples"
FILES = sorted(EXAMPLES.rglob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_starts_with_a_document_marker(path: Path) -> None:
    assert re.match(r"---(\s|$)", path.read_text())  # (a comment may follow on the same line)


def test_cat_of_the_seed_manifests_equals_the_directory_run() -> None:
    manifests = EXAMPLES / "seed" / "manifests"
    runner = CliRunner()
    from_dir = runner.invoke(cli, ["matrix", str(manifests), "-n", "production"], catch_exceptions=False)
    cat = b"".join(p.read_bytes() for p in sorted(manifests.glob("*.yaml")))
    from_stdin = runner.invoke(cli, ["matrix", "-", "-n", "production"], input=cat, catch_exceptions=False)
    assert from_dir.exit_code == from_stdin.exit_code == 0
    assert from_dir.output == from_stdin.output and "production/deployment/frontend" in from_dir.output
