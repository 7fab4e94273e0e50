"""podwall: Kubernetes NetworkPolicy semantics you can trust.

The public API (everything a public signature mentions is exported here, and only this is
public: the sub-packages are internal and may change)::

    import podwall
    cluster = podwall.load(["manifests/"])          # files, directories, "-" for stdin
    verdict = cluster.can("prod/frontend", "prod/backend", 8080)
    verdict.allowed, verdict.reason()
    cluster.matrix(port=8080)                       # who can reach whom
    cluster.lint()                                  # findings, with hints and fixes
    cluster.check(podwall.load_expectations("expect.yaml"))   # what `podwall test` checks
    live = podwall.load([], cluster=podwall.ClusterTarget(context="kind-dev"))   # a live cluster

Bad arguments raise podwall's own errors (:class:`QueryError`, :class:`InputError`), never a
bare ``ValueError``.
"""

from __future__ import annotations

import importlib.metadata as _metadata

from podwall.api import Answer, ExpectationResult, LoadedCluster, load
from podwall.core.evaluate import DirectionVerdict, Engine, RuleMiss, RuleRef, Verdict
from podwall.core.lint import Finding
from podwall.core.model import (
    Address,
    Cluster,
    Direction,
    Endpoint,
    HostNetworkMode,
    Options,
    Policy,
    Protocol,
    Service,
    Target,
)
from podwall.core.reachability import Matrix
from podwall.core.services import Backend, ServiceVerdict
from podwall.errors import (
    ClusterError,
    Diagnostic,
    InputError,
    ManifestError,
    PodwallError,
    QueryError,
    Severity,
    SourceSpan,
)
from podwall.sources.cluster import ClusterRead, ClusterTarget
from podwall.sources.decode import LoadResult
from podwall.sources.expectations import Expectation, load_expectations, parse_expectations

try:
    __version__ = _metadata.version("podwall")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "Address",
    "Answer",
    "Backend",
    "Cluster",
    "ClusterError",
    "ClusterRead",
    "ClusterTarget",
    "Diagnostic",
    "Direction",
    "DirectionVerdict",
    "Endpoint",
    "Engine",
    "Expectation",
    "ExpectationResult",
    "Finding",
    "HostNetworkMode",
    "InputError",
    "LoadResult",
    "LoadedCluster",
    "ManifestError",
    "Matrix",
    "Options",
    "PodwallError",
    "Policy",
    "Protocol",
    "QueryError",
    "RuleMiss",
    "RuleRef",
    "Service",
    "ServiceVerdict",
    "Severity",
    "SourceSpan",
    "Target",
    "Verdict",
    "__version__",
    "load",
    "load_expectations",
    "parse_expectations",
]
