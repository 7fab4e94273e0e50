"""A lab: build it, change its policies in place, look at it, take it down.

State between CLI invocations lives in ``/run/podwall/<lab>/state.json`` (:mod:`.state`);
whether the kernel still matches it is :mod:`.health`'s question. Every lab operation needs
root; a lab that is damaged (an interrupted ``up``, a namespace deleted by hand...) is not
probed until ``lab up`` rebuilds it or ``lab down`` removes it.

Order of operations (research/lab.md, "update strategy"): the ruleset that covers a new pod is
loaded *before* its namespace exists, and a removed pod's namespace is deleted *before* its
addresses leave the sets; every ruleset change is one nft transaction. Anything that fails
half-way through ``up`` (including Ctrl-C) tears the lab down again.

Established connections when access is revoked: by default they survive (the ruleset accepts
``ct state established`` first, as most stateful enforcers do), and only new connections are
refused. ``apply(..., cut=True)`` is the strict choice: after the new rules are in, every
conntrack entry of the node whose flow the engine no longer allows is deleted; with TCP loose
pick-up disabled in the node, the flow's next packet is INVALID and dropped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from podwall.core.evaluate import Engine
from podwall.core.model import Options
from podwall.errors import LabError, ManifestError
from podwall.lab import conntrack, health
from podwall.lab import netns as ns
from podwall.lab.probe import LabCluster
from podwall.lab.state import APPLYING, BUILDING, READY, STATE_ROOT, State, options_dict
from podwall.lab.topology import LabPlan, PodPlan, check_lab_name, is_host_key, lab_prefix, node_netns, plan
from podwall.linux.netns import netns_path
from podwall.nft.apply import Nft
from podwall.nft.compile import Ruleset, compile_ruleset
from podwall.nft.script import ruleset_from_dict, ruleset_to_dict
from podwall.sources.decode import load_texts
from podwall.sources.manifests import SourceText

__all__ = ["Change", "Drop", "Lab", "LabStatus", "RulesetStats", "require_root"]
TIER_DENY = re.compile(r"\[(Admin|Baseline)\] \S+ (ingress|egress) rule #\d+ Deny\b")


def require_root() -> None:
    """Raises LabError (exit 3) unless this process may build and read labs."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, nftables and its state in /run/podwall)")
    if shutil.which("ip") is None:
        raise LabError("the ip tool is missing (apt-get install iproute2)")


@dataclass(frozen=True, kw_only=True)
class RulesetStats:
    """The size of a ruleset."""

    chains: int = 0
    rules: int = 0
    sets: int = 0
    elements: int = 0
    """Set and map elements."""

    @classmethod
    def of(cls, rs: Ruleset) -> RulesetStats:
        return cls(
            chains=len(rs.chains),
            rules=sum(len(c.rules) for c in rs.chains),
            sets=len(rs.sets),
            elements=sum(len(s.elements) for s in rs.sets) + sum(len(m.elements) for m in rs.maps),
        )


@dataclass(frozen=True, kw_only=True)
class Change:
    """What an ``up`` or ``apply`` did."""

    pods_added: int = 0
    pods_removed: int = 0
    pods_total: int = 0
    skipped: tuple[tuple[str, str], ...] = ()
    """(endpoint key, why it has no namespace)."""
    nft: str = ""
    """``create``, ``diff``, ``replace`` or ``none``."""
    stats: RulesetStats = RulesetStats()
    cut: int = 0
    """Established connections cut (``apply --cut``)."""
    seconds: float = 0.0
    hosts: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    """Host namespaces: (key, node addresses, hostNetwork endpoints living there)."""


@dataclass(frozen=True, kw_only=True)
class Drop:
    """A drop counter of the ruleset that moved: which isolation dropped how much."""

    chain: str
    comment: str
    packets: int
    bytes: int


@dataclass(frozen=True, kw_only=True)
class LabStatus:
    """``lab status``: what the lab is, and whether the kernel still matches it."""

    lab: str
    node: str
    up: bool
    """The state file and the node namespace exist."""
    problems: tuple[str, ...]
    """What is not as the state says; empty when healthy."""
    phase: str
    pods: int
    """Pod namespaces (host namespaces are counted apart, in ``hosts``)."""
    hosts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Host namespaces: (key ``host:<node>``, node addresses)."""
    namespaces_missing: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    listener_pid: int | None
    listener_alive: bool
    ruleset: RulesetStats | None
    drops: tuple[Drop, ...]

    @property
    def healthy(self) -> bool:
        return self.up and not self.problems


class Lab:
    """One lab: ``podwall-<name>-node`` plus ``podwall-<name>-pod-*``."""

    def __init__(self, name: str = "default", *, state_root: str = STATE_ROOT, backend: str = "auto") -> None:
        self.name = check_lab_name(name)
        self.prefix = lab_prefix(name)
        self.node = node_netns(name)
        self.state_dir = os.path.join(state_root, name)
        self.state_file = os.path.join(self.state_dir, "state.json")
        self.backend = backend
        self._nft: Nft | None = None

    # -- state ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return os.path.exists(self.state_file) and os.path.exists(netns_path(self.node))

    def state(self) -> State:
        """The lab's state; raises LabError when there is none (or it is unreadable)."""
        require_root()
        try:
            with open(self.state_file) as fh:
                return State.from_json(fh.read())
        except FileNotFoundError:
            raise LabError(f"no lab {self.name!r} is up (run: podwall lab up PATHS)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise LabError(f"the state of lab {self.name!r} is unreadable ({exc}): run podwall lab down") from None

    def _save(self, st: State, step: str | None = None) -> None:
        if step is not None:
            st.step = step
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(st.to_json())
        os.replace(tmp, self.state_file)

    def nft(self) -> Nft:
        if self._nft is None:
            self._nft = Nft(self.node, backend=self.backend)
        return self._nft

    def close(self) -> None:
        if self._nft is not None:
            self._nft.close()
            self._nft = None

    def problems(self, st: State | None = None) -> list[str]:
        """What is not as the lab's state says (see :mod:`podwall.lab.health`); empty: healthy."""
        st = st or self.state()
        items = None
        if os.path.exists(netns_path(self.node)) and st.ruleset is not None:
            items = health.table_json(self.nft(), ruleset_from_dict(st.ruleset).table)
        return health.problems(st, node=self.node, prefix=self.prefix, state_dir=self.state_dir, items=items)

    def loaded(self, st: State | None = None, *, check: bool = True) -> tuple[LabCluster, LabPlan]:
        """The cluster as the lab has it (lab IPs filled in), with its engine, and the plan.

        Raises:
            LabError: no such lab, or (with ``check``) the lab is damaged: probing it would
                report false disagreements.
        """
        st = st or self.state()
        if check and (bad := self.problems(st)):
            raise LabError(
                f"lab {self.name!r} is damaged: {'; '.join(bad)}. "
                "Rebuild it (podwall lab up PATHS) or remove it (podwall lab down)."
            )
        sources = [SourceText(n, t) for n, t in st.sources]
        result = load_texts(sources, default_namespace=st.namespace)
        prev = {p.key: p.ips for p in st.pods}
        lab_plan, lab_cluster = plan(result.cluster, self.name, st.opts(), prev)
        view = LabCluster(cluster=lab_cluster, engine=Engine(lab_cluster, st.opts()), default_namespace=st.namespace)
        return view, lab_plan

    # -- lifecycle -------------------------------------------------------------------------
    def up(
        self, sources: Sequence[SourceText], *, namespace: str = "default", options: Options | None = None
    ) -> Change:
        """Build the lab from scratch (removing leftovers of an earlier or crashed lab first)."""
        require_root()
        t0 = time.monotonic()
        options = options or Options()
        result = load_texts(sources, default_namespace=namespace)
        if result.errors:
            raise ManifestError(result.diagnostics)
        self.down()
        lab_plan, lab_cluster = plan(result.cluster, self.name, options)
        st = State(
            lab=self.name,
            namespace=namespace,
            options=options_dict(options),
            sources=[[s.name, s.text] for s in sources],
            created=time.time(),
            phase=BUILDING,
            worker=os.getpid(),
        )
        self._save(st, "creating the node")  # first, so that a crash can always be cleaned up by name and state
        try:
            ns.create_node(self.node)
            self._save(st, "loading the ruleset")
            rs = compile_ruleset(lab_cluster, lab_plan.attachments(), options)
            self.nft().create(rs)
            ns.strict_conntrack(self.node)
            st.ruleset = ruleset_to_dict(rs)
            self._save(st, "creating the pod namespaces")
            ns.add_pods(self.node, lab_plan.namespaces(), self.prefix)
            st.pods = list(lab_plan.namespaces())
            st.skipped = [list(x) for x in lab_plan.skipped]
            self._save(st, "starting the listener")
            st.server_pid = self._listeners(lab_plan.namespaces(), None)
            st.updated = time.time()
            st.phase = READY
            self._save(st, "done")
        except BaseException:
            self.down()
            raise
        return Change(
            pods_added=len(lab_plan.pods),
            pods_total=len(lab_plan.pods),
            skipped=lab_plan.skipped,
            nft="create",
            stats=RulesetStats.of(rs),
            seconds=time.monotonic() - t0,
            hosts=_hosts(lab_plan),
        )

    def apply(
        self,
        sources: Sequence[SourceText],
        *,
        namespace: str | None = None,
        options: Options | None = None,
        cut: bool = False,
    ) -> Change:
        """Change the lab to match new inputs: pods added or removed, policies in place.

        Raises:
            LabError: no such lab, or it is damaged (an interrupted apply leaves it damaged too).
        """
        require_root()
        t0 = time.monotonic()
        st = self.state()
        if bad := self.problems(st):
            raise LabError(
                f"lab {self.name!r} is damaged: {'; '.join(bad)}. "
                "Rebuild it (podwall lab up PATHS) or remove it (podwall lab down)."
            )
        namespace = namespace or st.namespace
        options = options or st.opts()
        result = load_texts(sources, default_namespace=namespace)
        if result.errors:
            raise ManifestError(result.diagnostics)
        prev = {p.key: p.ips for p in st.pods}
        lab_plan, lab_cluster = plan(result.cluster, self.name, options, prev)
        gone, came, ports_changed = _pod_changes(st.pods, lab_plan.namespaces())
        rs = compile_ruleset(lab_cluster, lab_plan.attachments(), options)
        old_rs = ruleset_from_dict(st.ruleset) if st.ruleset else None
        st.phase, st.worker = APPLYING, os.getpid()
        self._save(st, "removing pods")
        # removed pods: their listeners close first (a socket keeps a namespace alive), then
        # their namespaces go, and only then do their addresses leave the sets
        if gone:
            st.server_pid = self._listeners([p for p in st.pods if p not in gone], st.server_pid)
            ns.remove_pods(gone)
            st.pods = [p for p in st.pods if p not in gone]
            self._save(st)
        self._save(st, "changing the ruleset")
        how = self.nft().update(old_rs, rs)
        st.ruleset = ruleset_to_dict(rs)
        st.sources = [[s.name, s.text] for s in sources]
        st.namespace = namespace
        st.options = options_dict(options)
        self._save(st, "adding pods")
        # new pods appear only now, under rules that already cover them
        ns.add_pods(self.node, came, self.prefix)
        st.pods = list(lab_plan.namespaces())
        st.skipped = [list(x) for x in lab_plan.skipped]
        self._save(st, "reloading the listener")
        if ports_changed or st.server_pid is None or not health.is_our_server(st.server_pid):
            st.server_pid = self._listeners(lab_plan.namespaces(), st.server_pid)
        st.updated = time.time()
        st.phase = READY
        self._save(st, "done")
        cut_n = self.cut_revoked() if cut else 0
        return Change(
            pods_added=len(came),
            pods_removed=len(gone),
            pods_total=len(lab_plan.pods),
            skipped=lab_plan.skipped,
            nft=how,
            stats=RulesetStats.of(rs),
            cut=cut_n,
            seconds=time.monotonic() - t0,
            hosts=_hosts(lab_plan),
        )

    def down(self) -> list[str]:
        """Remove every namespace of this lab (processes inside first) and its state."""
        require_root()
        self.close()
        pid = None
        with contextlib.suppress(LabError):
            pid = self.state().server_pid
        if pid and health.is_our_server(pid):
            ns.kill_all([pid])
        removed = ns.teardown(self.prefix)
        shutil.rmtree(self.state_dir, ignore_errors=True)
        return removed

    # -- listener ------------------------------------------------------------------------
    def _listeners(self, pods: Sequence[PodPlan], pid: int | None) -> int | None:
        """Make the listener serve exactly ``pods``' ports; returns its PID (started if needed).

        A running listener reloads on SIGHUP (sockets of unchanged pods stay open); either way
        this waits until it acknowledges the new spec's generation.
        """
        path = os.path.join(self.state_dir, "listeners.json")
        gen = time.monotonic_ns()
        served = [[p.netns, [list(x) for x in p.ports]] for p in pods if p.ports]
        spec = {"node": self.node, "generation": gen, "pods": served}
        with open(path + ".tmp", "w") as fh:
            json.dump(spec, fh)
        os.replace(path + ".tmp", path)
        if pid is not None and health.is_our_server(pid):
            os.kill(pid, signal.SIGHUP)
        else:
            # posix_spawn, not Popen: the listener outlives this process, and a Popen object
            # dropped while its child runs warns
            log = os.open(os.path.join(self.state_dir, "listeners.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                pid = os.posix_spawn(
                    sys.executable,
                    [sys.executable, "-m", "podwall.lab.server", path],
                    dict(os.environ),
                    file_actions=[
                        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                        (os.POSIX_SPAWN_DUP2, log, 1),
                        (os.POSIX_SPAWN_DUP2, log, 2),
                    ],
                    setsid=True,
                )
            finally:
                os.close(log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with open(path + ".ack") as fh:
                    if fh.read().strip() == str(gen):
                        return pid
            except FileNotFoundError:
                pass
            if not ns.is_alive(pid):
                break
            time.sleep(0.005)
        ns.kill_all([pid])
        raise LabError(f"the listener did not start (see {self.state_dir}/listeners.log)")

    # -- revocation ----------------------------------------------------------------------
    def cut_revoked(self) -> int:
        """Delete conntrack entries of flows the engine no longer allows; returns how many."""
        view, _ = self.loaded(check=False)
        return conntrack.cut_revoked(self.node, view)

    # -- looking ---------------------------------------------------------------------------
    def status(self) -> LabStatus:
        """The lab and its health; a lab without (readable) state but with namespaces is a
        crashed one (damaged). Raises LabError when there is no trace of the lab at all."""
        require_root()
        present = set(ns.list_netns(self.prefix))
        try:
            st = self.state()
        except LabError as exc:
            if not present:
                raise
            why = "its state is lost" if "no lab" in str(exc) else str(exc)
            return LabStatus(
                lab=self.name, node=self.node, up=False, phase="unknown", pods=0, namespaces_missing=(), skipped=(),
                problems=(f"{len(present)} namespace(s) of this lab exist but {why}: run podwall lab down",),
                listener_pid=None, listener_alive=False, ruleset=None, drops=(),
            )  # fmt: skip
        rs = ruleset_from_dict(st.ruleset) if st.ruleset else None
        items = health.table_json(self.nft(), rs.table) if rs and self.node in present else None
        problems = health.problems(st, node=self.node, prefix=self.prefix, state_dir=self.state_dir, items=items)
        return LabStatus(
            lab=self.name,
            node=self.node,
            up=self.exists(),
            problems=tuple(problems),
            phase=st.phase,
            pods=sum(1 for p in st.pods if not is_host_key(p.key)),
            hosts=tuple((p.key, tuple(p.ips)) for p in st.pods if is_host_key(p.key)),
            namespaces_missing=tuple(p.netns for p in st.pods if p.netns not in present),
            skipped=tuple((k, r) for k, r in st.skipped),
            listener_pid=st.server_pid,
            listener_alive=bool(st.server_pid and health.is_our_server(st.server_pid)),
            ruleset=RulesetStats.of(rs) if rs else None,
            drops=_drops(items or []),
        )


def _pod_changes(before: Sequence[PodPlan], after: Sequence[PodPlan]) -> tuple[list[PodPlan], list[PodPlan], bool]:
    """Pods that go (or change address or namespace), pods that come, and whether any pod's
    declared ports changed (the listener must reload)."""
    old = {p.key: p for p in before}
    new = {p.key: p for p in after}
    gone = [p for k, p in old.items() if k not in new or new[k].ips != p.ips or new[k].netns != p.netns]
    came = [p for k, p in new.items() if k not in old or old[k].ips != p.ips or old[k].netns != p.netns]
    ports_changed = bool(gone or came) or any(old[k].ports != new[k].ports for k in new if k in old)
    return gone, came, ports_changed


def _drops(items: list[dict[str, Any]]) -> tuple[Drop, ...]:
    """The counters of drops that moved, from the table's nft JSON: a NetworkPolicy signature
    chain's final drop, or a tier rule's Deny (nft/tiers.py). One row per rule: a tier rule has a
    copy in the Admin (Baseline) chain of every set of selecting policies, and a rule matching
    both families one per family; their counters add up (the first chain is shown)."""
    out: dict[str, Drop] = {}
    for item in items:
        rule = item.get("rule")
        if not rule or not _is_drop_rule(rule.get("comment", "")):
            continue
        for e in rule.get("expr", []):
            c = e.get("counter") if isinstance(e, dict) else None
            if isinstance(c, dict) and c.get("packets"):
                comment = rule["comment"]
                have = out.get(comment)
                packets, nbytes = c["packets"], c.get("bytes", 0)
                if have is not None:
                    packets, nbytes = packets + have.packets, nbytes + have.bytes
                chain = have.chain if have is not None else rule["chain"]
                out[comment] = Drop(chain=chain, comment=comment, packets=packets, bytes=nbytes)
    return tuple(out.values())


def _is_drop_rule(comment: str) -> bool:
    """A NetworkPolicy signature chain's final drop, or a tier rule's Deny (nft/tiers.py)."""
    return "isolated" in comment or TIER_DENY.match(comment) is not None


def _hosts(lab_plan: LabPlan) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    """(host key, node addresses, hostNetwork endpoints it serves) per host namespace."""
    served = lab_plan.host_of
    return tuple((h.key, h.ips, tuple(k for k, host in served if host == h.key)) for h in lab_plan.hosts)
