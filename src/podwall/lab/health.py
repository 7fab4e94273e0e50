"""Is the lab what its state says? Namespaces, links, listener, ruleset.

A lab can be damaged in ways its state file does not show: ``lab up`` killed half-way (the
state says ``building``), a namespace deleted by hand, a listener killed, a table flushed.
Probing such a lab would report false kernel/engine disagreements, so ``lab status`` lists the
problems and ``lab probe``/``lab test`` refuse to run until ``lab up`` or ``lab down``.

Each check reads the kernel directly (``/run/netns``, rtnetlink via ``if_nameindex`` inside the
namespace, ``/proc``, the table listed as nft JSON) and never changes anything.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from typing import Any

from podwall.errors import NftError
from podwall.lab import netns as ns
from podwall.lab.state import READY, State
from podwall.lab.topology import is_host_key
from podwall.linux.netns import in_netns
from podwall.nft.apply import Nft
from podwall.nft.script import ruleset_from_dict

_DOING = {"building": "lab up", "applying": "lab apply"}


def interface_names(netns: str) -> set[str] | None:
    """The interfaces inside ``netns`` (``None`` if it cannot be entered)."""
    try:
        with in_netns(netns):
            return {name for _, name in socket.if_nameindex()}
    except OSError:
        return None


def is_our_server(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"podwall.lab.server" in fh.read()
    except OSError:
        return False


def _is_podwall(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"podwall" in fh.read()
    except OSError:
        return False


def _shown(names: Iterable[str], limit: int = 5) -> str:
    names = sorted(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def namespace_problems(st: State, node: str, present: set[str]) -> list[str]:
    out = []
    if node not in present:
        out.append(f"the node namespace {node} is missing")
    # host namespaces (keys host:<node>) carry a Node's addresses; the hostNetwork pods they
    # serve have no namespace (nor eth0) of their own and are not in st.pods
    for what, want in (("pod", False), ("host", True)):
        missing = [p.netns for p in st.pods if is_host_key(p.key) == want and p.netns not in present]
        if missing:
            out.append(f"{len(missing)} {what} namespace(s) missing: {_shown(missing)}")
    extra = present - {node} - {p.netns for p in st.pods}
    if extra:
        out.append(f"{len(extra)} namespace(s) not in the lab's state: {_shown(extra)}")
    return out


def link_problems(st: State, node: str, present: set[str]) -> list[str]:
    out = []
    node_links = interface_names(node) if node in present else None
    if node_links is not None:
        gone = [p.ifname for p in st.pods if p.ifname not in node_links]
        if gone:
            out.append(f"{len(gone)} pod link(s) missing in the node: {_shown(gone)}")
    for what, want in (("pod", False), ("host namespace", True)):
        no_eth0 = []
        for p in st.pods:
            if is_host_key(p.key) == want and p.netns in present:
                links = interface_names(p.netns)
                if links is None or "eth0" not in links:
                    no_eth0.append(p.netns)
        if no_eth0:
            out.append(f"{len(no_eth0)} {what}(s) without eth0: {_shown(no_eth0)}")
    return out


def listener_problems(st: State, state_dir: str) -> list[str]:
    if st.server_pid is None:
        return ["no listener was started"]
    if not is_our_server(st.server_pid):
        return [f"the listener (pid {st.server_pid}) is not running"]
    spec = os.path.join(state_dir, "listeners.json")
    try:
        with open(spec) as fh:
            gen = str(json.load(fh)["generation"])
        with open(spec + ".ack") as fh:
            ack = fh.read().strip()
    except (OSError, ValueError, KeyError):
        return ["the listener's spec is missing or unreadable"]
    return [] if ack == gen else ["the listener has not loaded the lab's current pods"]


NODE_SYSCTLS = {
    "net/ipv4/ip_forward": ("1", "IPv4 forwarding is off"),
    "net/ipv6/conf/all/forwarding": ("1", "IPv6 forwarding is off"),
    "net/ipv4/conf/all/rp_filter": ("1", "strict rp_filter is off (it checks the source of every IPv4 packet)"),
}


def sysctl_problems(node: str) -> list[str]:
    """The node's routing settings the lab relies on (read inside the node's namespace)."""
    out = []
    try:
        with in_netns(node):
            for key, (want, what) in NODE_SYSCTLS.items():
                with open(f"/proc/sys/{key}") as fh:
                    if fh.read().strip() != want:
                        out.append(f"in the node, {what}")
    except OSError as exc:
        out.append(f"cannot read the node's settings: {exc.strerror}")
    return out


def table_json(nft: Nft, table: str) -> list[dict[str, Any]] | None:
    """The table as nft JSON items, or ``None`` when the kernel has no such table."""
    try:
        out = nft.run(f"list table inet {table}", json_out=True)
    except NftError:
        return None
    items: list[dict[str, Any]] = json.loads(out).get("nftables", [])
    return items


def ruleset_problems(st: State, items: list[dict[str, Any]] | None) -> list[str]:
    """Chains (with their rule counts), sets and maps (with element counts, where exact)."""
    if st.ruleset is None:
        return ["no ruleset was loaded"]
    want = ruleset_from_dict(st.ruleset)
    if items is None:
        return [f"the table inet {want.table} is missing from the node"]
    rules: dict[str, int] = {}
    sets: dict[str, int] = {}
    maps: dict[str, int] = {}
    for it in items:
        if "chain" in it:
            rules.setdefault(it["chain"]["name"], 0)
        elif "rule" in it:
            rules[it["rule"]["chain"]] = rules.get(it["rule"]["chain"], 0) + 1
        elif "set" in it:
            sets[it["set"]["name"]] = len(it["set"].get("elem", []))
        elif "map" in it:
            maps[it["map"]["name"]] = len(it["map"].get("elem", []))
    out = []
    chain_rules = {c.name: len(c.rules) for c in want.chains}
    for kind, have, expect in (
        ("chain", rules, chain_rules),
        ("set", sets, {s.name: len(s.elements) for s in want.sets}),
        ("map", maps, {m.name: len(m.elements) for m in want.maps}),
    ):
        if missing := expect.keys() - have.keys():
            out.append(f"{len(missing)} {kind}(s) missing from the table: {_shown(missing)}")
        if extra := have.keys() - expect.keys():
            out.append(f"{len(extra)} {kind}(s) in the table that the lab did not load: {_shown(extra)}")
    changed = [n for n, c in chain_rules.items() if n in rules and rules[n] != c]
    if changed:
        out.append(f"{len(changed)} chain(s) whose rules differ from what was loaded: {_shown(changed)}")
    # interval sets are listed as the kernel merged them, so only exact sets and maps are counted
    exact = {s.name: len(s.elements) for s in want.sets if not s.interval}
    exact |= {m.name: len(m.elements) for m in want.maps}
    have_elems = sets | maps
    changed = [n for n, c in exact.items() if n in have_elems and have_elems[n] != c]
    if changed:
        out.append(f"{len(changed)} set(s) or map(s) whose elements differ from what was loaded: {_shown(changed)}")
    return out


def problems(st: State, *, node: str, prefix: str, state_dir: str, items: list[dict[str, Any]] | None) -> list[str]:
    """Everything that is not as the state says (empty: the lab is healthy)."""
    out = []
    if st.phase != READY:
        what = _DOING.get(st.phase, st.phase)
        if st.worker is not None and st.worker != os.getpid() and _is_podwall(st.worker):
            out.append(f"{what} is still running (pid {st.worker}, at: {st.step or 'the start'})")
        else:
            out.append(f"{what} did not finish (it stopped at: {st.step or 'the start'})")
    present = set(ns.list_netns(prefix))
    out += namespace_problems(st, node, present)
    out += link_problems(st, node, present)
    if st.phase == READY or st.server_pid is not None:
        out += listener_problems(st, state_dir)
    if node in present:
        out += sysctl_problems(node)
        out += ruleset_problems(st, items)
    return out
