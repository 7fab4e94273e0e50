"""The lab commands' JSON documents, from a real lab, validated against docs/schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner

from podwall.cli.main import cli

from .conftest import CONFORMANCE, REPO, TAG

CASE = CONFORMANCE / "default-deny-ingress"


def _doc(args: list[str], code: int, kind: str) -> dict[str, Any]:
    r = CliRunner().invoke(cli, [*args, "-o", "json"])
    assert r.exit_code == code, r.output
    doc = json.loads(r.stdout)
    assert (doc["schema"], doc["kind"]) == ("podwall/v1", kind)
    schema = json.loads((REPO / "docs" / "schemas" / f"{kind}.json").read_text())
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    return doc


def test_lab_json_documents(tmp_path: Path) -> None:
    name = f"{TAG}j"
    lab = ["--lab", name]
    paths = [str(CASE / "cluster.yaml"), str(CASE / "policies.yaml")]
    try:
        up = _doc(["lab", "up", *paths, *lab], 0, "LabChange")
        assert up["lab"] == name and up["pods"] == 9
        assert _doc(["lab", "status", *lab], 0, "LabStatus")["healthy"] is True
        probe = _doc(["lab", "probe", *lab, "--from", "y/a", "--to", "x/a", "--port", "80"], 0, "LabProbe")
        assert (probe["kernel"], probe["engine"]) == ("deny", "deny")
        report = _doc(["lab", "test", *lab, "--expect", str(CASE / "expected.yaml")], 0, "LabTestReport")
        s = report["summary"]
        assert s["failed"] == 0 and s["total"] == s["passed"] + s["advisory"] + s["not_run"] == 81
        wrong = tmp_path / "wrong.yaml"
        wrong.write_text("- {from: y/a, to: x/a, port: 80, expect: Allow}\n- {from: x/a, to: x/a, port: 80, "
                         "expect: deny, advisory: true}\n")
        report = _doc(["lab", "test", *lab, "--expect", str(wrong)], 1, "LabTestReport")
        assert report["summary"] == {"total": 2, "passed": 0, "failed": 1, "advisory": 1, "not_run": 0}
        assert _doc(["lab", "apply", str(CASE / "cluster.yaml"), *lab], 0, "LabChange")["nft"] == "diff"
        err = _doc(["lab", "probe", *lab, "--from", "y/a", "--to", "nope/x", "--port", "80"], 2, "Error")
        assert err["error"]["code"] == 2
    finally:
        down = _doc(["lab", "down", *lab], 0, "LabDown")
    assert len(down["removed"]) == 10
    assert _doc(["lab", "status", *lab], 3, "Error")["error"]["type"] == "LabError"
