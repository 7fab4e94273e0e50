"""The compiler and the scripts, without root: golden rulesets and the shape of what is built."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import podwall
from podwall.core.model import Options
from podwall.lab.topology import plan
from podwall.nft.compile import Counter, Ruleset, compile_ruleset
from podwall.nft.script import (
    Names,
    create_script,
    diff_script,
    render,
    replace_script,
    ruleset_from_dict,
    ruleset_to_dict,
    to_json,
)
from podwall.sources.decode import load_texts
from podwall.sources.manifests import SourceText

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DATA = HERE / "data"
GOLDEN = HERE / "golden"
FEATURES = DATA / "features.yaml"
SEED = REPO / "examples" / "seed" / "manifests"
CASE = REPO / "tests" / "conformance" / "upstream" / "ingress-from-namespace-on-one-named-port"

KEYWORDS = {"fwd", "accept", "drop", "counter", "meta", "ct", "set", "map", "vmap", "jump", "goto", "return",
            "reject", "mark", "ip", "ip6", "tcp", "udp", "inet", "bridge", "type", "hook", "priority", "policy",
            "element", "rule", "table", "chain", "log", "limit", "queue", "notrack", "dup", "flow"}


def compiled(paths: list[Path], namespace: str = "default", options: Options | None = None) -> Ruleset:
    lc = podwall.load([str(p) for p in paths], namespace=namespace, options=options)
    p, c = plan(lc.cluster, "golden", options)
    return compile_ruleset(c, p.attachments(), options)


def from_text(text: str, options: Options | None = None) -> Ruleset:
    res = load_texts([SourceText("t.yaml", text)])
    assert not res.errors, res.errors
    p, c = plan(res.cluster, "t", options)
    return compile_ruleset(c, p.attachments(), options)


GOLDENS = {
    "features": ([FEATURES], "default"),
    "seed": ([SEED], "production"),
    "named-port-case": ([CASE / "cluster.yaml", CASE / "policies.yaml"], "default"),
}


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_text(golden, name: str) -> None:  # type: ignore[no-untyped-def]
    paths, ns = GOLDENS[name]
    golden(GOLDEN / f"{name}.nft", render(compiled(paths, ns)))


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_json(golden, name: str) -> None:  # type: ignore[no-untyped-def]
    paths, ns = GOLDENS[name]
    golden(GOLDEN / f"{name}.json", json.dumps(to_json(compiled(paths, ns)), indent=1) + "\n")


def test_deterministic_whatever_the_input_order() -> None:
    docs = FEATURES.read_text().split("\n---\n")
    a = from_text("\n---\n".join(docs))
    b = from_text("\n---\n".join(reversed(docs)))
    assert render(a) == render(b)


def test_names_are_safe_for_nft() -> None:
    rs = compiled([FEATURES])
    names = [c.name for c in rs.chains] + [s.name for s in rs.sets] + [m.name for m in rs.maps]
    for n in names:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", n), n
        assert n not in KEYWORDS
        assert len(n) < 64


def test_every_policy_rule_is_counted_and_commented() -> None:
    rs = compiled([FEATURES])
    for c in rs.chains:
        if c.name.startswith(("pin_", "peg_")):
            for r in c.rules:
                assert re.fullmatch(r"shop/[a-z-]+ (ingress|egress) rule #\d+", r.comment)
                assert any(isinstance(x, Counter) for x in r.stmts)
    text = render(rs)
    assert 'counter drop comment "ingress isolated by shop/deny-all, shop/web-in: no rule allows it"' in text


def test_structure_two_forward_chains_ct_first_dispatch_maps() -> None:
    rs = compiled([FEATURES])
    base = {c.name: c for c in rs.chains if c.hook}
    assert set(base) == {"guard", "egress_fw", "ingress_fw"}
    assert base["egress_fw"].hook.priority < base["ingress_fw"].hook.priority  # type: ignore[union-attr]
    text = render(rs)
    for chain in ("egress_fw", "ingress_fw"):
        body = text.split(f"chain {chain} {{")[1].split("}")[0].strip().splitlines()
        assert body[1].strip() == "ct state established,related accept"
    assert "iifname vmap @egress_dispatch" in text and "oifname vmap @ingress_dispatch" in text
    assert "iifname @pod_links iifname . ip saddr != @pod_src4 counter drop" in text
    assert "iifname @pod_links ip6 saddr != fe80::/10 iifname . ip6 saddr != @pod_src6 counter drop" in text


def test_unselected_pods_have_no_dispatch_entry() -> None:
    rs = compiled([FEATURES])
    maps = {m.name: dict(m.elements) for m in rs.maps}
    # only the two shop pods are isolated; ops/agent and the hostNetwork pod are not
    assert len(maps["ingress_dispatch"]) == 2 and len(maps["egress_dispatch"]) == 2


def test_pods_sharing_policies_share_one_signature_chain() -> None:
    text = "\n---\n".join(
        [
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: a, labels: {{x: y}}}}\nstatus: {{podIP: "
            f"10.1.0.{i + 1}}}"
            for i in range(5)
        ]
        + [
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d, namespace: a}\nspec: "
            "{podSelector: {}}"
        ]
    )
    rs = from_text(text)
    ingress = dict(next(m for m in rs.maps if m.name == "ingress_dispatch").elements)
    assert len(ingress) == 5 and len(set(ingress.values())) == 1


def test_ipblock_except_and_endport_and_protocols() -> None:
    rs = compiled([FEATURES])
    v4 = next(s for s in rs.sets if "10.0.0.0/8 except" in s.comment and s.key == ("ipv4_addr",))
    assert v4.interval
    assert "10.244.0.0/24" not in " ".join(v4.elements) and "10.0.0.0/9" in v4.elements
    assert not any(e.startswith("10.250.") for e in v4.elements)
    ports = {s.comment: s.elements for s in rs.sets if s.name.startswith("ports_")}
    assert ("tcp . 9000-9020",) in ports.values()  # overlapping endPort ranges merged
    assert ("sctp . 7000", "udp . 0-65535") in ports.values()


def test_named_ports_resolve_per_destination_pod() -> None:
    rs = compiled([FEATURES])
    egress = next(s for s in rs.sets if s.name.startswith("named4_") and "web-out egress" in s.comment)
    assert egress.elements == ("10.244.0.11 . tcp . 5432", "10.244.0.11 . tcp . 9000")
    ingress = next(s for s in rs.sets if s.name.startswith("named4_") and "web-in ingress" in s.comment)
    assert ingress.elements == ("10.244.0.10 . tcp . 8080",)


def test_ipblock_matches_pods_option_keeps_pods_out() -> None:
    on = compiled([FEATURES])
    off = compiled([FEATURES], options=Options(ipblock_matches_pods=False))
    def block(rs: Ruleset) -> tuple[str, ...]:
        return next(s for s in rs.sets if s.comment == "peer ipBlock 0.0.0.0/0" and s.key == ("ipv4_addr",)).elements
    assert block(on) == ("0.0.0.0/0",)
    # the shop pods and the lab's workload address are cut out; the hostNetwork pod (node traffic) is not
    assert "0.0.0.0/0" not in block(off)
    assert not any(e in ("10.244.0.10", "10.244.0.11") for e in block(off))


def test_serialisation_round_trip() -> None:
    rs = compiled([FEATURES])
    again = ruleset_from_dict(json.loads(json.dumps(ruleset_to_dict(rs))))
    assert again == rs
    assert render(again) == render(rs)


def _two_pods(n: int, allow_from: str = "b") -> str:
    pods = [
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {nm}, namespace: a, labels: {{app: {nm[0]}}}}}\nstatus: "
        f"{{podIP: 10.1.0.{i + 1}}}"
        for i, nm in enumerate(["a", "b", "c", "b2"][:n])
    ]
    pol = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\n"
        f"spec: {{podSelector: {{matchLabels: {{app: a}}}}, ingress: [{{from: [{{podSelector: {{matchLabels: {{app: "
        f"{allow_from}}}}}}}]}}]}}"
    )
    return "\n---\n".join([*pods, pol])


def test_diff_of_a_pod_change_is_only_elements() -> None:
    a = from_text(_two_pods(3))
    b = from_text(_two_pods(4))
    assert diff_script(a, a) == ""
    d = diff_script(a, b)
    assert d.strip() and "flush" not in d and "delete" not in d
    assert all(line.startswith("add element") for line in d.strip().splitlines())


def test_diff_of_a_policy_change_flushes_only_the_changed_chain() -> None:
    a = from_text(_two_pods(3, "b"))
    b = from_text(_two_pods(3, "c"))
    d = diff_script(a, b)
    assert "add set" in d or "set peer4_" in d
    assert d.count("flush chain") == 1 + d.count("delete chain")
    assert "delete set" in d


def test_replace_script_keeps_sets_and_deletes_stale_objects() -> None:
    rs = from_text(_two_pods(3))
    kept = rs.sets[0].name
    s = replace_script(
        rs,
        Names(chains=frozenset({"old_chain"}), sets=frozenset({kept, "old_set"}), maps=frozenset({"egress_dispatch"})),
    )
    lines = s.splitlines()
    assert lines[:2] == ["add table inet podwall", "flush table inet podwall"]
    assert f"flush set inet podwall {kept}" in lines
    assert "delete chain inet podwall old_chain" in lines and "delete set inet podwall old_set" in lines
    assert "flush map inet podwall egress_dispatch" in lines
    assert not any(line.startswith(f"delete set inet podwall {kept}") for line in lines)
    assert create_script(rs).startswith("add table inet podwall\ndelete table inet podwall\ntable inet podwall {")
