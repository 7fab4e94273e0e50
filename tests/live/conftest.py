"""Fixtures for the live-cluster tests: manifests turned into API objects, an emulator, a kubeconfig."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

SCHEMAS = Path(__file__).resolve().parent.parent.parent / "docs" / "schemas"


def valid_doc(text: str, kind: str) -> dict[str, Any]:
    """The JSON document ``text``, checked against docs/schemas/<kind>.json."""
    doc = json.loads(text)
    assert (doc["schema"], doc["kind"]) == ("podwall/v1", kind)
    schema = json.loads((SCHEMAS / f"{kind}.json").read_text())
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    return dict(doc)

CLUSTER_SCOPED = {"Namespace", "Node", "ClusterNetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"}


def _plain(value: Any) -> Any:
    """YAML values as the API server would hold them (timestamps as strings)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime.date) else str(v)))


def manifest_objects(paths: Iterable[Path], namespace: str = "default") -> list[dict[str, Any]]:
    """The objects ``kubectl apply -n NAMESPACE -f PATHS`` would create (Lists flattened)."""
    out: list[dict[str, Any]] = []
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.rglob("*.yaml")) if p.is_dir() else [p])
    for f in files:
        for doc in yaml.safe_load_all(f.read_text()):
            if not isinstance(doc, dict):
                continue
            items = doc.get("items") if str(doc.get("kind", "")).endswith("List") else [doc]
            for obj in items or []:
                obj = _plain(obj)
                if obj.get("kind") not in CLUSTER_SCOPED:
                    obj.setdefault("metadata", {}).setdefault("namespace", namespace)
                out.append(obj)
    return out


@pytest.fixture
def kubeconfig_for(tmp_path: Path) -> Iterator[Any]:
    def make(emu: Any, **kw: Any) -> str:
        return str(emu.kubeconfig(tmp_path / f"kubeconfig-{len(list(tmp_path.iterdir()))}", **kw))

    yield make
