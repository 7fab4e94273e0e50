"""The kernel accepts every ruleset podwall compiles, and every way of updating it.

``nft -c`` runs in an anonymous throw-away namespace; the update tests use a lab's node.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

import podwall
from podwall.lab.netns import create_node, teardown
from podwall.lab.topology import lab_prefix, node_netns, plan
from podwall.nft.apply import Nft, check
from podwall.nft.compile import Ruleset, compile_ruleset
from podwall.nft.script import create_script, diff_script, to_json

from .conftest import CONFORMANCE, REPO, TAG

FEATURES = REPO / "tests" / "nft" / "data" / "features.yaml"
SEED = REPO / "examples" / "seed" / "manifests"
CNP = REPO / "tests" / "conformance" / "cnp"


def _inputs() -> list[tuple[str, list[Path], str]]:
    out = [("features", [FEATURES], "default"), ("seed", [SEED], "production")]
    for case in sorted(p for p in CONFORMANCE.iterdir() if p.is_dir()):
        steps = sorted(p for p in case.iterdir() if p.is_dir()) or [case]
        for d in steps:
            out.append((f"{case.name}/{d.name}", [d / "cluster.yaml", d / "policies.yaml"], "default"))
    # cluster-wide tiers (nft/tiers.py): every ClusterNetworkPolicy conformance state, and the properties scenario
    for d in sorted({p.parent for p in CNP.rglob("policies.yaml")}):
        out.append((f"cnp/{d.relative_to(CNP)}", [d / "cluster.yaml", d / "policies.yaml"], "default"))
    props = REPO / "tests" / "lab" / "data" / "tiers-properties"
    out.append(("tiers-properties", [props / "cluster.yaml", props / "policies.yaml"], "default"))
    return out


INPUTS = _inputs()


def compiled(paths: list[Path], ns: str) -> Ruleset:
    lc = podwall.load([str(p) for p in paths], namespace=ns)
    p, c = plan(lc.cluster, "k")
    return compile_ruleset(c, p.attachments())


@pytest.mark.parametrize("name,paths,ns", INPUTS, ids=[i[0] for i in INPUTS])
def test_kernel_accepts_text_and_json(name: str, paths: list[Path], ns: str) -> None:
    rs = compiled(paths, ns)
    check(create_script(rs))
    check(json.dumps(to_json(rs)), json_in=True)


def _state(nft: Nft) -> dict[str, object]:
    doc = json.loads(nft.run("list table inet podwall", json_out=True))
    out: dict[str, object] = {}
    for item in doc["nftables"]:
        for kind in ("set", "map", "chain"):
            if kind in item:
                o = item[kind]
                out[f"{kind} {o['name']}"] = sorted(json.dumps(e, sort_keys=True) for e in o.get("elem", []))
        if "rule" in item:
            r = item["rule"]
            exprs = [e for e in r["expr"] if "counter" not in e]
            out.setdefault(f"rules {r['chain']}", []).append(json.dumps([exprs, r.get("comment")], sort_keys=True))  # type: ignore[union-attr]
    return out


def test_every_update_path_gives_the_state_of_a_fresh_load() -> None:
    prefix = lab_prefix(f"{TAG}k")
    node = node_netns(f"{TAG}k")
    teardown(prefix)
    try:
        create_node(node)
        with Nft(node) as nft:
            seq = [INPUTS[i] for i in range(len(INPUTS)) if i % 3 == 0][:10]
            rulesets = [compiled(p, ns) for _, p, ns in seq if all(x.exists() for x in p)]
            nft.create(rulesets[0])
            for old, new in itertools.pairwise(rulesets):
                # diff and replace both reach exactly the state of a fresh create
                nft.create(old)
                how = nft.update(old, new)
                assert how in ("diff", "replace", "none")
                after_update = _state(nft)
                nft.create(old)
                nft.replace(new)
                after_replace = _state(nft)
                nft.create(new)
                fresh = _state(nft)
                assert after_update == fresh
                assert after_replace == fresh
            assert diff_script(rulesets[-1], rulesets[-1]) == ""
    finally:
        teardown(prefix)


def test_tier_updates_give_the_state_of_a_fresh_load() -> None:
    """Rule swaps, relabels and inserted rules of the CNP conformance steps, as diffs and as replacements."""
    prefix = lab_prefix(f"{TAG}j")
    node = node_netns(f"{TAG}j")
    teardown(prefix)
    try:
        create_node(node)
        with Nft(node) as nft:
            wanted = ("cnp/cnp-admin-tier-egress-inline", "cnp/cnp-admin-tier-gress")
            seq = [i for i in INPUTS if i[0].startswith(wanted)]
            seq += [i for i in INPUTS if i[0] == "tiers-properties"]
            seq += [i for i in INPUTS if i[0] == "seed"]  # and to no tiers at all
            rulesets = [compiled(p, ns) for _, p, ns in seq]
            assert len(rulesets) == 10 and not [c for c in rulesets[-1].chains if c.name[0] in "abt"]
            for old, new in itertools.pairwise(rulesets):
                nft.create(old)
                assert nft.update(old, new) in ("diff", "replace", "none")
                after_update = _state(nft)
                nft.create(old)
                nft.replace(new)
                after_replace = _state(nft)
                nft.create(new)
                assert after_update == _state(nft) == after_replace
    finally:
        teardown(prefix)
