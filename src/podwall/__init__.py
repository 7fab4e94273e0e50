"""podwall: Kubernetes NetworkPolicy semantics you can trust.

The public API::

    import podwall
    cluster = podwall.load(["manifests/"])          # files, directories, "-" for stdin
    verdict = cluster.can("prod/frontend", "prod/backend", 8080)
    verdict.allowed, verdict.reason()
"""

from __future__ import annotations

from podwall.api import LoadedCluster, diff, load
from podwall.core.diff import Cause, Diff, PairChange
from podwall.core.evaluate import DirectionVerdict, Engine, RuleMiss, RuleRef, Verdict
from podwall.core.model import Cluster, Direction, Endpoint, HostNetworkMode, Options, Policy, Protocol
from podwall.core.portsets import PortSet
from podwall.core.services import ServiceVerdict
from podwall.errors import Diagnostic, InputError, ManifestError, PodwallError, QueryError, Severity

__version__ = "0.1.0"

__all__ = [
    "Cause",
    "Cluster",
    "Diagnostic",
    "Diff",
    "Direction",
    "DirectionVerdict",
    "Endpoint",
    "Engine",
    "HostNetworkMode",
    "InputError",
    "LoadedCluster",
    "ManifestError",
    "Options",
    "PairChange",
    "PodwallError",
    "Policy",
    "PortSet",
    "Protocol",
    "QueryError",
    "RuleMiss",
    "RuleRef",
    "ServiceVerdict",
    "Severity",
    "Verdict",
    "__version__",
    "diff",
    "load",
]
