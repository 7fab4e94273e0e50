"""The tier stage of the ruleset, without root: goldens and the shape of what is built.

The kernel side (``nft -c``, real packets) is in ``tests/lab/test_tiers.py`` and
``tests/lab/test_nft_kernel.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import podwall
from podwall.core.model import Options
from podwall.lab.topology import plan
from podwall.nft.compile import Counter, Ruleset, Verdict, compile_ruleset
from podwall.nft.script import diff_script, render, to_json
from podwall.sources.decode import load_texts
from podwall.sources.manifests import SourceText

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GOLDEN = HERE / "golden"
CNP = REPO / "tests" / "conformance" / "cnp"
PROPS = REPO / "tests" / "lab" / "data" / "tiers-properties"

GOLDENS = {
    "tiers-properties": [PROPS / "cluster.yaml", PROPS / "policies.yaml"],
    "cnp-integration-step2": [CNP / "cnp-admin-tier-integration/step2/cluster.yaml",
                              CNP / "cnp-admin-tier-integration/step2/policies.yaml"],
    "cnp-baseline-node-peers": [CNP / "experimental/cnp-baseline-tier-egress-node-peers/cluster.yaml",
                                CNP / "experimental/cnp-baseline-tier-egress-node-peers/policies.yaml"],
}
TIER_COMMENT = re.compile(
    r"\[(Admin|Baseline)\] (ClusterNetworkPolicy|AdminNetworkPolicy|BaselineAdminNetworkPolicy)/[a-z0-9.-]+ "
    r"(ingress|egress) rule #\d+ (Accept|Deny|Pass -> NetworkPolicy|Pass -> default allow)( \([^)]*\))?"
)


def compiled(paths: list[Path], options: Options | None = None) -> Ruleset:
    lc = podwall.load([str(p) for p in paths], options=options)
    assert lc.cluster.tier_policies
    p, c = plan(lc.cluster, "golden", options)
    return compile_ruleset(c, p.attachments(), options)


def from_text(text: str, options: Options | None = None) -> Ruleset:
    res = load_texts([SourceText("t.yaml", text)])
    assert not res.errors, res.diagnostics
    p, c = plan(res.cluster, "t", options)
    return compile_ruleset(c, p.attachments(), options)


def chains(rs: Ruleset, prefix: str) -> dict[str, list[str]]:
    text = render(rs)
    out: dict[str, list[str]] = {}
    for m in re.finditer(r"\tchain (\w+) \{\n(.*?)\n\t\}", text, re.S):
        if m.group(1).startswith(prefix):
            out[m.group(1)] = [line.strip() for line in m.group(2).splitlines()]
    return out


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_text(golden, name: str) -> None:  # type: ignore[no-untyped-def]
    golden(GOLDEN / f"{name}.nft", render(compiled(GOLDENS[name])))


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_json(golden, name: str) -> None:  # type: ignore[no-untyped-def]
    golden(GOLDEN / f"{name}.json", json.dumps(to_json(compiled(GOLDENS[name])), indent=1) + "\n")


def test_every_tier_rule_is_counted_and_commented_and_deny_never_rejects() -> None:
    rs = compiled(GOLDENS["tiers-properties"])
    seen = 0
    for c in rs.chains:
        if c.name[:4] in ("aeg_", "ain_", "beg_", "bin_"):
            for r in c.rules:
                assert TIER_COMMENT.fullmatch(r.comment), r.comment
                assert any(isinstance(x, Counter) for x in r.stmts)
                verdict = r.stmts[-1]
                assert isinstance(verdict, Verdict)
                m = TIER_COMMENT.fullmatch(r.comment)
                assert m is not None
                want = {"Accept": "accept", "Deny": "drop", "Pass -> default allow": "accept"}.get(m.group(4))
                if m.group(4) == "Pass -> NetworkPolicy":
                    want = "return"  # skips the rest of the Admin tier, back to the tier chain
                assert verdict.kind == want, r.comment
                seen += 1
    assert seen >= 9
    assert "reject" not in render(rs)


def test_tier_chain_order_and_a_baseline_never_follows_a_networkpolicy() -> None:
    rs = compiled(GOLDENS["tiers-properties"])
    disp = {m.name: dict(m.elements) for m in rs.maps}
    tiers = chains(rs, "t")
    # tenant-a/web: Admin first, then its NetworkPolicy (default-deny ends in drop); no Baseline
    p, _ = plan(podwall.load([str(x) for x in GOLDENS["tiers-properties"]]).cluster, "golden")
    web = next(x for x in p.pods if x.key == "tenant-a/web")
    eg = tiers[disp["egress_dispatch"][web.ifname]]
    assert [line.split(" comment ")[1] for line in eg] == [
        '"[Admin] ClusterNetworkPolicy/a-to-b"',
        '"[NetworkPolicy]"',
    ]
    # edge/probe: no NetworkPolicy isolates it, so the Baseline runs after the Admin tier
    probe = next(x for x in p.pods if x.key == "edge/probe")
    ing = tiers[disp["ingress_dispatch"][probe.ifname]]
    assert [line.split(" comment ")[1] for line in ing] == [
        '"[Admin] ClusterNetworkPolicy/edge-isolation"',
        '"[Baseline] ClusterNetworkPolicy/default"',
    ]
    # the host namespace of node-1 is not a pod: no dispatch, no anti-spoofing entry
    assert [h.ifname for h in p.hosts] and not any(h.ifname in disp["ingress_dispatch"] for h in p.hosts)


def test_admin_rules_of_one_direction_are_one_chain_in_priority_then_name_order() -> None:
    text = (PROPS / "cluster.yaml").read_text() + "\n---\n" + "\n---\n".join(
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
        f"metadata: {{name: {name}}}\nspec:\n  tier: Admin\n  priority: {prio}\n  subject: {{namespaces: {{}}}}\n"
        f"  ingress:\n  - {{name: r, action: {action}, from: [{{namespaces: {{}}}}]}}\n"
        for name, prio, action in (("zz", 1, "Pass"), ("aa", 1, "Deny"), ("first", 0, "Accept"))
    )
    rs = from_text(text)
    admin = list(chains(rs, "ain_").values())
    assert len(admin) == 1
    assert [line.split('"')[1].split(" ")[1] for line in admin[0]] == [
        "ClusterNetworkPolicy/first", "ClusterNetworkPolicy/aa", "ClusterNetworkPolicy/zz",
    ]


def test_hostnetwork_pods_are_never_in_pod_peer_sets_but_node_addresses_are() -> None:
    rs = compiled(GOLDENS["tiers-properties"])
    agents = next(s for s in rs.sets if s.name.startswith("tpeer4_") and "podSelector app=agent" in s.comment)
    assert agents.elements == ("10.8.4.10",)  # edge/probe; never edge/agent at 10.9.0.1
    nodes = compiled(GOLDENS["cnp-baseline-node-peers"])
    node_set = next(s for s in nodes.sets if s.name.startswith("tpeer4_") and s.comment.startswith("nodes "))
    assert node_set.elements == ("192.168.0.11", "192.168.0.12")


def test_a_port_number_matches_only_with_its_protocol() -> None:
    rs = compiled(GOLDENS["tiers-properties"])
    ports = {s.elements for s in rs.sets if s.name.startswith("ports_")}
    assert ("udp . 80",) in ports and ("tcp . 80",) in ports and ("tcp . 53",) in ports
    assert "meta l4proto . th dport" in render(rs)


def test_named_ports_resolve_on_the_destination_pods_with_their_protocol() -> None:
    d = CNP / "experimental" / "cnp-admin-tier-ingress-named-port"
    rs = compiled([d / "cluster.yaml", d / "policies.yaml"])
    named = next(s for s in rs.sets if s.name.startswith("tnamed4_"))
    assert named.comment == "named ports dns"
    assert named.elements and all(e.endswith(" . udp . 53") for e in named.elements)
    assert not any(e.startswith("192.168.") for e in named.elements)  # centaur has dns-34347, not dns


ANP = """
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: a, labels: {app: p}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: q, namespace: a, labels: {app: q}}
status: {podIP: 10.1.0.2}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: allow-http}
spec:
  priority: 3
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: p}}}}
  ingress:
  - {name: http, action: Allow, from: [{namespaces: {}}], ports: [{namedPort: http}]}
  - {name: range, action: Deny, from: [{pods: {namespaceSelector: {}, podSelector: {}}}],
     ports: [{portRange: {protocol: UDP, start: 1000, end: 2000}}]}
  egress:
  - {name: site, action: Allow, to: [{domainNames: [example.com]}]}
  - {name: out, action: Pass, to: [{networks: [10.0.0.0/8]}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  egress:
  - {name: no-internet, action: Deny, to: [{networks: [0.0.0.0/0]}]}
"""


def test_v1alpha1_admin_and_baseline_policies() -> None:
    rs = from_text(ANP)
    text = render(rs)
    assert 'counter accept comment "[Admin] AdminNetworkPolicy/allow-http ingress rule #1 Accept (http)"' in text
    assert "10.1.0.1 . tcp . 8080" in text
    assert "udp . 1000-2000" in text
    want = "[Admin] AdminNetworkPolicy/allow-http egress rule #2 Pass -> NetworkPolicy (out)"
    assert f'counter return comment "{want}"' in text
    assert 'counter drop comment "[Baseline] BaselineAdminNetworkPolicy/default egress rule #1 Deny (no-internet)"' in (
        text
    )


def test_domain_names_only_through_the_address_map() -> None:
    # without addresses the engine reads the peer as not matching: no rule in the kernel either
    assert "domainNames" not in render(from_text(ANP))
    rs = from_text(ANP, Options(domain_addresses={"example.com": ("203.0.113.7",)}))
    s = next(x for x in rs.sets if x.comment == "domainNames example.com" and x.key == ("ipv4_addr",))
    assert s.elements == ("203.0.113.7",)
    assert "AdminNetworkPolicy/allow-http egress rule #1 Accept (site)" in render(rs)


def test_a_cluster_without_tiers_has_no_tier_chains() -> None:
    rs = from_text(ANP.split("---\napiVersion: policy")[0])
    assert not [c for c in rs.chains if c.name[0] in "abt"]


def test_deterministic_whatever_the_input_order() -> None:
    docs = ANP.split("\n---\n")
    assert render(from_text("\n---\n".join(docs))) == render(from_text("\n---\n".join(reversed(docs))))


def test_a_rule_swap_is_a_one_chain_diff() -> None:
    base = CNP / "cnp-admin-tier-egress-tcp"
    a = compiled([base / "step1/cluster.yaml", base / "step1/policies.yaml"])
    b = compiled([base / "step2/cluster.yaml", base / "step2/policies.yaml"])
    d = diff_script(a, b)
    assert d.count("flush chain") == 1 and "delete set" not in d and "add element" not in d


def test_podwall_compile_prints_the_tiered_golden_and_rejects_a_bad_tier_policy(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from podwall.cli.main import cli

    paths = [str(p) for p in GOLDENS["tiers-properties"]]
    r = CliRunner().invoke(cli, ["compile", *paths], catch_exceptions=False)
    assert r.exit_code == 0
    assert r.output == (GOLDEN / "tiers-properties.nft").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: x}\n"
        "spec: {tier: Admin, priority: 1, subject: {namespaces: {}},\n"
        "       ingress: [{action: Drop, from: [{namespaces: {}}]}]}\n"
    )
    r = CliRunner().invoke(cli, ["compile", str(bad)])
    assert r.exit_code == 2 and "spec.ingress[0].action" in r.output


def test_lab_plan_keeps_the_tiers_and_gives_nodes_host_namespaces() -> None:
    d = CNP / "experimental" / "cnp-admin-tier-egress-node-peers"
    lc = podwall.load([str(d / "cluster.yaml"), str(d / "policies.yaml")])
    p, c = plan(lc.cluster, "t")
    # both reach the compiler
    assert c.tier_policies == lc.cluster.tier_policies and c.nodes == lc.cluster.nodes
    assert [(h.key, h.netns, h.ips) for h in p.hosts] == [
        ("host:node-1", "podwall-t-host-node-1", ("192.168.0.11",)),
        ("host:node-2", "podwall-t-host-node-2", ("192.168.0.12",)),
    ]
    centaur = "network-policy-conformance-forbidden-forrest/centaur-1"
    assert dict(p.host_of)[centaur] == "host:node-2"
    assert p.place(centaur) == p.hosts[1] and p.pod(centaur) is None
    assert (34345, "TCP") in p.hosts[1].ports and (34347, "UDP") in p.hosts[1].ports
    assert p.host_with_ip("192.168.0.11") == p.hosts[0]
    assert not p.skipped
    assert set(p.attachments()) == {x.key for x in p.pods}  # hosts get no dispatch


def test_a_hostnetwork_pod_without_a_node_gets_its_own_host_and_clashes_are_reported() -> None:
    text = """
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 10.1.0.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: a}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: h, namespace: a}
spec: {hostNetwork: true, containers: [{name: c, ports: [{containerPort: 9100}]}]}
status: {podIP: 10.2.0.1}
"""
    res = load_texts([SourceText("t.yaml", text)])
    p, _ = plan(res.cluster, "t")
    assert [(h.key, h.ips, h.ports) for h in p.hosts] == [("host:a/h", ("10.2.0.1",), ((9100, "TCP"),))]
    assert ("host:n1", "IP 10.1.0.1 is already used by a/p") in p.skipped
