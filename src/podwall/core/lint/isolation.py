"""Checks about which pods are isolated, and about policies as objects.

``no-default-deny``, ``unprotected-pod``, ``selects-nothing``, ``hostnetwork-selected``,
``missing-namespace``, ``rules-ignored``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Iterator

from podwall.core.lint.context import LintContext, describe, direction_key
from podwall.core.lint.documents import default_deny_ingress
from podwall.core.lint.findings import Change, Effect, Finding, Fix, creation, replacement
from podwall.core.lint.rules import RuleId
from podwall.core.model import Direction, Endpoint, Policy, Tier, TierAction
from podwall.core.selectors import matches


def _default_deny_fix(ns: str) -> Fix:
    """The default deny: it may only deny, and only connections into namespace ``ns``."""
    return creation(
        default_deny_ingress(ns), Change(effect=Effect.CLOSE, dst=lambda e: e.namespace == ns)
    )


def tier_denies_ingress(ctx: LintContext, ep: Endpoint) -> bool:
    """Whether an Admin or Baseline policy with an ingress Deny rule applies to ``ep``."""
    return any(
        r.action is TierAction.DENY
        for tier in Tier
        for pol in ctx.engine.tiers.subject_of(ep, tier)
        for r in pol.ingress
    )


def check_default_deny(ctx: LintContext) -> Iterator[Finding]:
    """``no-default-deny`` per namespace, then ``unprotected-pod`` per pod, grouped by namespace."""
    for ns in sorted(ctx.endpoints_by_ns):
        if ctx.is_system(ns):
            continue
        pods = ctx.pods(ns)
        if not pods:
            continue
        guarded = [e for e in pods if tier_denies_ingress(ctx, e)]  # a cluster-wide Deny protects them
        # isolated for ingress: selected by a policy of their namespace with Ingress in its
        # policyTypes (what the engine's ``selecting`` decides), matched once per label set
        ingress_policies = [p for p in ctx.policies_by_ns.get(ns, ()) if Direction.INGRESS in p.policy_types]
        isolated = {e for p in ingress_policies for e in ctx.selected(p)}
        open_pods = [e for e in pods if e not in isolated and e not in guarded]
        full = [p for p in ingress_policies if len(ctx.selected(p)) == len(pods)]
        fix = _default_deny_fix(ns)
        if not full and len(guarded) < len(pods):
            n_open = len(open_pods)
            detail = (
                f"{n_open} of its {len(pods)} pods/workloads accept connections from anywhere"
                if n_open
                else "its pods are covered one by one today, but any new pod will accept connections from anywhere"
            )
            yield Finding(
                rule=RuleId.NO_DEFAULT_DENY,
                message=f"namespace {ns} has no default-deny ingress policy: {detail}",
                hint="apply a policy with podSelector: {} and policyTypes: [Ingress] in the namespace, then "
                "allow the traffic each pod needs",
                locations=ctx.namespace_loc(ns),
                namespace=ns,
                fix=fix,
            )
        for ep in open_pods:
            yield Finding(
                rule=RuleId.UNPROTECTED_POD,
                message=f"{describe(ep)} accepts connections from every source: no policy selects it for "
                f"ingress ({len(open_pods)} such in namespace {ns})",
                hint=f"add a default deny to namespace {ns} (see the fix), then allow what {ep.name} needs",
                locations=(ctx.endpoint_loc(ep),),
                namespace=ns,
                endpoint=ep.key,
                fix=fix,
            )


def _set_namespace(pol: Policy, namespace: str) -> Policy:
    return dataclasses.replace(pol, namespace=namespace, namespace_explicit=True)


def _add_type(pol: Policy, direction: Direction) -> Policy:
    return dataclasses.replace(pol, policy_types=pol.policy_types | {direction})


def _guess_namespace(ctx: LintContext, policy: Policy) -> str | None:
    """The one namespace in which the policy's podSelector matches pods, if there is one."""
    if policy.pod_selector.is_empty:
        return None
    hits = {
        e.namespace for e in ctx.cluster.endpoints if matches(policy.pod_selector, e.labels)
    }
    return hits.pop() if len(hits) == 1 else None


def check_policies(ctx: LintContext) -> Iterator[Finding]:
    """``missing-namespace``, ``rules-ignored``, ``selects-nothing``, ``hostnetwork-selected``."""
    for pol in ctx.cluster.policies:
        if not pol.namespace_explicit:
            guess = _guess_namespace(ctx, pol) if ctx.inventory else None
            target = guess or pol.namespace
            why = (
                f"its podSelector matches pods only in namespace {guess}"
                if guess
                else f"here it was read into namespace {pol.namespace}"
            )
            # Only the namespace it is read into keeps every verdict; a guessed other namespace
            # moves the policy, so it is a hint, not a fix.
            fix = None
            if target == pol.namespace:
                fix = replacement(
                    pol,
                    dataclasses.replace(pol, namespace=target, namespace_explicit=True),
                    order=(0,),
                    apply=functools.partial(_set_namespace, namespace=target),
                )
            yield Finding(
                rule=RuleId.MISSING_NAMESPACE,
                message=f"NetworkPolicy {pol.name} has no metadata.namespace: it lands in whatever namespace it "
                f"is applied to ({why})",
                hint=f"set metadata.namespace: {target}",
                locations=(ctx.policy_loc(pol, "metadata"),),
                namespace=pol.namespace,
                policy=pol.key,
                fix=fix,
            )
        for direction in (Direction.INGRESS, Direction.EGRESS):
            rules = pol.rules(direction)
            if rules and pol.policy_types_explicit and direction not in pol.policy_types:
                word = direction.value
                listed = ", ".join(d.value for d in sorted(pol.policy_types))
                yield Finding(
                    rule=RuleId.RULES_IGNORED,
                    message=f"NetworkPolicy {pol.key} has {len(rules)} {direction_key(direction)} rule(s) but its "
                    f"policyTypes ({listed}) lacks {word}: the rules are silently ignored",
                    hint=f"add {word} to spec.policyTypes (this isolates the selected pods for "
                    f"{direction_key(direction)}), or delete the rules",
                    locations=(ctx.policy_loc(pol, "spec", direction_key(direction)),),
                    namespace=pol.namespace,
                    policy=pol.key,
                    # enforcing the rules may only allow more: the fix is offered when the pods are
                    # isolated for that direction already (else it would deny everything else)
                    fix=replacement(
                        pol,
                        _add_type(pol, direction),
                        order=(1, 0 if direction is Direction.INGRESS else 1),
                        apply=functools.partial(_add_type, direction=direction),
                        effect=Effect.OPEN,
                    ),
                )
        if ctx.inventory:
            yield from _selection(ctx, pol)


def _selection(ctx: LintContext, pol: Policy) -> Iterator[Finding]:
    everything = ctx.endpoints_by_ns.get(pol.namespace, [])
    chosen = ctx.matching(pol.namespace, pol.pod_selector)
    host = [e for e in chosen if e.host_network]
    governable = [e for e in chosen if e not in host] if ctx.options.host_network.value == "node" else chosen
    # podSelector {} is meant for every pod, present or future: in a namespace without pods it
    # is a default policy waiting for them, not a typo
    if not chosen and not pol.pod_selector.is_empty:
        yield Finding(
            rule=RuleId.SELECTS_NOTHING,
            message=f"NetworkPolicy {pol.key} selects no pod: no pod in namespace {pol.namespace} matches "
            f"podSelector {pol.pod_selector}{_near_labels(pol, everything)}",
            hint="fix the labels in spec.podSelector, or move the policy to the namespace of the pods it is for",
            locations=(ctx.policy_loc(pol, "spec", "podSelector"),),
            namespace=pol.namespace,
            policy=pol.key,
        )
    # A namespace-wide policy (podSelector: {}) covers hostNetwork pods as a matter of course;
    # only a selector aimed at them suggests the author expects an effect.
    if host and ctx.options.host_network.value == "node" and not pol.pod_selector.is_empty:
        names = ", ".join(e.key for e in host[:3]) + (f" and {len(host) - 3} more" if len(host) > 3 else "")
        only = " (and nothing else)" if not governable else ""
        yield Finding(
            rule=RuleId.HOSTNETWORK_SELECTED,
            message=f"NetworkPolicy {pol.key} selects hostNetwork pods{only}, on which it has no effect: {names}",
            hint="hostNetwork pods share the node's network; most CNIs do not apply NetworkPolicy to them. "
            "Protect them at the node, or run them without hostNetwork",
            locations=(ctx.policy_loc(pol, "spec", "podSelector"),),
            namespace=pol.namespace,
            policy=pol.key,
        )


def _near_labels(pol: Policy, pods: list[Endpoint]) -> str:
    """`` (pods there have app=backend)`` for the keys the selector uses, to spot typos."""
    keys = {k for k, _ in pol.pod_selector.match_labels} | {r.key for r in pol.pod_selector.match_expressions}
    seen: Counter[str] = Counter()
    for e in pods:
        for k in keys:
            if k in e.labels:
                seen[f"{k}={e.labels[k]}"] += 1
    if not pods:
        return " (the input has no pods in that namespace)"
    if not seen:
        return ""
    return " (pods there have " + ", ".join(sorted(seen)[:5]) + ")"
