"""The all-pairs comparison behind ``podwall diff`` (see :mod:`podwall.core.diff` for the rules).

Both versions are compiled with one set of port atoms and address ranges
(:mod:`podwall.core.matrix_ports`), so their cells compare as bit masks. Endpoints are matched by
key (``ns/pod``, ``ns/kind/name``); a persistent endpoint has a class on each side, and the
pair of classes is its *joint class*. Cells are compared per joint-class pair (vectorised, in
row blocks), never per endpoint pair; only the pairs that differ are expanded and explained.

At workload or namespace granularity, each side's group-to-group table (unions over members,
:class:`~podwall.core.matrix_ports.Grouped`) is compared instead, and a group pair's causes are
those of the joint-class pairs inside it that differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from podwall.core.connectivity import address_ranges, direction_decision
from podwall.core.diff import (
    NEW_ENDPOINT,
    REMOVED_ENDPOINT,
    Cause,
    Diff,
    PairChange,
    PolicyChanges,
    TierChanges,
    change_kind,
    endpoint_fields,
    isolation_label,
    merge_causes,
    policy_changes,
    policy_fields,
    rule_fields,
    rule_label,
    sort_changes,
    tier_changes,
    tier_policy_fields,
    tier_rule_fields,
)
from podwall.core.evaluate import Engine
from podwall.core.matrix_ports import (
    ConnMatrix,
    Grouped,
    PortAtoms,
    Progress,
    RuleIndex,
    compile_connectivity,
)
from podwall.core.model import Cluster, Direction, Endpoint, Options, Policy, Target
from podwall.core.names import group_key
from podwall.core.portsets import PortSet

_BLOCK_WORDS = 1 << 22
Pair = tuple[int, int]


class _Side:
    """One version: its compiled connections, endpoints by key, and the target of each endpoint."""

    def __init__(
        self, cluster: Cluster, options: Options, atoms: PortAtoms, ranges: Sequence[object], progress: Progress | None
    ) -> None:
        self.cluster = cluster
        self.comp: ConnMatrix = compile_connectivity(
            cluster,
            options,
            cluster.endpoints,
            atoms=atoms,
            ranges=tuple(ranges),  # type: ignore[arg-type]
            progress=progress,
        )
        rules = self.comp.rules
        assert rules is not None
        self.rules: RuleIndex = rules
        self.eps = cluster.endpoints
        self.by_key: dict[str, int] = {}
        for i, e in enumerate(self.eps):
            self.by_key.setdefault(e.key, i)
        self.cls: list[int] = self.comp.classes.cls.tolist()
        self.index = {p.key: k for k, p in enumerate(rules.policies)}
        self.options = options
        self._engine: Engine | None = None

    def range_target(self, g: int) -> int:
        return self.comp.n + g

    @property
    def engine(self) -> Engine:
        """The per-pair evaluator (for the cluster-wide tiers' causes), built when first needed."""
        if self._engine is None:
            self._engine = Engine(self.cluster, self.options)
        return self._engine

    def target(self, t: int) -> Target:
        """An endpoint (or address) that stands for target ``t``: its class's representative."""
        comp = self.comp
        return comp.classes.reps[t] if t < comp.n else comp.ranges[t - comp.n].representative


class _Explainer:
    """Causes of a changed joint-class pair (cached: they depend on the classes only)."""

    def __init__(self, old: _Side, new: _Side, pc: PolicyChanges, tc: TierChanges) -> None:
        self.old, self.new, self.pc, self.tc = old, new, pc, tc
        self.tiered = bool(old.cluster.tier_policies or new.cluster.tier_policies)
        self.atoms = old.comp.atoms
        self._cache: dict[tuple[int, int, int, int], tuple[Cause, ...]] = {}

    def causes(
        self,
        so: int,
        to: int,
        sn: int,
        tn: int,
        cells: tuple[int, int],
        reps: Callable[[], list[tuple[Endpoint | None, Endpoint | None]]],
    ) -> tuple[Cause, ...]:
        """Causes for old targets ``so -> to`` and new targets ``sn -> tn`` (``cells``: before, after)."""
        key = (so, to, sn, tn)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        o, n = self.old.comp, self.new.comp
        before, after = cells
        opened, closed = after & ~before, before & ~after
        opens: dict[Cause, int] = {}
        closes: dict[Cause, int] = {}
        unexplained = False
        for d in (Direction.EGRESS, Direction.INGRESS):
            subj_o, other_o = (so, to) if d is Direction.EGRESS else (to, so)
            subj_n, other_n = (sn, tn) if d is Direction.EGRESS else (tn, sn)
            a_o = o.direction_mask(d, so, to)
            a_n = n.direction_mask(d, sn, tn)
            op, cl = opened & ~a_o, closed & ~a_n
            for delta, acc, args in (
                (op, opens, (self.new, self.old, d, subj_n, other_n, tn, subj_o, op, True)),
                (cl, closes, (self.old, self.new, d, subj_o, other_o, to, subj_n, cl, False)),
            ):
                if not delta:
                    continue
                found = self._why(*args)
                if self.tiered:
                    for c, mask in self._tier_why(d, (so, to), (sn, tn), delta).items():
                        found[c] = found.get(c, 0) | mask
                covered = 0
                for c, mask in found.items():
                    acc[c] = acc.get(c, 0) | mask
                    covered |= mask
                unexplained |= bool(delta & ~covered)
        ps = self.atoms.portset
        out = [replace(c, opens=ps(opens.get(c, 0)), closes=ps(closes.get(c, 0))) for c in {*opens, *closes}]
        if unexplained or not out:
            out.extend(self._endpoint_causes(reps()))
        result = merge_causes(out)
        self._cache[key] = result
        return result

    def _why(
        self,
        side: _Side,
        other_side: _Side,
        d: Direction,
        subj: int,
        other: int,
        dst: int,
        subj_other_side: int,
        delta: int,
        gained: bool,
    ) -> dict[Cause, int]:
        """Why ``side`` allows (``gained``) or stopped allowing ``delta`` in direction ``d``, compared
        with ``other_side``: causes are changes seen from ``side`` (added when gained, removed when lost),
        each with the part of ``delta`` it accounts for."""
        verb = "added" if gained else "removed"
        rules = side.rules
        sel = rules.selected_by(subj, d)
        sel_other = other_side.rules.selected_by(subj_other_side, d)
        other_keys = {other_side.rules.policies[k].key for k in sel_other}
        out: dict[Cause, int] = {}

        def add(c: Cause, mask: int) -> None:
            out[c] = out.get(c, 0) | mask

        if not sel:
            # ``side`` does not isolate the endpoint, ``other_side`` did: the policies that isolated it there
            for k in sel_other:
                pol = other_side.rules.policies[k]
                if pol.key not in self.pc.changed:
                    continue
                mine = self._policy(side, pol.key)
                if mine is None:
                    add(Cause(policy=pol.key, rule=isolation_label(d), change="removed" if gained else "added"), delta)
                else:
                    field = policy_fields(pol, mine)
                    add(Cause(policy=pol.key, rule=isolation_label(d), change="edited", field=field), delta)
            return out
        for k in sel:
            pol = rules.policies[k]
            if pol.key not in self.pc.changed:
                continue
            theirs = self._policy(other_side, pol.key)
            rs = pol.rules(d)
            for i, rule in enumerate(rs):
                if not rules.rule_matches(k, d, i, other):
                    continue
                part = rules.rule_mask(k, d, i, dst) & delta
                if not part:
                    continue
                label = rule_label(d, i)
                if theirs is None:
                    add(Cause(policy=pol.key, rule=label, change=verb), part)
                elif pol.key not in other_keys:
                    field = policy_fields(theirs, pol) if gained else policy_fields(pol, theirs)
                    add(Cause(policy=pol.key, rule=label, change="edited", field=field), part)
                elif rule in theirs.rules(d):
                    continue
                elif i < len(theirs.rules(d)):
                    old_r, new_r = (theirs.rules(d)[i], rule) if gained else (rule, theirs.rules(d)[i])
                    add(Cause(policy=pol.key, rule=label, change="edited", field=rule_fields(old_r, new_r, d)), part)
                else:
                    add(Cause(policy=pol.key, rule=label, change=verb), part)
        return out

    def _tier_why(self, d: Direction, old_pair: Pair, new_pair: Pair, delta: int) -> dict[Cause, int]:
        """The changed cluster-wide rules that decide part of ``delta`` in direction ``d`` on either
        side (an added Deny, a removed Accept, a new Pass handing ports down, an edited rule or
        priority), each with that part."""
        out: dict[Cause, int] = {}
        tc = self.tc
        for side, (s, t), mine, theirs in (
            (self.old, old_pair, tc.old, tc.new),
            (self.new, new_pair, tc.new, tc.old),
        ):
            subj, other = (s, t) if d is Direction.EGRESS else (t, s)
            decision = direction_decision(side.engine, d, side.target(subj), side.target(other), side.target(t))
            for part in decision.parts:
                key = part.ref.policy
                if key not in tc.changed:
                    continue
                mask = self.atoms.mask(part.ports) & delta
                if not mask:
                    continue
                pol, other_pol = mine[key], theirs.get(key)
                rule = pol.rules(d)[part.ref.rule]
                label = f"{d.value.lower()} {rule.label}"
                field: str | None = None
                if other_pol is None:
                    change = "added" if side is self.new else "removed"
                else:
                    old_pol, new_pol = (pol, other_pol) if side is self.old else (other_pol, pol)
                    fields = tier_policy_fields(old_pol, new_pol)
                    rules_o, rules_n = old_pol.rules(d), new_pol.rules(d)
                    i = part.ref.rule
                    if i >= len(rules_o) or i >= len(rules_n):
                        change = "added" if i >= len(rules_o) else "removed"
                    else:
                        fields += tier_rule_fields(rules_o[i], rules_n[i], d, pol.api_kind)
                        change = "edited"
                        if not fields:
                            fields = ["order"]  # the same rule, moved by an edit elsewhere in the policy
                    field = ", ".join(fields) or None
                c = Cause(policy=key, rule=label, change=change, field=field, tier=str(pol.tier))
                out[c] = out.get(c, 0) | mask
        return out

    def _policy(self, side: _Side, key: str) -> Policy | None:
        k = side.index.get(key)
        return None if k is None else side.rules.policies[k]

    def _endpoint_causes(self, reps: list[tuple[Endpoint | None, Endpoint | None]]) -> set[Cause]:
        """What else changed about the pair's ends (when no policy change accounts for it)."""
        out: set[Cause] = set()
        for old_ep, new_ep in reps:
            if old_ep is None or new_ep is None:
                continue
            f = endpoint_fields(old_ep, new_ep)
            if f:
                out.add(Cause(policy=None, rule=None, change="edited", field=f, object=new_ep.key))
            ol = dict(self.old.cluster.namespace_labels(old_ep.namespace))
            nl = dict(self.new.cluster.namespace_labels(new_ep.namespace))
            if ol != nl:
                out.add(
                    Cause(
                        policy=None, rule=None, change="edited", field="labels", object=f"namespace {new_ep.namespace}"
                    )
                )
        return out


def _blocks_compare(
    o: ConnMatrix, n: ConnMatrix, jo: npt.NDArray[np.int64], jn: npt.NDArray[np.int64]
) -> list[tuple[int, int, int, int]]:
    """``(p, q, before, after)`` for every joint-class pair whose cells differ."""
    out: list[tuple[int, int, int, int]] = []
    size = len(jo)
    w = o.atoms.words
    step = max(1, _BLOCK_WORDS // max(1, size * w))
    for r0 in range(0, size, step):
        r1 = min(size, r0 + step)
        co = o.rows_block(jo[r0:r1], jo)
        cn = n.rows_block(jn[r0:r1], jn)
        ps, qs = np.nonzero((co != cn).any(axis=2))
        for p, q in zip(ps.tolist(), qs.tolist(), strict=True):
            out.append((r0 + p, q, o.atoms.from_words(co[p, q]), o.atoms.from_words(cn[p, q])))
    return out


def compute_diff(
    old: Cluster, new: Cluster, options: Options, *, by: str = "workload", progress: Progress | None = None
) -> Diff:
    """Every pair whose allowed connections differ between ``old`` and ``new``, with causes."""
    atoms = PortAtoms.for_clusters([old, new])
    ranges = address_ranges([old, new], options)
    so = _Side(old, options, atoms, ranges, progress)
    sn = _Side(new, options, atoms, ranges, progress)
    pc = policy_changes(old.policies, new.policies)
    ex = _Explainer(so, sn, pc, tier_changes(old.tier_policies, new.tier_policies))
    ps = atoms.portset
    # joint classes of persistent endpoints, then one per address range
    # (endpoints are matched by key; a key met twice in one version counts once, its first object)
    persistent = [
        (so.by_key[e.key], i) for i, e in enumerate(new.endpoints) if e.key in so.by_key and sn.by_key[e.key] == i
    ]
    joint: dict[Pair, int] = {}
    members: list[list[Pair]] = []
    for io, jn in persistent:
        key = (so.cls[io], sn.cls[jn])
        p = joint.get(key)
        if p is None:
            p = joint[key] = len(members)
            members.append([])
        members[p].append((io, jn))
    n_jc = len(members)
    jo = np.asarray([k[0] for k in joint] + [so.range_target(g) for g in range(len(ranges))], dtype=np.int64)
    jn_ = np.asarray([k[1] for k in joint] + [sn.range_target(g) for g in range(len(ranges))], dtype=np.int64)
    changed = _blocks_compare(so.comp, sn.comp, jo, jn_)

    def reps(p: int, q: int) -> Callable[[], list[tuple[Endpoint | None, Endpoint | None]]]:
        def get() -> list[tuple[Endpoint | None, Endpoint | None]]:
            out: list[tuple[Endpoint | None, Endpoint | None]] = []
            for x in (p, q):
                if x < n_jc:
                    io, jn = members[x][0]
                    out.append((old.endpoints[io], new.endpoints[jn]))
            return out

        return get

    cells = {(p, q): (before, after) for p, q, before, after in changed}

    def explain(p: int, q: int) -> tuple[Cause, ...]:
        return ex.causes(int(jo[p]), int(jo[q]), int(jn_[p]), int(jn_[q]), cells[(p, q)], reps(p, q))

    changes: list[PairChange] = []
    counts = {"added": 0, "removed": 0, "changed": 0, NEW_ENDPOINT: 0, REMOVED_ENDPOINT: 0}
    range_names = [r.key for r in ranges]
    if by == "pod":
        total = (
            len(persistent) ** 2
            - sum(1 for _, jn in persistent if new.endpoints[jn].is_pod)
            + 2 * len(persistent) * len(ranges)
        )
        for p, q, before, after in changed:
            src_names = [new.endpoints[jn].key for _, jn in members[p]] if p < n_jc else [range_names[p - n_jc]]
            dst_names = [new.endpoints[jn].key for _, jn in members[q]] if q < n_jc else [range_names[q - n_jc]]
            pod_src = [new.endpoints[jn].is_pod for _, jn in members[p]] if p < n_jc else [False]
            causes = explain(p, q)
            kind = change_kind(ps(before), ps(after))
            for a, s_name in enumerate(src_names):
                for b, d_name in enumerate(dst_names):
                    if p == q and a == b and pod_src[a]:
                        continue
                    changes.append(
                        PairChange(
                            change=kind, src=s_name, dst=d_name, before=ps(before), after=ps(after), causes=causes
                        )
                    )
                    counts[kind] += 1
        changes.extend(_one_sided(sn, so, NEW_ENDPOINT, by, after_side=True))
        changes.extend(_one_sided(so, sn, REMOVED_ENDPOINT, by, after_side=False))
    else:
        total = _grouped_changes(so, sn, by, changes, counts, changed, members, n_jc, explain, ps)
    for c in changes:
        if c.change in (NEW_ENDPOINT, REMOVED_ENDPOINT):
            counts[c.change] += 1
    summary = {
        "added": counts["added"],
        "removed": counts["removed"],
        "changed": counts["changed"],
        "unchanged": total - counts["added"] - counts["removed"] - counts["changed"],
        NEW_ENDPOINT: counts[NEW_ENDPOINT],
        REMOVED_ENDPOINT: counts[REMOVED_ENDPOINT],
    }
    return Diff(by=by, changes=sort_changes(changes), summary=summary)


def _one_sided(side: _Side, other: _Side, kind: str, by: str, *, after_side: bool) -> list[PairChange]:
    """Pairs with an end only on ``side`` (pod level): its connections, before or after."""
    comp = side.comp
    atoms = comp.atoms
    eps = side.eps
    only = [i for i, e in enumerate(eps) if e.key not in other.by_key and side.by_key[e.key] == i]
    if not only:
        return []
    only_set = set(only)
    names = [e.key for e in eps] + [r.key for r in comp.ranges]
    targets = [*side.cls, *(comp.n + g for g in range(len(comp.ranges)))]
    out: list[PairChange] = []

    def add(i: int, j: int, mask: int) -> None:
        if not mask:
            return
        s = atoms.portset(mask)
        none = PortSet.none()
        out.append(
            PairChange(
                change=kind,
                src=names[i],
                dst=names[j],
                before=none if after_side else s,
                after=s if after_side else none,
            )
        )

    for i in only:
        row = comp.class_row(side.cls[i])
        for j, t in enumerate(targets):
            if j == i and eps[i].is_pod:
                continue
            add(i, j, atoms.from_words(row[t]))
        col = comp.rows_block(np.asarray(targets, dtype=np.int64), np.asarray([side.cls[i]], dtype=np.int64))[:, 0]
        for j in range(len(targets)):
            if j == i or j in only_set:
                continue
            add(j, i, atoms.from_words(col[j]))
    return out


def _grouped_changes(
    so: _Side,
    sn: _Side,
    by: str,
    changes: list[PairChange],
    counts: dict[str, int],
    changed: list[tuple[int, int, int, int]],
    members: list[list[Pair]],
    n_jc: int,
    explain: Callable[[int, int], tuple[Cause, ...]],
    ps: Callable[[int], PortSet],
) -> int:
    """Compare group-to-group connections of both sides; returns the number of group pairs on both sides.

    When every group has the same members on both sides (the common case: policies changed,
    workloads did not), only the group pairs holding a changed joint-class pair can differ, and
    only their unions are computed. Otherwise both sides' whole group tables are compared."""
    atoms = so.comp.atoms
    # joint-class pairs that differ, by the groups their members belong to
    jc_groups: list[set[str]] = [{group_key(sn.eps[jn], by) for _, jn in m} for m in members]
    range_names = [r.key for r in so.comp.ranges]
    by_group_pair: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for p, q, _, _ in changed:
        gp = jc_groups[p] if p < n_jc else {range_names[p - n_jc]}
        gq = jc_groups[q] if q < n_jc else {range_names[q - n_jc]}
        for a in gp:
            for b in gq:
                by_group_pair.setdefault((a, b), []).append((p, q))
    n_ranges = len(range_names)
    same_members = _memberships(so, by) == _memberships(sn, by)
    if same_members:
        groups = {group_key(e, by) for e in sn.eps}
        total = (len(groups) + n_ranges) ** 2 - n_ranges**2
        differing = _candidate_unions(so, sn, by, members, n_jc, range_names, list(by_group_pair))
        go = gn = None
    else:
        go = Grouped(so.eps, so.comp, by)
        gn = Grouped(sn.eps, sn.comp, by)
        differing, total = _table_unions(go, gn, range_names)
    for src, dst, before_mask, after_mask in differing:
        before, after = ps(before_mask), ps(after_mask)
        causes: list[Cause] = []
        opened, closed = after - before, before - after
        for p, q in by_group_pair.get((src, dst), ()):
            for c in explain(p, q):
                # a member pair's change may be hidden in the group's union by another member
                c = replace(c, opens=c.opens & opened, closes=c.closes & closed)
                if c.policy is None or c.opens or c.closes:
                    causes.append(c)
        if not causes:
            causes.append(
                Cause(policy=None, rule=None, change="edited", field="members", object=src if src != dst else dst)
            )
        kind = change_kind(before, after)
        changes.append(
            PairChange(
                change=kind,
                src=src,
                dst=dst,
                before=before,
                after=after,
                causes=merge_causes(causes),
            )
        )
        counts[kind] += 1
    if go is None or gn is None:
        return total
    # groups on one side only: their connections, before or after
    none = PortSet.none()
    to, tn = go.table(), gn.table()
    for side_g, table, other_g, kind, after_side in (
        (gn, tn, go, NEW_ENDPOINT, True),
        (go, to, gn, REMOVED_ENDPOINT, False),
    ):
        only = [g for g, name in enumerate(side_g.names) if name not in other_g.index]
        only_set = set(only)
        pairs = [(g, h) for g in only for h in range(len(side_g.names))]
        pairs += [(h, g) for g in only for h in range(len(side_g.names)) if h not in only_set]
        for ga, gb in pairs:
            mask = atoms.from_words(table[ga, gb])
            if mask:
                s = ps(mask)
                changes.append(
                    PairChange(
                        change=kind,
                        src=side_g.names[ga],
                        dst=side_g.names[gb],
                        before=none if after_side else s,
                        after=s if after_side else none,
                    )
                )
    return total


def _memberships(side: _Side, by: str) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for e in side.eps:
        out.setdefault(group_key(e, by), set()).add(e.key)
    return {k: frozenset(v) for k, v in out.items()}


def _candidate_unions(
    so: _Side,
    sn: _Side,
    by: str,
    members: list[list[Pair]],
    n_jc: int,
    range_names: list[str],
    candidates: list[tuple[str, str]],
) -> list[tuple[str, str, int, int]]:
    """``(src, dst, before, after)`` for the candidate group pairs whose unions differ.

    A group's *units* are its members of one joint class; a pod alone in its unit is left out
    of the unit's pair with itself (a pod's pair with itself is not counted)."""
    units: dict[str, dict[int, list[int]]] = {}  # group -> joint class -> [count, pods]
    for p, m in enumerate(members):
        for _, jn in m:
            e = sn.eps[jn]
            u = units.setdefault(group_key(e, by), {}).setdefault(p, [0, 0])
            u[0] += 1
            u[1] += e.is_pod
    for gi, name in enumerate(range_names):
        units[name] = {n_jc + gi: [1, 0]}
    jo_all = [int(so.range_target(p - n_jc)) if p >= n_jc else -1 for p in range(n_jc + len(range_names))]
    jn_all = [int(sn.range_target(p - n_jc)) if p >= n_jc else -1 for p in range(n_jc + len(range_names))]
    for p, m in enumerate(members):
        io, jn = m[0]
        jo_all[p], jn_all[p] = so.cls[io], sn.cls[jn]
    s_o: list[int] = []
    d_o: list[int] = []
    s_n: list[int] = []
    d_n: list[int] = []
    starts: list[int] = []
    kept: list[tuple[str, str]] = []
    for g, h in candidates:
        first = len(s_o)
        for p, (cp, pods_p) in units.get(g, {}).items():
            for q in units.get(h, {}):
                if g == h and p == q and cp == 1 and pods_p == 1:
                    continue
                s_o.append(jo_all[p])
                d_o.append(jo_all[q])
                s_n.append(jn_all[p])
                d_n.append(jn_all[q])
        if len(s_o) > first:
            starts.append(first)
            kept.append((g, h))
    if not kept:
        return []

    def unions(comp: ConnMatrix, s: list[int], d: list[int]) -> npt.NDArray[np.uint64]:
        cells = comp.pair_cells(np.asarray(s, dtype=np.int64), np.asarray(d, dtype=np.int64))
        out: npt.NDArray[np.uint64] = np.bitwise_or.reduceat(cells, np.asarray(starts, dtype=np.int64), axis=0)
        return out

    uo, un = unions(so.comp, s_o, d_o), unions(sn.comp, s_n, d_n)
    atoms = so.comp.atoms
    out = []
    for k in np.flatnonzero((uo != un).any(axis=1)).tolist():
        g, h = kept[k]
        out.append((g, h, atoms.from_words(uo[k]), atoms.from_words(un[k])))
    return out


def _table_unions(go: Grouped, gn: Grouped, range_names: list[str]) -> tuple[list[tuple[str, str, int, int]], int]:
    """Group pairs present on both sides whose unions differ, from both whole group tables."""
    to, tn = go.table(), gn.table()
    atoms = go.compiled.atoms
    common = [name for name in gn.names if name in go.index]
    if not common:
        return [], 0
    io = np.asarray([go.index[x] for x in common], dtype=np.int64)
    in_ = np.asarray([gn.index[x] for x in common], dtype=np.int64)
    co = to[io][:, io]
    cn = tn[in_][:, in_]
    ranges = set(range_names)
    is_range = np.asarray([x in ranges for x in common], dtype=np.bool_)
    total = len(common) ** 2 - len(range_names) ** 2
    diff = (co != cn).any(axis=2) & ~(is_range[:, None] & is_range[None, :])
    out = []
    for a, b in zip(*np.nonzero(diff), strict=True):
        out.append((common[int(a)], common[int(b)], atoms.from_words(co[a, b]), atoms.from_words(cn[a, b])))
    return out, total


__all__ = ["compute_diff"]
