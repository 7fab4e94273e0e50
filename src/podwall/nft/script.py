"""Render a :class:`~podwall.nft.compile.Ruleset` as nft scripts: pure text, deterministic.

Three kinds of script, each applied as ONE nft transaction (so there is never a moment without
the rules, which would fail open; research/lab.md section 4):

* :func:`create_script` — a fresh table (``add table`` + ``delete table`` + the table): for
  ``lab up`` and for ``nft -c`` checks;
* :func:`replace_script` — in place: ``flush table``, flush the sets and maps that stay, delete
  the stale objects, then the whole table again. Sets are never deleted and recreated in the
  same transaction as the rules that use them: interval sets recreated that way briefly drop
  new flows (measured in lab.md);
* :func:`diff_script` — the smallest change from the ruleset applied before: element diffs of
  sets and maps, and only the chains whose rules changed. Pod churn becomes a few elements.

Objects are written in dependency order (sets, policy chains, signature chains, maps, base
chains), so no line refers to something declared further down. :func:`to_json` gives the same
ruleset in nft's JSON input format (``nft -j -f``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from podwall.nft.compile import (
    Chain,
    Compare,
    Counter,
    CtState,
    Hook,
    NftRule,
    NftSet,
    Ruleset,
    SetMatch,
    Stmt,
    Verdict,
    VerdictMap,
    Vmap,
)

FAMILY = "inet"


# -- text -----------------------------------------------------------------------------------


def render_stmt(s: Stmt) -> str:
    if isinstance(s, SetMatch):
        return " . ".join(s.keys) + (" != " if s.negate else " ") + f"@{s.set_name}"
    if isinstance(s, CtState):
        return "ct state " + ",".join(s.states)
    if isinstance(s, Vmap):
        return f"{s.key} vmap @{s.map_name}"
    if isinstance(s, Compare):
        return f"{s.key} {'!= ' if s.negate else ''}{s.value}"
    if isinstance(s, Counter):
        return "counter"
    if s.kind == "jump":
        return f"jump {s.target}"
    return s.kind


def render_rule(r: NftRule) -> str:
    text = " ".join(render_stmt(s) for s in r.stmts)
    if r.comment:
        text += f' comment "{r.comment}"'
    return text


def _elements(elems: Iterable[str], indent: str) -> list[str]:
    elems = list(elems)
    if not elems:
        return []
    lines = [f"{indent}elements = {{"]
    for i in range(0, len(elems), 8):
        chunk = ", ".join(elems[i : i + 8])
        last = i + 8 >= len(elems)
        lines.append(f"{indent}\t{chunk}{'' if last else ','}")
    lines.append(f"{indent}}}")
    return lines


def set_lines(s: NftSet) -> list[str]:
    lines = [f"\tset {s.name} {{", f"\t\ttype {' . '.join(s.key)}"]
    if s.interval:
        lines.append("\t\tflags interval")
    if s.comment:
        lines.append(f'\t\tcomment "{s.comment}"')
    lines += _elements(s.elements, "\t\t")
    lines.append("\t}")
    return lines


def _map_lines(m: VerdictMap, with_elements: bool = True) -> list[str]:
    lines = [f"\tmap {m.name} {{", "\t\ttype ifname : verdict"]
    if with_elements:
        lines += _elements((f'"{k}" : jump {v}' for k, v in m.elements), "\t\t")
    lines.append("\t}")
    return lines


def _hook_line(h: Hook) -> str:
    return f"\t\ttype {h.type} hook {h.hook} priority {h.priority}; policy {h.policy};"


def _chain_lines(c: Chain) -> list[str]:
    lines = [f"\tchain {c.name} {{"]
    if c.hook is not None:
        lines.append(_hook_line(c.hook))
    lines += [f"\t\t{render_rule(r)}" for r in c.rules]
    lines.append("\t}")
    return lines


def ordered_chains(rs: Ruleset) -> list[Chain]:
    """Policy and tier chains, then signature chains, tier dispatch, base chains: callees before callers."""
    rank = {"p": 0, "a": 0, "b": 0, "s": 1, "t": 2}  # tier chains (a, b) and tier dispatch (t): tiers.py
    return sorted(rs.chains, key=lambda c: (3 if c.hook else rank.get(c.name[0], 1), c.name))


def render(rs: Ruleset) -> str:
    """The table as one ``table inet NAME { ... }`` block (what ``podwall compile`` prints)."""
    lines = [f"table {FAMILY} {rs.table} {{"]
    for s in rs.sets:
        lines += set_lines(s)
    chains = ordered_chains(rs)
    for c in chains:
        if c.hook is None:
            lines += _chain_lines(c)
    for m in rs.maps:
        lines += _map_lines(m)
    for c in chains:
        if c.hook is not None:
            lines += _chain_lines(c)
    lines.append("}")
    return "\n".join(lines) + "\n"


def create_script(rs: Ruleset) -> str:
    """Replace whatever table of that name exists by this one, in one transaction."""
    return f"add table {FAMILY} {rs.table}\ndelete table {FAMILY} {rs.table}\n" + render(rs)


@dataclass(frozen=True)
class Names:
    """Names of the objects a table holds now (from memory, or listed from the kernel)."""

    chains: frozenset[str] = frozenset()
    sets: frozenset[str] = frozenset()
    maps: frozenset[str] = frozenset()


def names_of(rs: Ruleset) -> Names:
    return Names(
        chains=frozenset(c.name for c in rs.chains),
        sets=frozenset(s.name for s in rs.sets),
        maps=frozenset(m.name for m in rs.maps),
    )


def replace_script(rs: Ruleset, existing: Names) -> str:
    """Replace the table's content in place, keeping set and map objects that stay."""
    t = f"{FAMILY} {rs.table}"
    want = names_of(rs)
    lines = [f"add table {t}", f"flush table {t}"]
    lines += [f"flush set {t} {n}" for n in sorted(existing.sets & want.sets)]
    lines += [f"flush map {t} {n}" for n in sorted(existing.maps & want.maps)]
    lines += [f"delete chain {t} {n}" for n in sorted(existing.chains - want.chains)]
    lines += [f"delete set {t} {n}" for n in sorted(existing.sets - want.sets)]
    lines += [f"delete map {t} {n}" for n in sorted(existing.maps - want.maps)]
    return "\n".join(lines) + "\n" + render(rs)


def _elem_block(elems: Iterable[str]) -> str:
    return "{ " + ", ".join(elems) + " }"


def diff_phases(old: Ruleset, new: Ruleset) -> list[str]:
    """The smallest change from ``old`` (as applied) to ``new``, as up to three transactions.

    1. new sets, with their elements: nothing uses them yet, so no verdict changes;
    2. element diffs, changed and new chains, dispatch maps: the actual switch, atomic;
    3. deleting sets nothing uses any more.

    New interval sets are thus never created in the transaction whose rules start using them:
    lab.md measured that doing so drops a few new connections at the switch. Phases 1 and 3
    change no verdict, so splitting them off never opens a window. Returns ``[]`` when
    nothing changes. Sets whose type changes get a new name by construction (names hash
    their kind), so only elements move in place.
    """
    if old.table != new.table:
        raise ValueError("diff between different tables")
    t = f"{FAMILY} {new.table}"
    out: list[str] = []
    old_sets = {s.name: s for s in old.sets}
    new_sets = {s.name: s for s in new.sets}
    old_chains = {c.name: c for c in old.chains}
    new_chains = {c.name: c for c in new.chains}
    old_maps = {m.name: m for m in old.maps}
    new_maps = {m.name: m for m in new.maps}
    # 1. new objects: sets with their elements, chains empty for now
    added_sets = [new_sets[n] for n in sorted(new_sets.keys() - old_sets.keys())]
    first: list[str] = []
    if added_sets:
        first.append(f"table {t} {{")
        for s in added_sets:
            first += set_lines(s)
        first.append("}")
    for c in ordered_chains(new):
        if c.name not in old_chains:
            if c.hook is not None:
                raise ValueError("base chains differ: use replace_script")
            out.append(f"add chain {t} {c.name}")
    # 2. element diffs of kept sets
    for n in sorted(new_sets.keys() & old_sets.keys()):
        o, w = old_sets[n], new_sets[n]
        if (o.key, o.interval) != (w.key, w.interval):
            raise ValueError(f"set {n} changed type: use replace_script")
        gone = sorted(set(o.elements) - set(w.elements))
        came = sorted(set(w.elements) - set(o.elements))
        if gone:
            out.append(f"delete element {t} {n} {_elem_block(gone)}")
        if came:
            out.append(f"add element {t} {n} {_elem_block(came)}")
    # 3. chains whose rules changed (callees first), and the rules of new chains
    for c in ordered_chains(new):
        before = old_chains.get(c.name)
        if before is not None and before.rules == c.rules:
            continue
        if before is not None:
            if c.hook != before.hook:
                raise ValueError("base chains differ: use replace_script")
            out.append(f"flush chain {t} {c.name}")
        out += [f"add rule {t} {c.name} {render_rule(r)}" for r in c.rules]
    # 4. dispatch maps
    for n in sorted(new_maps.keys() | old_maps.keys()):
        if n not in new_maps or n not in old_maps:
            raise ValueError("maps differ: use replace_script")
        o_el, w_el = dict(old_maps[n].elements), dict(new_maps[n].elements)
        gone = sorted(k for k in o_el if w_el.get(k) != o_el[k])
        came = sorted(k for k in w_el if o_el.get(k) != w_el[k])
        if gone:
            out.append(f"delete element {t} {n} {_elem_block(f'{chr(34)}{k}{chr(34)}' for k in gone)}")
        if came:
            out.append(f"add element {t} {n} {_elem_block(f'{chr(34)}{k}{chr(34)} : jump {w_el[k]}' for k in came)}")
    # 5. stale objects: empty the chains first (they may jump to each other), then delete
    stale_chains = sorted(old_chains.keys() - new_chains.keys())
    out += [f"flush chain {t} {n}" for n in stale_chains]
    out += [f"delete chain {t} {n}" for n in stale_chains]
    last = [f"delete set {t} {n}" for n in sorted(old_sets.keys() - new_sets.keys())]
    return ["\n".join(p) + "\n" for p in (first, out, last) if p]


def diff_script(old: Ruleset, new: Ruleset) -> str:
    """:func:`diff_phases` as one transaction (``""`` when nothing changes)."""
    return "".join(diff_phases(old, new))


# -- JSON -----------------------------------------------------------------------------------

_PAYLOAD = {"saddr", "daddr", "dport"}


def _json_key(key: str) -> dict[str, Any]:
    if key in ("iifname", "oifname"):
        return {"meta": {"key": key}}
    proto, fld = key.split(" ")
    if proto == "meta":
        return {"meta": {"key": fld}}
    return {"payload": {"protocol": proto, "field": fld}}


def _json_stmt(s: Stmt) -> dict[str, Any]:
    if isinstance(s, SetMatch):
        left: dict[str, Any]
        left = _json_key(s.keys[0]) if len(s.keys) == 1 else {"concat": [_json_key(k) for k in s.keys]}
        return {"match": {"op": "!=" if s.negate else "==", "left": left, "right": f"@{s.set_name}"}}
    if isinstance(s, CtState):
        right: Any = list(s.states) if len(s.states) > 1 else s.states[0]
        return {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": right}}
    if isinstance(s, Vmap):
        return {"vmap": {"key": {"meta": {"key": s.key}}, "data": f"@{s.map_name}"}}
    if isinstance(s, Compare):
        return {"match": {"op": "!=" if s.negate else "==", "left": _json_key(s.key), "right": _json_elem(s.value)}}
    if isinstance(s, Counter):
        return {"counter": None}
    if isinstance(s, Verdict) and s.kind == "jump":
        return {"jump": {"target": s.target}}
    return {s.kind: None}


def _json_elem(text: str) -> Any:
    parts = [p.strip() for p in text.split(" . ")]

    def one(p: str) -> Any:
        if p.startswith('"') and p.endswith('"'):
            return p[1:-1]
        if "/" in p:
            addr, ln = p.split("/")
            return {"prefix": {"addr": addr, "len": int(ln)}}
        if p.isdigit():
            return int(p)
        if "-" in p and p.replace("-", "").isdigit():
            lo, hi = p.split("-")
            return {"range": [int(lo), int(hi)]}
        return p

    if len(parts) == 1:
        return one(parts[0])
    return {"concat": [one(p) for p in parts]}


def to_json(rs: Ruleset) -> dict[str, Any]:
    """The ruleset in nft's JSON input format (``nft -j -f``), as a fresh table."""
    base = {"family": FAMILY, "table": rs.table}
    cmds: list[dict[str, Any]] = [
        {"add": {"table": {"family": FAMILY, "name": rs.table}}},
        {"delete": {"table": {"family": FAMILY, "name": rs.table}}},
        {"add": {"table": {"family": FAMILY, "name": rs.table}}},
    ]
    for s in rs.sets:
        obj: dict[str, Any] = dict(base, name=s.name)
        obj["type"] = s.key[0] if len(s.key) == 1 else list(s.key)
        if s.interval:
            obj["flags"] = ["interval"]
        if s.comment:
            obj["comment"] = s.comment
        if s.elements:
            obj["elem"] = [_json_elem(e) for e in s.elements]
        cmds.append({"add": {"set": obj}})
    chains = ordered_chains(rs)
    for c in chains:
        ch: dict[str, Any] = dict(base, name=c.name)
        if c.hook is not None:
            ch.update(type=c.hook.type, hook=c.hook.hook, prio=c.hook.priority, policy=c.hook.policy)
        cmds.append({"add": {"chain": ch}})
    for m in rs.maps:
        mo: dict[str, Any] = dict(base, name=m.name, type="ifname", map="verdict")
        if m.elements:
            mo["elem"] = [[k, {"jump": {"target": v}}] for k, v in m.elements]
        cmds.append({"add": {"map": mo}})
    for c in chains:
        for r in c.rules:
            ro: dict[str, Any] = dict(base, chain=c.name, expr=[_json_stmt(s) for s in r.stmts])
            if r.comment:
                ro["comment"] = r.comment
            cmds.append({"add": {"rule": ro}})
    return {"nftables": cmds}


# -- serialisation (the lab keeps the applied ruleset between invocations) ------------------


def ruleset_to_dict(rs: Ruleset) -> dict[str, Any]:
    return {
        "table": rs.table,
        "sets": [[s.name, list(s.key), s.interval, list(s.elements), s.comment] for s in rs.sets],
        "maps": [[m.name, [list(e) for e in m.elements]] for m in rs.maps],
        "chains": [
            [
                c.name,
                [c.hook.type, c.hook.hook, c.hook.priority, c.hook.policy] if c.hook else None,
                [[[_stmt_to_list(s) for s in r.stmts], r.comment] for r in c.rules],
            ]
            for c in rs.chains
        ],
    }


def _stmt_to_list(s: Stmt) -> list[Any]:
    if isinstance(s, SetMatch):
        return ["set", list(s.keys), s.set_name, s.negate]
    if isinstance(s, CtState):
        return ["ct", list(s.states)]
    if isinstance(s, Vmap):
        return ["vmap", s.key, s.map_name]
    if isinstance(s, Compare):
        return ["cmp", s.key, s.value, s.negate]
    if isinstance(s, Counter):
        return ["counter"]
    return ["verdict", s.kind, s.target]


def _stmt_from_list(x: list[Any]) -> Stmt:
    tag = x[0]
    if tag == "set":
        return SetMatch(tuple(x[1]), x[2], bool(x[3]))
    if tag == "ct":
        return CtState(tuple(x[1]))
    if tag == "vmap":
        return Vmap(x[1], x[2])
    if tag == "cmp":
        return Compare(x[1], x[2], bool(x[3]))
    if tag == "counter":
        return Counter()
    return Verdict(x[1], x[2])


def ruleset_from_dict(d: Mapping[str, Any]) -> Ruleset:
    return Ruleset(
        table=d["table"],
        sets=tuple(
            NftSet(name=n, key=tuple(k), interval=i, elements=tuple(e), comment=c) for n, k, i, e, c in d["sets"]
        ),
        maps=tuple(VerdictMap(n, tuple((a, b) for a, b in el)) for n, el in d["maps"]),
        chains=tuple(
            Chain(
                name=n,
                hook=Hook(h[0], h[1], h[2], h[3]) if h else None,
                rules=tuple(NftRule(tuple(_stmt_from_list(s) for s in stmts), cm) for stmts, cm in rules),
            )
            for n, h, rules in d["chains"]
        ),
    )
