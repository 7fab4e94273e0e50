"""``podwall matrix`` output at any size: the plain text grid, and pod-level JSON/CSV limits."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.box import SIMPLE
from rich.console import Console
from rich.table import Table

from podwall.cli import matrix_cmd
from podwall.cli.main import cli
from podwall.report.render import LEGEND, matrix_grid

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import gen_cluster

sys.path.pop(0)


def rich_grid(labels: list[str], cells: list[list[str]], title: str) -> str:
    """The grid as rich's Table renders it (the layout podwall printed before it went plain)."""
    table = Table(box=SIMPLE, show_lines=False, pad_edge=False)
    table.add_column("from \\ to", no_wrap=True)
    for j in range(len(labels)):
        table.add_column(str(j + 1), justify="center", no_wrap=True)
    for i, lab in enumerate(labels):
        table.add_row(f"{i + 1} {lab}", *cells[i])
    width = len(labels) * 4 + max((len(x) for x in labels), default=0) + 20
    buf = io.StringIO()
    Console(file=buf, width=max(width, 80), color_system=None, force_terminal=False).print(table)
    body = "\n".join(line.rstrip() for line in buf.getvalue().strip("\n").splitlines())
    return f"{title}\n{body}\n{LEGEND}"


@settings(deadline=None)  # rich's rendering is slow on a loaded machine
@given(
    st.lists(st.text(alphabet="abz-/.09", min_size=1, max_size=30), min_size=1, max_size=14).flatmap(
        lambda labels: st.tuples(
            st.just(labels),
            st.lists(
                st.lists(st.sampled_from(".X~-"), min_size=len(labels), max_size=len(labels)),
                min_size=len(labels),
                max_size=len(labels),
            ),
        )
    )
)
def test_plain_grid_is_byte_for_byte_what_rich_renders(case: tuple[list[str], list[list[str]]]) -> None:
    labels, cells = case
    assert matrix_grid(labels, lambda i, j: cells[i][j], title="t") == rich_grid(labels, cells, "t")


@pytest.fixture(scope="module")
def cluster_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    d = tmp_path_factory.mktemp("gen")
    gen_cluster.write(str(d), 40, 16, 3)
    return [str(d / f) for f in ("namespaces.yaml", "pods.yaml", "policies.yaml")]


def run(args: list[str]):
    result = CliRunner().invoke(cli, ["matrix", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("output", ["json", "csv"])
def test_pod_level_above_the_limit_needs_by_pod(cluster_files, monkeypatch, output) -> None:
    monkeypatch.setattr(matrix_cmd, "POD_LEVEL_LIMIT", 10)  # the 40-endpoint cluster is "large"
    auto = run([*cluster_files, "-o", output])
    assert "pass --by pod for every pair" in auto.stderr
    assert "aggregated by workload" in auto.stderr
    if output == "json":
        assert json.loads(auto.stdout)["by"] == "workload"
    else:
        assert auto.stdout.splitlines()[0] == "from,to,state"
    explicit = run([*cluster_files, "-o", output, "--by", "pod"])
    assert explicit.stderr == ""
    if output == "json":
        data = json.loads(explicit.stdout)
        assert data["by"] == "pod" and len(data["cells"]) == 40 * 40
    else:
        assert len(explicit.stdout.splitlines()) == 1 + 40 * 40


def test_pod_level_below_the_limit_is_the_default(cluster_files) -> None:
    result = run([*cluster_files, "-o", "json"])
    assert result.stderr == ""
    assert json.loads(result.stdout)["by"] == "pod"
