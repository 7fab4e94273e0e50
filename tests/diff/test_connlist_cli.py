"""``podwall matrix --ports all``: the connectivity list in every format, and its groupings."""

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
from podwall.core.connectivity import connections
from podwall.core.portsets import PortSet

SEED = str(Path(__file__).resolve().parents[2] / "examples" / "seed" / "manifests")


def run(args: list[str], code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["matrix", *args])
    assert result.exit_code == code, result.output
    return result.stdout


def test_seed_text_lines() -> None:
    out = run([SEED, "-n", "production", "--ports", "all"]).splitlines()
    assert "production/deployment/backend => kube-system/deployment/coredns : TCP 53; UDP 53" in out
    assert "production/deployment/frontend => production/deployment/backend : TCP 8080" in out
    assert "monitoring/deployment/prometheus => production/statefulset/postgres : TCP 9090" in out
    assert "production/deployment/frontend => 0.0.0.0-255.255.255.255 : all" in out
    # pairs with nothing allowed are left out: backend's egress goes to postgres and DNS only
    assert not [x for x in out if x.startswith("production/deployment/backend => ci/")]


@pytest.fixture(scope="module")
def gen_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        import gen_cluster
    finally:
        sys.path.pop(0)
    d = tmp_path_factory.mktemp("gen")
    gen_cluster.write(str(d), 40, 16, 5)
    return [str(d / f) for f in ("namespaces.yaml", "pods.yaml", "policies.yaml")]


def test_json_is_a_document_and_equals_per_pair(gen_files: list[str]) -> None:
    data = json.loads(run([*gen_files, "--ports", "all", "-o", "json"]))
    assert data["schema"] == "podwall/v1" and data["kind"] == "ConnectivityList"
    loaded = podwall.load(gen_files)
    got = {(c["from"], c["to"]): PortSet.from_json(c["allowed"]) for c in data["connections"]}
    assert all(ps for ps in got.values())
    eps = loaded.cluster.endpoints
    for src in eps:
        for dst in eps:
            want = connections(loaded.engine, src, dst)
            assert got.get((src.key, dst.key), PortSet.none()) == want, (src.key, dst.key)
    # some egress reaches the internet ranges that the generator's ipBlocks carve out
    assert any("-" in k[1] and k[1][0].isdigit() for k in got)


def test_csv_md_and_text_say_the_same(gen_files: list[str]) -> None:
    text = {
        tuple(x.split(" => ", 1)[0:1]) + tuple(x.split(" => ", 1)[1].split(" : "))
        for x in run([*gen_files, "--ports", "all"]).splitlines()
    }
    rows = list(csv.reader(io.StringIO(run([*gen_files, "--ports", "all", "-o", "csv"]))))
    assert rows[0] == ["from", "to", "allowed"]
    assert {tuple(r) for r in rows[1:]} == text
    md = run([*gen_files, "--ports", "all", "-o", "md"]).splitlines()
    assert md[0] == "| from | to | allowed |" and len(md) == len(rows) + 1


def test_groupings_are_unions_of_members(gen_files: list[str]) -> None:
    loaded = podwall.load(gen_files)
    eps = loaded.cluster.endpoints
    for by in ("workload", "namespace"):
        data = json.loads(run([*gen_files, "--ports", "all", "--by", by, "-o", "json"]))
        got = {(c["from"], c["to"]): PortSet.from_json(c["allowed"]) for c in data["connections"]}

        def group(e: podwall.Endpoint, by: str = by) -> str:
            return e.namespace if by == "namespace" else (e.owner or e.key)

        want: dict[tuple[str, str], PortSet] = {}
        for src in eps:
            for dst in eps:
                if src is dst and src.is_pod:
                    continue
                k = (group(src), group(dst))
                want[k] = want.get(k, PortSet.none()) | connections(loaded.engine, src, dst)
        assert {k: v for k, v in got.items() if not k[0][0].isdigit() and not k[1][0].isdigit()} == {
            k: v for k, v in want.items() if v
        }
    assert list(loaded.connections(by="namespace"))


def test_port_and_all_ports_exclude_each_other() -> None:
    result = CliRunner().invoke(cli, ["matrix", SEED, "--ports", "all", "--port", "80"])
    assert result.exit_code == 2
    assert "exclude each other" in result.output
