"""``diff`` with cluster-wide tiers: the difference of the two port-set matrices, causes that name
the tier rule, mirror symmetry; on random clusters whose pull requests edit Admin and Baseline
policies (rules added, removed, re-actioned, priorities moved) as well as NetworkPolicies."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.diff.strategies import mutated
from tests.diff.test_diff_random import expected, rows
from tests.scale.test_fast_matrix_tiers import tier_clusters, tier_policies, tier_rules

from podwall.core.diff import mirror
from podwall.core.matrix_diff import compute_diff
from podwall.core.model import Cluster, Direction, LabelSelector, Options, Protocol, TierAction, TierPolicy, TierSubject
from podwall.core.portsets import PortSet

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@st.composite
def tier_mutated(draw: st.DrawFn, base: Cluster) -> Cluster:
    """``base`` after a pull request that edits cluster-wide policies (and maybe NetworkPolicies)."""
    tps = list(base.tier_policies)
    for step in range(draw(st.integers(1, 3))):
        what = draw(st.integers(0, 4))
        if what == 0 or not tps:
            new = draw(tier_policies(50 + step))
            if draw(st.booleans()):  # selects every pod, so that the change shows more often
                new = replace(new, subject=TierSubject(namespace_selector=LabelSelector(), pod_selector=None))
            tps.append(new)
            continue
        k = draw(st.integers(0, len(tps) - 1))
        p = tps[k]
        if what == 1:
            tps.pop(k)
        elif what == 2:
            tps[k] = replace(p, priority=draw(st.sampled_from([0, 1, 2, 3, 4])))
        else:
            d = draw(st.sampled_from(list(Direction)))
            rs = list(p.rules(d))
            if rs and what == 3:
                i = draw(st.integers(0, len(rs) - 1))
                rs[i] = replace(rs[i], action=draw(st.sampled_from(list(TierAction))))
            else:
                rs.append(draw(tier_rules(len(rs), d is Direction.EGRESS)))
            tps[k] = replace(p, **{"ingress" if d is Direction.INGRESS else "egress": tuple(rs)})
    out = replace_cluster(base, tier_policies=tuple(sorted(tps, key=TierPolicy.sort_key)))
    if draw(st.booleans()):
        np_side = draw(mutated(out))
        out = replace_cluster(out, endpoints=np_side.endpoints, policies=np_side.policies)
    return out


def replace_cluster(c: Cluster, **kw: object) -> Cluster:
    fields = {
        "namespaces": c.namespaces,
        "endpoints": c.endpoints,
        "policies": c.policies,
        "services": c.services,
        "tier_policies": c.tier_policies,
        "nodes": c.nodes,
    }
    fields.update(kw)
    return Cluster(**fields)  # type: ignore[arg-type]


@SETTINGS
@given(st.data(), tier_clusters(), st.sampled_from(["pod", "workload", "namespace"]))
def test_tier_diff_is_the_difference_of_the_matrices(
    data: st.DataObject, case: tuple[Cluster, Options, int | None, Protocol], by: str
) -> None:
    a, opts, _port, _proto = case
    b = data.draw(tier_mutated(a))
    d = compute_diff(a, b, opts, by=by)
    assert rows(d) == expected(a, b, opts, by)
    tier_keys = {p.key for p in (*a.tier_policies, *b.tier_policies)}
    for c in d.changes:
        if c.change in ("added", "removed", "changed"):
            assert c.causes, c
            opens = closes = PortSet.none()
            for cause in c.causes:
                assert cause.opens.issubset(c.opened) and cause.closes.issubset(c.closed), (c, cause)
                assert (cause.tier is not None) == (cause.policy in tier_keys), cause
                opens, closes = opens | cause.opens, closes | cause.closes
            if all(cause.policy is not None for cause in c.causes):
                assert opens == c.opened and closes == c.closed, c
    back = compute_diff(b, a, opts, by=by)
    m = mirror(d)
    assert back.changes == m.changes
    assert dict(back.summary) == dict(m.summary)
    assert compute_diff(a, a, opts, by=by).changes == ()

