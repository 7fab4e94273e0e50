"""The whole port space with cluster-wide tiers: the class path, the per-pair form and per-port
verdicts agree, for pods and for the address ranges outside the cluster.

The random clusters are those of ``tests/scale/test_fast_matrix_tiers.py`` (every peer kind,
colliding priorities, numbered, ranged and named ports, host-network pods on node addresses);
the comparison is ``tests/diff/test_portspace.py``'s, with the node and pod addresses too.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from tests.diff.test_portspace import check
from tests.scale.test_fast_matrix_tiers import NODE_IPS, tier_clusters

from podwall.core.model import Cluster, Options, Protocol


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tier_clusters())
def test_class_path_equals_per_port_verdicts_with_tiers(case: tuple[Cluster, Options, int | None, Protocol]) -> None:
    cluster, opts, _port, _proto = case
    check(cluster, opts, extra_ips=[*NODE_IPS, "10.1.2.3", "10.2.0.1", "172.16.0.1", "fd01::1"])
