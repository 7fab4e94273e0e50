"""Shared inputs for the report tests: the seed, a generated cluster, and the seed before a change."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from podwall.cli.main import cli
from podwall.report.html import extract_document

REPO = Path(__file__).resolve().parents[2]
SEED = str(REPO / "examples" / "seed" / "manifests")

sys.path.insert(0, str(REPO / "bench"))
import gen_cluster  # noqa: E402

sys.path.pop(0)


def run(*args: str) -> tuple[int, str, str]:
    """``podwall ARGS`` in-process: exit code, stdout, stderr."""
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def explain_output(command: str) -> str:
    """What ``podwall explain ...`` prints for a command line the page shows."""
    words = shlex.split(command)
    assert words[:2] == ["podwall", "explain"], command
    code, out, err = run(*words[1:])
    assert code == 0, err
    return out.rstrip("\n")


def write_report(tmp: Path, name: str, *args: str) -> tuple[Path, dict]:
    out = tmp / f"{name}.html"
    code, _, err = run("report", *args, "-o", str(out))
    assert code == 0, err
    return out, extract_document(out.read_text(encoding="utf-8"))


def seed_without(tmp: Path, policy: str) -> str:
    """A copy of the seed's manifests without one NetworkPolicy (by name)."""
    d = tmp / f"seed-without-{policy}"
    d.mkdir()
    src = Path(SEED)
    (d / "cluster.yaml").write_text((src / "cluster.yaml").read_text())
    docs = (src / "policies.yaml").read_text().split("\n---\n")
    kept = [doc for doc in docs if f"name: {policy}\n" not in doc]
    assert len(kept) == len(docs) - 1, f"no policy {policy} in the seed"
    (d / "policies.yaml").write_text("\n---\n".join(kept))
    return str(d)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A 120-pod generated cluster with ipBlocks, named ports, endPort ranges, owner-grouped pods."""
    d = tmp_path_factory.mktemp("gen-report")
    gen_cluster.write(str(d), 120, 30, 5)
    return [str(d / f) for f in ("namespaces.yaml", "pods.yaml", "policies.yaml")]


def generate(d: Path, pods: int, policies: int, seed: int = 1) -> list[str]:
    gen_cluster.write(str(d), pods, policies, seed)
    return [str(d / f) for f in ("namespaces.yaml", "pods.yaml", "policies.yaml")]
