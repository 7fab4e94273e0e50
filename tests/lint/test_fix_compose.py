"""``--fix-dir`` writes many fixes at once: they are checked together, not only one by one.

Two policies allow the same connection; a fix that deletes either one changes no verdict (the
other still allows it), so each passes alone. Applied together they flip verdicts that no
finding is about, so the second is left out, with the reason, and what is written is exactly
what passes when applied as one change."""

from __future__ import annotations

from tests.unit.core.core_builders import labels_sel, pod

from podwall.core.lint import Change, Effect, Finding, Fix, FixAction, RuleId, checked_together, compose_fixes
from podwall.core.lint.documents import identity_doc
from podwall.core.matrix_delta import DeltaChecker
from podwall.core.model import Cluster, ContainerPort, Direction, Namespace, Peer, Policy, Protocol, Rule
from podwall.report.fixes import checked_fix_files


def _allow(name: str) -> Policy:
    return Policy(
        namespace="app",
        name=name,
        pod_selector=labels_sel(app="server"),
        policy_types=frozenset({Direction.INGRESS}),
        ingress=(Rule(peers=(Peer(pod_selector=labels_sel(app="client")),)),),
    )


def _delete(p: Policy) -> Finding:
    fix = Fix(
        name=f"{p.namespace}.{p.name}",
        manifest=identity_doc(p),
        action=FixAction.DELETE,
        change=Change(removed=(p,), effect=Effect.NONE),
    )
    return Finding(rule=RuleId.SHADOWED_RULE, message=f"{p.key} duplicates the other", policy=p.key, fix=fix)


def _cluster() -> tuple[Cluster, Policy, Policy]:
    a, b = _allow("allow-a"), _allow("allow-b")
    server = pod("app", "server", {"app": "server"}, ports=(("http", 80, Protocol.TCP),))
    assert server.ports == (ContainerPort(name="http", port=80, protocol=Protocol.TCP),)
    eps = (pod("app", "client", {"app": "client"}), pod("app", "other", {"app": "other"}), server)
    return Cluster(namespaces={"app": Namespace(name="app")}, endpoints=eps, policies=(a, b)), a, b


def test_each_fix_passes_alone_but_not_together() -> None:
    from podwall.core.model import Options

    cluster, a, b = _cluster()
    opts = Options()
    delta = DeltaChecker(cluster, opts)
    assert list(delta.flipped([a], [])) == [] and list(delta.flipped([b], [])) == []
    both = list(delta.flipped([a, b], []))
    assert both  # app/other -> server opens once neither policy isolates it
    findings = [_delete(a), _delete(b)]
    assert [c.name for c in compose_fixes(findings)] == ["app.allow-a", "app.allow-b"]
    kept, dropped = checked_together(findings, cluster, opts)
    assert [c.name for c in kept] == ["app.allow-a"]
    why = "together with the fixes written, applying it would allow Pod app/other"
    assert [(c.name, w.split(" -> ")[0]) for c, w in dropped] == [("app.allow-b", why)]
    files, notes = checked_fix_files(findings, cluster, opts)
    assert list(files) == ["delete/app.allow-a.yaml"]
    assert notes == [f"app.allow-b: not written: {dropped[0][1]}"]


def test_fixes_that_pass_together_are_all_written() -> None:
    from podwall.core.model import Options

    cluster, a, _b = _cluster()
    kept, dropped = checked_together([_delete(a)], cluster, Options())
    assert [c.name for c in kept] == ["app.allow-a"] and dropped == []
