"""The cluster-wide tiers (ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy) in the ruleset.

This module holds the design and the words of the tier chains; ``compile.TierStage`` builds
them (in the compiler's module, so that ``nft`` has no import cycle).

Per direction (egress in ``egress_fw``, ingress in ``ingress_fw``), a pod that some tier policy
selects is dispatched to a *tier chain* instead of its NetworkPolicy signature chain:

```
chain teg_<hash> {                         # one per (admin set, NetworkPolicy signature, baseline set)
    jump aeg_<hash>   "[Admin] ..."        # the Admin rules of every selecting policy, in order
    jump seg_<hash>   "[NetworkPolicy]"    # only when NetworkPolicies isolate the pod: ends in drop
    jump beg_<hash>   "[Baseline] ..."     # the Baseline rules (never reached after a NetworkPolicy)
}
```

* The Admin chain holds the rules of the selecting Admin policies inline, policies by ascending
  ``priority`` then name, rules in written order. First match decides: ``Accept`` is
  ``counter accept`` (final for this direction; an egress ``accept`` ends only ``egress_fw``, so
  the destination's ingress still runs in ``ingress_fw``), ``Deny`` is ``counter drop`` (silent:
  a probe sees a timeout, never a refusal), ``Pass`` is ``counter return``: back in the tier
  chain, which goes on with the NetworkPolicy stage. No match also returns there. The rules are
  inline (not one chain per policy) because ``Pass`` must skip the *rest of the tier*, and a
  ``return`` from the tier's one chain does exactly that.
* The NetworkPolicy stage is the signature chain the compiler builds anyway: it ends in a
  counted drop, so when NetworkPolicies isolate the pod they decide and a baseline never runs.
* The Baseline chain: ``Accept`` and ``Pass`` accept, ``Deny`` drops, no match falls through to
  the base chain's ``policy accept`` (default allow).
* A pod without any selecting tier policy keeps the plain NetworkPolicy dispatch, so a cluster
  without tiers compiles exactly as before.

Peers become sets shared by every rule that uses them: ``namespaces`` and ``pods`` the
addresses of the matching pods (hostNetwork pods never), ``networks`` an interval set of the
CIDRs plus the addresses of every pod the engine says they match, ``nodes`` the addresses of the
matching Node objects, ``domainNames`` the addresses ``Options.domain_addresses`` gives (without
them the peer matches nothing, as the engine reads it; upstream supports domainNames in Accept
rules only, where matching nothing is the API's "fail closed"). Numeric ports are
``proto . port`` intervals; a named port is resolved on every destination pod
(``daddr . proto . port``), so it only ever matches with its protocol.
A pod talking to itself never reaches the node: it is exempt, as the API says.

Every rule is counted and commented, e.g.
``[Admin] ClusterNetworkPolicy/name egress rule #3 Deny (rule-name)``.
"""

from __future__ import annotations

from podwall.core.model import Direction, Tier, TierAction, TierPolicy, TierRule

STAGE_NP = "[NetworkPolicy]"


# -- what the tier chains say: pure words and verdicts (``compile.TierStage`` builds the chains) --


def verdict_for(tier: Tier, action: TierAction) -> str:
    if action is TierAction.DENY:
        return "drop"
    if action is TierAction.PASS and tier is Tier.ADMIN:
        return "return"
    return "accept"


def action_word(tier: Tier, action: TierAction) -> str:
    if action is TierAction.PASS:
        return "Pass -> NetworkPolicy" if tier is Tier.ADMIN else "Pass -> default allow"
    return action.value


def rule_comment(pol: TierPolicy, direction: Direction, rule: TierRule) -> str:
    # the action before the rule's name: a comment clipped at COMMENT_MAX loses the name, never the action
    name = f" ({rule.name})" if rule.name else ""
    word = direction.value.lower()
    return f"[{pol.tier.value}] {pol.key} {word} rule #{rule.index + 1} {action_word(pol.tier, rule.action)}{name}"
