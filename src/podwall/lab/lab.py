"""A lab: build it, change its policies in place, look at it, take it down.

State between CLI invocations lives in ``/run/podwall/<lab>/state.json`` (root-only, on tmpfs,
so a reboot forgets it together with the namespaces). It keeps a snapshot of the input texts
(so ``lab test`` judges the kernel against exactly what was applied, even if the files changed
since), the plan, the ruleset as applied, and the listener's PID.

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
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from podwall.api import LoadedCluster
from podwall.core.evaluate import Engine
from podwall.core.model import Endpoint, HostNetworkMode, Options, Protocol
from podwall.errors import LabError, ManifestError
from podwall.lab import netns as ns
from podwall.lab.topology import LabPlan, PodPlan, check_lab_name, lab_prefix, node_netns, plan
from podwall.nft.apply import Nft
from podwall.nft.compile import Ruleset, compile_ruleset
from podwall.nft.script import ruleset_from_dict, ruleset_to_dict
from podwall.sources.decode import load_texts
from podwall.sources.manifests import SourceText

STATE_ROOT = "/run/podwall"
TIER_DENY = re.compile(r"\[(Admin|Baseline)\] \S+ (ingress|egress) rule #\d+ Deny\b")


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces and nftables)")
    for tool in ("ip",):
        if shutil.which(tool) is None:
            raise LabError(f"the {tool} tool is missing (apt-get install iproute2)")


@dataclass
class State:
    lab: str
    namespace: str
    options: dict[str, Any]
    sources: list[list[str]]
    pods: list[PodPlan] = field(default_factory=list)
    skipped: list[list[str]] = field(default_factory=list)
    ruleset: dict[str, Any] | None = None
    server_pid: int | None = None
    created: float = 0.0
    updated: float = 0.0

    def to_json(self) -> str:
        d = dataclasses.asdict(self)
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> State:
        d = json.loads(text)
        d["pods"] = [
            PodPlan(
                key=p["key"],
                netns=p["netns"],
                ifname=p["ifname"],
                ips=tuple(p["ips"]),
                ports=tuple((int(x[0]), str(x[1])) for x in p["ports"]),
            )
            for p in d["pods"]
        ]
        return cls(**d)

    def opts(self) -> Options:
        return Options(
            ipblock_matches_pods=self.options.get("ipblock_matches_pods", True),
            host_network=HostNetworkMode(self.options.get("host_network", "node")),
        )


@dataclass
class Change:
    """What an ``up`` or ``apply`` did."""

    pods_added: int = 0
    pods_removed: int = 0
    pods_total: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    nft: str = ""
    """``create``, ``diff``, ``replace`` or ``none``."""
    stats: dict[str, int] = field(default_factory=dict)
    cut: int = 0
    seconds: float = 0.0
    hosts: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    """Host namespaces: (key, node addresses, hostNetwork endpoints living there)."""


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
        return os.path.exists(self.state_file) and os.path.exists(os.path.join(ns.NETNS_DIR, self.node))

    def state(self) -> State:
        try:
            with open(self.state_file) as fh:
                return State.from_json(fh.read())
        except FileNotFoundError:
            raise LabError(f"no lab {self.name!r} is up (run: podwall lab up PATHS)") from None

    def _save(self, st: State) -> None:
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

    def loaded(self, st: State | None = None) -> tuple[LoadedCluster, LabPlan]:
        """The cluster as the lab has it (lab IPs filled in), with its engine, and the plan."""
        st = st or self.state()
        sources = [SourceText(n, t) for n, t in st.sources]
        result = load_texts(sources, default_namespace=st.namespace)
        prev = {p.key: p.ips for p in st.pods}
        lab_plan, lab_cluster = plan(result.cluster, self.name, st.opts(), prev)
        result = dataclasses.replace(result, cluster=lab_cluster)
        lc = LoadedCluster(result=result, engine=Engine(lab_cluster, st.opts()), default_namespace=st.namespace)
        return lc, lab_plan

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
            options={"ipblock_matches_pods": options.ipblock_matches_pods, "host_network": options.host_network.value},
            sources=[[s.name, s.text] for s in sources],
            created=time.time(),
        )
        self._save(st)  # first, so that a crash can always be cleaned up by name and state
        try:
            ns.create_node(self.node)
            rs = compile_ruleset(lab_cluster, lab_plan.attachments(), options)
            self.nft().create(rs)
            ns.strict_conntrack(self.node)
            st.ruleset = ruleset_to_dict(rs)
            self._save(st)
            ns.add_pods(self.node, lab_plan.namespaces(), self.prefix)
            st.pods = list(lab_plan.namespaces())
            st.skipped = [list(x) for x in lab_plan.skipped]
            self._save(st)
            st.server_pid = self._listeners(lab_plan.namespaces(), None)
            st.updated = time.time()
            self._save(st)
        except BaseException:
            self.down()
            raise
        return Change(
            pods_added=len(lab_plan.pods),
            pods_total=len(lab_plan.pods),
            skipped=list(lab_plan.skipped),
            nft="create",
            stats=dict(rs.stats),
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
        """Change the lab to match new inputs: pods added or removed, policies in place."""
        require_root()
        t0 = time.monotonic()
        st = self.state()
        if not self.exists():
            raise LabError(f"lab {self.name!r} is gone (its node namespace is missing): run podwall lab up")
        namespace = namespace or st.namespace
        options = options or st.opts()
        result = load_texts(sources, default_namespace=namespace)
        if result.errors:
            raise ManifestError(result.diagnostics)
        prev = {p.key: p.ips for p in st.pods}
        lab_plan, lab_cluster = plan(result.cluster, self.name, options, prev)
        old = {p.key: p for p in st.pods}
        new = {p.key: p for p in lab_plan.namespaces()}
        gone = [p for k, p in old.items() if k not in new or new[k].ips != p.ips or new[k].netns != p.netns]
        came = [p for k, p in new.items() if k not in old or old[k].ips != p.ips or old[k].netns != p.netns]
        ports_changed = bool(gone or came) or any(old[k].ports != new[k].ports for k in new if k in old)
        rs = compile_ruleset(lab_cluster, lab_plan.attachments(), options)
        old_rs = ruleset_from_dict(st.ruleset) if st.ruleset else None
        # removed pods: their listeners close first (a socket keeps a namespace alive), then
        # their namespaces go, and only then do their addresses leave the sets
        if gone:
            st.server_pid = self._listeners([p for p in st.pods if p not in gone], st.server_pid)
            ns.remove_pods(gone)
            st.pods = [p for p in st.pods if p not in gone]
            self._save(st)
        how = self.nft().update(old_rs, rs)
        st.ruleset = ruleset_to_dict(rs)
        st.sources = [[s.name, s.text] for s in sources]
        st.namespace = namespace
        st.options = {"ipblock_matches_pods": options.ipblock_matches_pods, "host_network": options.host_network.value}
        self._save(st)
        # new pods appear only now, under rules that already cover them
        ns.add_pods(self.node, came, self.prefix)
        st.pods = list(lab_plan.namespaces())
        st.skipped = [list(x) for x in lab_plan.skipped]
        self._save(st)
        if ports_changed or st.server_pid is None or not _is_our_server(st.server_pid):
            st.server_pid = self._listeners(lab_plan.namespaces(), st.server_pid)
        st.updated = time.time()
        self._save(st)
        cut_n = self.cut_revoked() if cut else 0
        return Change(
            pods_added=len(came),
            pods_removed=len(gone),
            pods_total=len(lab_plan.pods),
            skipped=list(lab_plan.skipped),
            nft=how,
            stats=dict(rs.stats),
            cut=cut_n,
            seconds=time.monotonic() - t0,
            hosts=_hosts(lab_plan),
        )

    def down(self) -> list[str]:
        """Remove every namespace of this lab (processes inside first) and its state."""
        self.close()
        pid = None
        with contextlib.suppress(LabError, ValueError, KeyError, TypeError):
            pid = self.state().server_pid
        if pid and _is_our_server(pid):
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
        spec = {
            "node": self.node,
            "generation": gen,
            "pods": [[p.netns, [list(x) for x in p.ports]] for p in pods if p.ports],
        }
        with open(path + ".tmp", "w") as fh:
            json.dump(spec, fh)
        os.replace(path + ".tmp", path)
        if pid is not None and _is_our_server(pid):
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
        if shutil.which("conntrack") is None:
            raise LabError("cutting revoked connections needs conntrack (apt-get install conntrack)")
        lc, _ = self.loaded()
        by_ip: dict[str, Endpoint] = {}
        for ep in lc.cluster.endpoints:
            for a in ep.ips:
                by_ip[a] = ep
        out = subprocess.run(
            ["ip", "netns", "exec", self.node, "conntrack", "-L"], capture_output=True, text=True, check=False
        ).stdout
        n = 0
        for line in out.splitlines():
            parts = line.split()
            if not parts or parts[0] not in ("tcp", "udp", "sctp"):
                continue
            kv: dict[str, str] = {}
            for p in parts:
                if "=" in p:
                    k, _, v = p.partition("=")
                    kv.setdefault(k, v)
            src, dst = by_ip.get(kv.get("src", "")), by_ip.get(kv.get("dst", ""))
            if src is None or dst is None or "dport" not in kv:
                continue
            proto = Protocol(parts[0].upper())
            if src is dst or lc.engine.allowed(src, dst, int(kv["dport"]), proto):
                continue
            subprocess.run(
                ["ip", "netns", "exec", self.node, "conntrack", "-D", "-p", parts[0], "-s", kv["src"], "-d", kv["dst"],
                 "--sport", kv["sport"], "--dport", kv["dport"]],
                capture_output=True,
                check=False,
            )
            n += 1
        return n

    # -- looking ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        st = self.state()
        present = set(ns.list_netns(self.prefix))
        missing = [p.netns for p in st.pods if p.netns not in present]
        server_alive = bool(st.server_pid and _is_our_server(st.server_pid))
        rs = ruleset_from_dict(st.ruleset) if st.ruleset else None
        drops: list[dict[str, Any]] = []
        if self.exists():
            try:
                rows = self.nft().counters(rs.table if rs else "podwall")
                drops = _merge_same_rule([r for r in rows if r["packets"] and _is_drop_rule(r["comment"])])
            except Exception:
                drops = []
        return {
            "lab": self.name,
            "node": self.node,
            "up": self.exists(),
            "pods": len([p for p in st.pods if not p.key.startswith("host:")]),
            "hosts": [{"host": p.key, "ips": list(p.ips)} for p in st.pods if p.key.startswith("host:")],
            "namespaces_missing": missing,
            "skipped": [{"endpoint": k, "reason": r} for k, r in st.skipped],
            "listener_pid": st.server_pid,
            "listener_alive": server_alive,
            "ruleset": _stats(rs) if rs else {},
            "drops": drops,
        }


def _stats(rs: Ruleset) -> dict[str, int]:
    return {
        "chains": len(rs.chains),
        "rules": sum(len(c.rules) for c in rs.chains),
        "sets": len(rs.sets),
        "elements": sum(len(s.elements) for s in rs.sets) + sum(len(m.elements) for m in rs.maps),
    }


def _hosts(lab_plan: LabPlan) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    served = lab_plan.host_of
    return [(h.key, h.ips, tuple(k for k, host in served if host == h.key)) for h in lab_plan.hosts]


def _merge_same_rule(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per rule: a tier rule has a copy in the Admin (Baseline) chain of every set of
    selecting policies, and a rule matching both families one per family; their counters add up."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        have = out.get(r["comment"])
        if have is None:
            out[r["comment"]] = dict(r)
        else:
            have["packets"] += r["packets"]
            have["bytes"] += r["bytes"]
    return list(out.values())


def _is_drop_rule(comment: str) -> bool:
    """A NetworkPolicy signature chain's final drop, or a tier rule's Deny (nft/tiers.py)."""
    return "isolated" in comment or TIER_DENY.match(comment) is not None


def _is_our_server(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"podwall.lab.server" in fh.read()
    except OSError:
        return False
