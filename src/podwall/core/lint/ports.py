"""Checks of rule ports against the pods that receive the connections.

``named-port-unresolved`` and ``port-protocol-mismatch``. Ports are resolved where the engine
resolves them: on the selected pods for an ingress rule, on each destination pod for an egress
rule (``core/ports.py``).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterator

from podwall.core.lint.context import LintContext, direction_key
from podwall.core.lint.findings import Effect, Finding, Fix, replacement
from podwall.core.lint.peers import active_rules, replace_rule
from podwall.core.lint.rules import RuleId
from podwall.core.model import Direction, Policy, PortSpec, Protocol


def _replace_port(
    pol: Policy, direction: Direction, i: int, j: int, old: PortSpec, new: tuple[PortSpec, ...]
) -> Policy:
    rule = pol.rules(direction)[i]
    if j >= len(rule.ports) or rule.ports[j] != old:
        return pol  # an earlier edit changed this entry
    ports = (*rule.ports[:j], *new, *rule.ports[j + 1 :])
    return replace_rule(pol, direction, i, dataclasses.replace(rule, ports=ports))


def _fix(pol: Policy, direction: Direction, i: int, j: int, old: PortSpec, new: tuple[PortSpec, ...]) -> Fix:
    def apply(p: Policy) -> Policy:
        return _replace_port(p, direction, i, j, old, new)

    # the corrected entry may only let through what the rule was written for: openings only
    return replacement(
        pol,
        apply(pol),
        # later entries first, so earlier indices stay valid when one entry becomes two
        order=(2, 0 if direction is Direction.INGRESS else 1, -i, -j),
        apply=apply,
        effect=Effect.OPEN,
    )


def check_ports(ctx: LintContext) -> Iterator[Finding]:
    if not ctx.inventory:
        return
    for pol, direction, i, rule in active_rules(ctx):
        if not rule.ports:
            continue
        count, declared = ctx.receiving_ports(pol, direction, rule)
        if not count:
            continue  # selects-nothing / peer-matches-nothing say why
        where = f"{direction_key(direction)} rule #{i + 1}"
        recv = "the pods it selects" if direction is Direction.INGRESS else "the destination pods"
        for j, spec in enumerate(rule.ports):
            loc = (ctx.rule_loc(pol, direction, i, "ports", j),)
            if isinstance(spec.port, str):
                name = spec.port
                if any(cp.name == name and cp.protocol is spec.protocol for cp in declared):
                    continue
                other = sorted({cp.protocol for cp in declared if cp.name == name}, key=lambda p: p.value)
                names = sorted({cp.name for cp in declared if cp.name and cp.protocol is spec.protocol})
                if other:
                    detail = f"{recv} declare {name} only for {', '.join(p.value for p in other)}"
                    new = tuple(dataclasses.replace(spec, protocol=p) for p in other)
                else:
                    near = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
                    shown = ", ".join(names[:6]) if names else "none"
                    detail = f"none of {recv} ({count}) declares it (their {spec.protocol} port names: {shown})"
                    if near:
                        detail += f"; did you mean {near[0]}?"
                    new = (dataclasses.replace(spec, port=near[0]),) if near else ()
                yield Finding(
                    rule=RuleId.NAMED_PORT_UNRESOLVED,
                    message=f"NetworkPolicy {pol.key} {where}: named port {spec.protocol}/{name} resolves to "
                    f"nothing: {detail}",
                    hint="a named port is looked up in the containerPorts of the pod receiving the connection, "
                    "by name and protocol",
                    locations=loc,
                    namespace=pol.namespace,
                    policy=pol.key,
                    fix=_fix(pol, direction, i, j, spec, new) if new else None,
                )
            elif isinstance(spec.port, int) and spec.end_port is None:
                if not declared or any(cp.port == spec.port and cp.protocol is spec.protocol for cp in declared):
                    continue
                other = sorted({cp.protocol for cp in declared if cp.port == spec.port}, key=lambda p: p.value)
                if not other:
                    continue
                protos = " and ".join(p.value for p in other)
                implicit = " (protocol defaults to TCP)" if spec.protocol is Protocol.TCP else ""
                new = tuple(dataclasses.replace(spec, protocol=p) for p in other)
                yield Finding(
                    rule=RuleId.PORT_PROTOCOL_MISMATCH,
                    message=f"NetworkPolicy {pol.key} {where} allows {spec.protocol}/{spec.port}{implicit}, but "
                    f"{recv} declare port {spec.port} only for {protos}: that traffic stays blocked",
                    hint=f"set protocol: {other[0].value} on this port entry (one entry per protocol if you need "
                    "several)",
                    locations=loc,
                    namespace=pol.namespace,
                    policy=pol.key,
                    fix=_fix(pol, direction, i, j, spec, new),
                )
