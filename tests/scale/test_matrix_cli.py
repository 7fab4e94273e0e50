"""``podwall matrix`` on larger inputs: streamed JSON/CSV, aggregation, progress bar."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import podwall
from podwall.cli.main import cli
from podwall.cli.matrix_cmd import _Bar, aggregate
from podwall.core.reachability import reference_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import gen_cluster

sys.path.pop(0)


@pytest.fixture(scope="module")
def cluster_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    d = tmp_path_factory.mktemp("gen")
    gen_cluster.write(str(d), 40, 16, 3)
    return [str(d / f) for f in ("namespaces.yaml", "pods.yaml", "policies.yaml")]


def run(args: list[str], columns: int = 200) -> str:
    result = CliRunner().invoke(cli, ["matrix", *args], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_pod_json_is_valid_and_equals_reference(cluster_files: list[str]) -> None:
    data = json.loads(run([*cluster_files, "-o", "json"]))
    ref = reference_matrix(podwall.load(cluster_files).engine)
    assert data["by"] == "pod"
    assert data["endpoints"] == [e.key for e in ref.endpoints]
    n = len(ref)
    assert len(data["cells"]) == n * n
    for k, cell in enumerate(data["cells"]):
        i, j = divmod(k, n)
        assert cell["from"] == ref.endpoints[i].key and cell["to"] == ref.endpoints[j].key
        assert cell["allowed"] == [f"{p}/{q}" for p, q in ref.allowed(i, j)]
        assert cell["checked"] == [f"{p}/{q}" for p, q in ref.checked(j)]
        assert cell["state"] == ref.state(i, j)


def test_pod_csv_streams_every_pair(cluster_files: list[str]) -> None:
    rows = list(csv.reader(io.StringIO(run([*cluster_files, "-o", "csv"]))))
    n = len(podwall.load(cluster_files).cluster.endpoints)
    assert rows[0] == ["from", "to", "state", "allowed", "checked"]
    assert len(rows) == 1 + n * n


@pytest.mark.parametrize("by", ["workload", "namespace"])
def test_aggregated_json_equals_reference(cluster_files: list[str], by: str) -> None:
    data = json.loads(run([*cluster_files, "-o", "json", "--by", by]))
    labels, cell = aggregate(reference_matrix(podwall.load(cluster_files).engine), by)
    assert data["groups"] == labels
    assert [c["state"] for c in data["cells"]] == [cell(a, b) for a in range(len(labels)) for b in range(len(labels))]


def test_auto_aggregates_when_too_wide(cluster_files: list[str]) -> None:
    assert "(by pod;" in run([*cluster_files], columns=400)
    assert "(by namespace;" in run([*cluster_files], columns=60)


def test_progress_bar_only_after_delay() -> None:
    quiet = _Bar(enabled=True, delay=3600)
    quiet("work", 1, 2)
    assert quiet._progress is None
    off = _Bar(enabled=False, delay=0)
    off("work", 1, 2)
    assert off._progress is None
    with _Bar(enabled=True, delay=0) as shown:
        shown("work", 1, 2)
        assert shown._progress is not None
