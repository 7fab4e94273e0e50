"""``podwall compile`` end to end (no root needed)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from podwall.cli.main import cli

HERE = Path(__file__).resolve().parent
FEATURES = str(HERE / "data" / "features.yaml")


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_compile_prints_the_golden_ruleset() -> None:
    r = run("compile", FEATURES)
    assert r.exit_code == 0
    assert r.output == (HERE / "golden" / "features.nft").read_text()


def test_compile_json_is_nft_json() -> None:
    r = run("compile", FEATURES, "-o", "json")
    assert r.exit_code == 0
    doc = json.loads(r.output)
    # nft's own JSON inside podwall's envelope (nft ignores the two extra keys)
    assert doc.pop("schema") == "podwall/v1" and doc.pop("kind") == "NftRuleset"
    assert doc == json.loads((HERE / "golden" / "features.json").read_text())
    assert doc["nftables"][0] == {"add": {"table": {"family": "inet", "name": "podwall"}}}


def test_compile_is_deterministic_and_table_is_configurable() -> None:
    a, b = run("compile", FEATURES, "--table", "mine"), run("compile", FEATURES, "--table", "mine")
    assert a.output == b.output and a.output.startswith("table inet mine {")


def test_bad_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: x}\nspec: {podSelector: 3}\n"
    )
    r = CliRunner().invoke(cli, ["compile", str(bad)])
    assert r.exit_code == 2
    assert "error:" in r.output
    r = CliRunner().invoke(cli, ["compile", str(tmp_path / "missing.yaml")])
    assert r.exit_code == 2


def test_help_texts() -> None:
    for args in (
        ["compile"],
        ["lab"],
        ["lab", "up"],
        ["lab", "apply"],
        ["lab", "test"],
        ["lab", "probe"],
        ["lab", "status"],
        ["lab", "down"],
    ):
        r = run(*args, "--help")
        assert r.exit_code == 0 and "Usage:" in r.output, args
