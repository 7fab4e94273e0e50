"""Port matching: numbers, ``endPort`` ranges, protocols and named ports.

Rules (``networking/v1/types.go``, ``NetworkPolicyPort``):

* ``protocol`` defaults to TCP (applied by ``sources.decode``); it must always match.
* no ``port``: every port of that protocol.
* numeric ``port`` with ``endPort``: the inclusive range ``port..endPort``.
* named ``port``: resolved on the pod that *receives* the connection (the selected pod for
  ingress, each destination pod for egress), against its container ports with the same name
  **and** protocol. The same name may mean different numbers on different pods. An address
  outside the cluster has no container ports, so a named port never matches it.
* an empty ``ports`` list: every port of every protocol.
"""

from __future__ import annotations

from podwall.core.model import Endpoint, PortSpec, Protocol, Target


def named_port_numbers(name: str, protocol: Protocol, dst: Target) -> tuple[int, ...]:
    """The numbers that a container port name means on a destination, for one protocol."""
    if not isinstance(dst, Endpoint):
        return ()
    return tuple(cp.port for cp in dst.ports if cp.name == name and cp.protocol is protocol)


def spec_matches(spec: PortSpec, port: int, protocol: Protocol, dst: Target) -> bool:
    """Whether one ``ports`` entry admits ``protocol/port`` towards ``dst``."""
    if spec.protocol is not protocol:
        return False
    if spec.port is None:
        return True
    if isinstance(spec.port, str):
        return port in named_port_numbers(spec.port, protocol, dst)
    if spec.end_port is not None:
        return spec.port <= port <= spec.end_port
    return spec.port == port


def ports_match(specs: tuple[PortSpec, ...], port: int, protocol: Protocol, dst: Target) -> bool:
    """Whether a rule's ``ports`` list admits ``protocol/port`` (empty list: everything)."""
    if not specs:
        return True
    return any(spec_matches(s, port, protocol, dst) for s in specs)


def describe_port_miss(specs: tuple[PortSpec, ...], protocol: Protocol, dst: Target) -> str:
    """Why no entry of a non-empty ``ports`` list admits the connection, in words."""
    parts: list[str] = []
    for spec in specs:
        if isinstance(spec.port, str) and spec.protocol is protocol:
            numbers = named_port_numbers(spec.port, protocol, dst)
            if not isinstance(dst, Endpoint):
                parts.append(f"{spec} (a named port never matches an address outside the cluster)")
            elif numbers:
                nums = ",".join(str(n) for n in numbers)
                parts.append(f"{spec} (= {protocol}/{nums} on {dst.key})")
            else:
                parts.append(f"{spec} (not declared by {dst.key})")
        else:
            parts.append(str(spec))
    return "allows only " + ", ".join(parts)
