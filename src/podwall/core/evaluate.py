"""The verdict for one connection, with the reasons that decided it.

NetworkPolicy semantics (``networking/v1/types.go`` and the concept page):

* Isolation is per direction. A pod is isolated for ingress (egress) iff at least one policy
  in its namespace selects it and lists ``Ingress`` (``Egress``) in its (defaulted)
  ``policyTypes``. A direction that is not isolated allows everything.
* Policies are additive: an isolated direction allows a connection iff *some* rule of *some*
  selecting policy matches it; order never matters, and there is no deny rule.
* A rule matches iff its ``ports`` admit the connection and one of its peers matches the
  other end. An empty ``ports`` or peer list means "all"; a policy with no rules for a
  direction only isolates.
* A connection needs both: egress allowed at the source and ingress allowed at the
  destination. Addresses outside the cluster are not governed by NetworkPolicy.
* A pod can always reach itself.
* Cluster-wide tiers (:mod:`podwall.core.tiers`) wrap this per direction: an Admin Accept or
  Deny decides before NetworkPolicy; an Admin Pass (or no match) leaves it to NetworkPolicy if
  the pod is isolated, else to the Baseline tier, else the default allow.

``Engine`` is the compiled form: it indexes policies by namespace once and caches which
policies select which endpoint, so that single queries and matrices share the work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from podwall.core.model import (
    Address,
    Cluster,
    Direction,
    Endpoint,
    Options,
    Policy,
    Protocol,
    Target,
    Tier,
    TierAction,
)
from podwall.core.peers import describe_peer_miss, is_node_traffic, peer_matches
from podwall.core.ports import describe_port_miss, ports_match
from podwall.core.selectors import matches
from podwall.core.tiers import TierEngine, TierRuleRef


@dataclass(frozen=True, kw_only=True)
class RuleRef:
    """A rule that allowed a connection: ``policy`` (``ns/name``), direction, 0-based index."""

    policy: str
    direction: Direction
    rule: int

    def __str__(self) -> str:
        return f"{self.policy} {self.direction.value.lower()} rule #{self.rule + 1}"


@dataclass(frozen=True, kw_only=True)
class RuleMiss:
    """Why one rule (or a rule-less policy, ``rule is None``) did not allow a connection."""

    policy: str
    direction: Direction
    rule: int | None
    kind: str
    """``no-rules``, ``peer`` or ``port``."""
    reason: str

    def __str__(self) -> str:
        if self.rule is None:
            return f"{self.policy}: {self.reason}"
        return f"{self.policy} {self.direction.value.lower()} rule #{self.rule + 1}: {self.reason}"


@dataclass(frozen=True, kw_only=True)
class DirectionVerdict:
    """The decision of one direction: egress at the source or ingress at the destination."""

    direction: Direction
    endpoint: str
    governed: bool
    """False for an address outside the cluster or node traffic: no policy applies."""
    isolated: bool
    policies: tuple[str, ...] = ()
    """Policies that select the endpoint for this direction (they isolate it)."""
    allowed: bool = True
    allowed_by: tuple[RuleRef, ...] = ()
    misses: tuple[RuleMiss, ...] = ()
    decided_by: str = ""
    """With cluster-wide policies present: which stage decided, ``Admin``, ``NetworkPolicy``,
    ``Baseline`` or ``default`` (nothing decided: allowed). Empty when the cluster has none."""
    tier_rule: TierRuleRef | None = None
    """The Admin or Baseline rule (Accept or Deny) that decided this direction."""
    passed: tuple[TierRuleRef, ...] = ()
    """Pass rules met on the way (an Admin Pass, then a Baseline Pass)."""
    tier_notes: tuple[str, ...] = ()
    """What could not be decided offline (``domainNames`` without addresses)."""

    def tier_chain(self) -> str:
        """``[Admin] x priority 10 rule #1 Pass -> [NetworkPolicy] ns/p: no rule allows it``."""
        parts = [str(p) for p in self.passed]
        if self.tier_rule is not None:
            parts.append(str(self.tier_rule))
        elif self.decided_by == "NetworkPolicy":
            if self.allowed:
                parts.append("[NetworkPolicy] allowed by " + ", ".join(str(r) for r in self.allowed_by))
            else:
                parts.append(f"[NetworkPolicy] {', '.join(self.policies)}: no rule allows it")
        elif self.decided_by == "default":
            parts.append("no Admin or Baseline rule decides and no NetworkPolicy isolates it (allowed)")
        return " -> ".join(parts)

    def summary(self) -> str:
        """One sentence about this direction."""
        word = self.direction.value.lower()
        if self.decided_by and self.governed:
            notes = f" (note: {'; '.join(self.tier_notes)})" if self.tier_notes else ""
            return f"{word} of {self.endpoint}: {self.tier_chain()}{notes}"
        if not self.governed:
            return f"{word} of {self.endpoint} is not governed by NetworkPolicy"
        if not self.isolated:
            return f"{self.endpoint} is not isolated for {word} (no policy selects it for {word})"
        if self.allowed:
            return f"{word} allowed by " + ", ".join(str(r) for r in self.allowed_by)
        pols = ", ".join(self.policies)
        return f"{word} of {self.endpoint} is isolated by {pols} and no rule allows it"


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """Whether ``src`` may open a connection to ``dst`` on ``protocol/port``, and why."""

    src: str
    dst: str
    port: int
    protocol: Protocol
    allowed: bool
    egress: DirectionVerdict
    ingress: DirectionVerdict
    self_traffic: bool = False
    notes: tuple[str, ...] = field(default=())

    def reason(self) -> str:
        """A one-line reason, for ``podwall can``."""
        if self.self_traffic:
            return f"a pod can always reach itself ({self.src})"
        if self.allowed:
            parts = [self.egress.summary(), self.ingress.summary()]
            return "; ".join(parts)
        bad = [d for d in (self.egress, self.ingress) if not d.allowed]
        return "; ".join(d.summary() for d in bad)


class Engine:
    """Policies compiled for evaluation against one cluster, under one set of options."""

    def __init__(self, cluster: Cluster, options: Options | None = None) -> None:
        self.cluster = cluster
        self.options = options or Options()
        by_ns: dict[str, list[Policy]] = defaultdict(list)
        for pol in cluster.policies:
            by_ns[pol.namespace].append(pol)
        self._by_ns: Mapping[str, list[Policy]] = dict(by_ns)
        self.tiers = TierEngine(cluster, self.options)
        # Keyed by the endpoint itself (identity: Endpoint has eq=False), never by ``id()``:
        # an id is reused once a temporary endpoint is freed, which would return another's policies.
        self._selecting: dict[tuple[Endpoint, Direction], tuple[Policy, ...]] = {}

    # -- selection -----------------------------------------------------------------------
    def selecting(self, ep: Endpoint, direction: Direction) -> tuple[Policy, ...]:
        """The policies that select ``ep`` for ``direction`` (empty: not isolated)."""
        cache_key = (ep, direction)
        hit = self._selecting.get(cache_key)
        if hit is not None:
            return hit
        if is_node_traffic(ep, self.options):
            result: tuple[Policy, ...] = ()
        else:
            result = tuple(
                p
                for p in self._by_ns.get(ep.namespace, ())
                if direction in p.policy_types and matches(p.pod_selector, ep.labels)
            )
        self._selecting[cache_key] = result
        return result

    def _ns_labels(self, t: Target) -> Mapping[str, str]:
        if isinstance(t, Endpoint):
            return self.cluster.namespace_labels(t.namespace)
        return {}

    # -- one direction ---------------------------------------------------------------------
    def direction(
        self,
        direction: Direction,
        subject: Target,
        other: Target,
        dst: Target,
        port: int,
        protocol: Protocol,
        explain: bool = True,
    ) -> DirectionVerdict:
        """Decide ``direction`` at ``subject`` for traffic with ``other`` (``dst`` owns the ports):
        the Admin tier, then NetworkPolicy, then the Baseline tier."""
        if not self.tiers.active or not isinstance(subject, Endpoint) or subject.host_network:
            return self.np_direction(direction, subject, other, dst, port, protocol, explain)
        admin = self.tiers.first_match(Tier.ADMIN, direction, subject, other, dst, port, protocol)
        notes = admin.notes
        if admin.final:
            assert admin.ref is not None
            return DirectionVerdict(
                direction=direction,
                endpoint=subject.key,
                governed=True,
                isolated=bool(self.selecting(subject, direction)),
                policies=tuple(p.key for p in self.selecting(subject, direction)),
                allowed=admin.ref.action is TierAction.ACCEPT,
                decided_by="Admin",
                tier_rule=admin.ref,
                tier_notes=notes,
            )
        passed: tuple[TierRuleRef, ...] = (admin.ref,) if admin.ref is not None else ()
        np_verdict = self.np_direction(direction, subject, other, dst, port, protocol, explain)
        if np_verdict.isolated:
            return replace(np_verdict, decided_by="NetworkPolicy", passed=passed, tier_notes=notes)
        base = self.tiers.first_match(Tier.BASELINE, direction, subject, other, dst, port, protocol)
        notes += base.notes
        if base.final:
            assert base.ref is not None
            return replace(
                np_verdict,
                governed=True,
                allowed=base.ref.action is TierAction.ACCEPT,
                decided_by="Baseline",
                tier_rule=base.ref,
                passed=passed,
                tier_notes=notes,
            )
        if base.ref is not None:
            passed += (base.ref,)
        return replace(np_verdict, governed=True, decided_by="default", passed=passed, tier_notes=notes)

    def np_direction(
        self,
        direction: Direction,
        subject: Target,
        other: Target,
        dst: Target,
        port: int,
        protocol: Protocol,
        explain: bool = True,
    ) -> DirectionVerdict:
        """The NetworkPolicy stage alone (what ``direction`` was before cluster-wide tiers)."""
        key = subject.key
        if isinstance(subject, Address) or is_node_traffic(subject, self.options):
            return DirectionVerdict(direction=direction, endpoint=key, governed=False, isolated=False)
        pols = self.selecting(subject, direction)
        if not pols:
            return DirectionVerdict(direction=direction, endpoint=key, governed=True, isolated=False)
        ns_labels = self._ns_labels(other)
        allowed_by: list[RuleRef] = []
        misses: list[RuleMiss] = []

        def miss(pol: Policy, rule: int | None, kind: str, reason: str) -> None:
            misses.append(RuleMiss(policy=pol.key, direction=direction, rule=rule, kind=kind, reason=reason))

        for pol in pols:
            rules = pol.rules(direction)
            if not rules and explain:
                miss(pol, None, "no-rules", f"has no {direction.value.lower()} rules (it only isolates)")
            for i, rule in enumerate(rules):
                if not ports_match(rule.ports, port, protocol, dst):
                    if explain:
                        miss(pol, i, "port", describe_port_miss(rule.ports, protocol, dst))
                    continue
                if not rule.peers or any(
                    peer_matches(p, pol.namespace, other, ns_labels, self.options) for p in rule.peers
                ):
                    allowed_by.append(RuleRef(policy=pol.key, direction=direction, rule=i))
                    if not explain:
                        break
                elif explain:
                    why = "; ".join(
                        describe_peer_miss(p, pol.namespace, other, ns_labels, self.options)
                        for p in rule.peers
                    )
                    side = "source" if direction is Direction.INGRESS else "destination"
                    miss(pol, i, "peer", f"{side} {other.key} matches no peer: {why}")
            if allowed_by and not explain:
                break
        return DirectionVerdict(
            direction=direction,
            endpoint=key,
            governed=True,
            isolated=True,
            policies=tuple(p.key for p in pols),
            allowed=bool(allowed_by),
            allowed_by=tuple(allowed_by),
            misses=tuple(misses) if not allowed_by else (),
        )

    # -- one connection --------------------------------------------------------------------
    def verdict(
        self, src: Target, dst: Target, port: int, protocol: Protocol = Protocol.TCP, explain: bool = True
    ) -> Verdict:
        """The full verdict for ``src`` → ``dst`` on ``protocol/port``."""
        egress = self.direction(Direction.EGRESS, src, dst, dst, port, protocol, explain)
        ingress = self.direction(Direction.INGRESS, dst, src, dst, port, protocol, explain)
        self_traffic = isinstance(src, Endpoint) and src is dst and src.is_pod
        return Verdict(
            src=src.key,
            dst=dst.key,
            port=port,
            protocol=protocol,
            allowed=self_traffic or (egress.allowed and ingress.allowed),
            egress=egress,
            ingress=ingress,
            self_traffic=self_traffic,
        )

    def allowed(self, src: Target, dst: Target, port: int, protocol: Protocol = Protocol.TCP) -> bool:
        """Just the answer, without building explanations."""
        return self.verdict(src, dst, port, protocol, explain=False).allowed
