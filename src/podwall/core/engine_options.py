"""Build :class:`~podwall.core.model.Options` from plain values (CLI flags, config)."""

from __future__ import annotations

from podwall.core.model import HostNetworkMode, Options


def options_from(*, ipblock_matches_pods: bool = True, host_network: str = "node") -> Options:
    return Options(ipblock_matches_pods=ipblock_matches_pods, host_network=HostNetworkMode(host_network))
