"""diff(A, B) is the pair-by-pair difference of the two port-set matrices; diff(A, A) is empty;
diff(B, A) mirrors diff(A, B). On random clusters and random pull requests."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.diff.strategies import clusters, mutated, options_st

from podwall.core.connectivity import address_ranges, connections
from podwall.core.diff import Diff, mirror
from podwall.core.evaluate import Engine
from podwall.core.matrix_diff import compute_diff
from podwall.core.model import Cluster, Options
from podwall.core.portsets import PortSet

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
Row = tuple[str, str, str, PortSet, PortSet]


def group(e: object, by: str) -> str:
    if by == "namespace":
        return e.namespace  # type: ignore[attr-defined,no-any-return]
    if by == "workload":
        return e.owner or e.key  # type: ignore[attr-defined,no-any-return]
    return e.key  # type: ignore[attr-defined,no-any-return]


def table(c: Cluster, opts: Options, ranges: tuple[object, ...], by: str) -> dict[tuple[str, str], PortSet]:
    """Group-to-group connections by plain per-pair evaluation (pod self pairs left out)."""
    engine = Engine(c, opts)
    targets = [(group(e, by), e, e.is_pod) for e in c.endpoints] + [(r.key, r.representative, False) for r in ranges]  # type: ignore[attr-defined]
    out: dict[tuple[str, str], PortSet] = {}
    names = {g for g, _, _ in targets}
    for g in names:
        for h in names:
            out[(g, h)] = PortSet.none()
    range_names = {r.key for r in ranges}  # type: ignore[attr-defined]
    for a, src, _ in targets:
        for b, dst, _ in targets:
            if src is dst and getattr(src, "is_pod", False):
                continue
            if a in range_names and b in range_names:
                continue
            out[(a, b)] = out[(a, b)] | connections(engine, src, dst)
    return out


def expected(a: Cluster, b: Cluster, opts: Options, by: str) -> set[Row]:
    ranges = address_ranges([a, b], opts)
    ta, tb = table(a, opts, ranges, by), table(b, opts, ranges, by)
    ga = {k[0] for k in ta}
    gb = {k[0] for k in tb}
    rows: set[Row] = set()
    for (s, d), after in tb.items():
        if s in ga and d in ga:
            before = ta[(s, d)]
            if before != after:
                kind = "added" if before.is_empty else "removed" if after.is_empty else "changed"
                rows.add((kind, s, d, before, after))
        elif after:
            rows.add(("new endpoint", s, d, PortSet.none(), after))
    for (s, d), before in ta.items():
        if (s not in gb or d not in gb) and before:
            rows.add(("removed endpoint", s, d, before, PortSet.none()))
    return rows


def rows(d: Diff) -> set[Row]:
    out = {(c.change, c.src, c.dst, c.before, c.after) for c in d.changes}
    assert len(out) == len(d.changes)  # no pair listed twice
    return out


@SETTINGS
@given(st.data(), clusters(), options_st, st.sampled_from(["pod", "workload", "namespace"]))
def test_diff_is_the_difference_of_the_matrices(data: st.DataObject, a: Cluster, opts: Options, by: str) -> None:
    b = data.draw(mutated(a))
    d = compute_diff(a, b, opts, by=by)
    assert rows(d) == expected(a, b, opts, by)
    for c in d.changes:
        if c.change in ("added", "removed", "changed"):
            assert c.causes, c  # every change of a persistent pair is explained
            opens = closes = PortSet.none()
            for cause in c.causes:
                assert cause.opens.issubset(c.opened) and cause.closes.issubset(c.closed), (c, cause)
                opens, closes = opens | cause.opens, closes | cause.closes
            if all(cause.policy is not None for cause in c.causes):
                # policy changes alone account for every opened and closed connection
                assert opens == c.opened and closes == c.closed, c
    assert d.summary["added"] + d.summary["removed"] + d.summary["changed"] == sum(
        1 for c in d.changes if c.change in ("added", "removed", "changed")
    )
    # mirror: the other way round swaps before/after, added/removed, new/removed endpoint
    back = compute_diff(b, a, opts, by=by)
    m = mirror(d)
    assert back.changes == m.changes
    assert dict(back.summary) == dict(m.summary)


@SETTINGS
@given(clusters(), options_st, st.sampled_from(["pod", "workload", "namespace"]))
def test_diff_with_itself_is_empty(a: Cluster, opts: Options, by: str) -> None:
    d = compute_diff(a, a, opts, by=by)
    assert d.changes == ()
    assert not d.opened and not d.closed
