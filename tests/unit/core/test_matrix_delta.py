"""The fix checker's change of the matrix equals the difference of two full per-pair matrices.

Random clusters (the vocabulary of ``tests/scale``): take some policies out, put a random one in,
and compare :meth:`DeltaChecker.flipped` with the cells where ``reference_matrix`` of the two
clusters differs (on declared ports), class pair by class pair.
"""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.scale.test_fast_matrix import clusters, policies
from tests.scale.test_fast_matrix_tiers import tier_clusters

from podwall.core.evaluate import Engine
from podwall.core.matrix_delta import DeltaChecker
from podwall.core.model import Cluster, Options
from podwall.core.reachability import reference_matrix


def _reference_flips(old: Cluster, new: Cluster, opts: Options, cls: list[int]) -> set[tuple[int, int, object, bool]]:
    a = reference_matrix(Engine(old, opts))
    b = reference_matrix(Engine(new, opts))
    out = set()
    for i in range(len(a)):
        for j in range(len(a)):
            before, after = set(a.allowed(i, j)), set(b.allowed(i, j))
            for pk in a.checked(j):
                if (pk in before) != (pk in after):
                    out.add((cls[i], cls[j], pk, pk in after))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clusters(), st.data())
def test_flipped_cells_equal_reference_difference(case, data) -> None:
    cluster, opts, _port, _proto = case
    removed = [p for p in cluster.policies if data.draw(st.booleans())]
    added = [data.draw(policies(100 + k)) for k in range(data.draw(st.integers(0, 2)))]
    new = dataclasses.replace(
        cluster, policies=tuple(p for p in cluster.policies if p not in removed) + tuple(added)
    )
    checker = DeltaChecker(cluster, opts, added)
    cls = checker.cl.cls.tolist()
    rep_class = {id(r): c for c, r in enumerate(checker.cl.reps)}
    got = {(rep_class[id(f.src)], rep_class[id(f.dst)], f.port, f.allowed) for f in checker.flipped(removed, added)}
    assert got == _reference_flips(cluster, new, opts, cls)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tier_clusters(), st.data())
def test_flipped_cells_equal_reference_difference_with_tiers(case, data) -> None:
    """With Admin/Baseline policies the checker recompiles; it must still equal the oracle."""
    cluster, opts, _port, _proto = case
    removed = [p for p in cluster.policies if data.draw(st.booleans())]
    added = [data.draw(policies(100 + k)) for k in range(data.draw(st.integers(0, 2)))]
    new = dataclasses.replace(
        cluster, policies=tuple(p for p in cluster.policies if p not in removed) + tuple(added)
    )
    checker = DeltaChecker(cluster, opts, added)
    cls = checker.cl.cls.tolist()
    rep_class = {id(r): c for c, r in enumerate(checker.cl.reps)}
    got = {(rep_class[id(f.src)], rep_class[id(f.dst)], f.port, f.allowed) for f in checker.flipped(removed, added)}
    assert got == _reference_flips(cluster, new, opts, cls)
