"""Safety: the root namespace is never touched, nothing is left behind, labs coexist,
and a crashed or interrupted lab is cleaned up by the next ``up`` or ``down``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from podwall.cli.main import cli
from podwall.core.model import Protocol
from podwall.lab.netns import list_netns, pids_in
from podwall.lab.probe import probe_once
from podwall.sources.manifests import SourceText

from .conftest import CONFORMANCE, TAG, new_lab, sources

CASE = CONFORMANCE / "default-deny-ingress"


def _root_snapshot() -> dict[str, str]:
    def sh(*args: str) -> str:
        return subprocess.run(args, capture_output=True, text=True, check=False).stdout

    return {
        "links": sh("ip", "-o", "link", "show"),
        "addrs": sh("ip", "-o", "addr", "show"),
        "routes4": sh("ip", "route", "show", "table", "all"),
        "routes6": sh("ip", "-6", "route", "show", "table", "all"),
        "nft": sh("nft", "list", "ruleset"),
        "forward": Path("/proc/sys/net/ipv4/ip_forward").read_text(),
    }


def test_root_namespace_is_untouched_and_nothing_is_left(make_lab) -> None:  # type: ignore[no-untyped-def]
    before = _root_snapshot()
    lab = make_lab("z")
    lab.up(sources(CASE / "cluster.yaml", CASE / "policies.yaml"))
    during = _root_snapshot()
    lab.down()
    after = _root_snapshot()
    assert during == before
    assert after == before
    assert list_netns(lab.prefix) == []
    assert not os.path.exists(lab.state_dir)


def test_two_labs_with_the_same_addresses_coexist(make_lab) -> None:  # type: ignore[no-untyped-def]
    one, two = make_lab("p"), make_lab("q")
    src = sources(CASE / "cluster.yaml", CASE / "policies.yaml")
    one.up(src)
    two.up(sources(CASE / "cluster.yaml"))  # same pods and IPs, no policies
    _, p1 = one.loaded()
    _, p2 = two.loaded()
    ya1, ya2 = p1.pod("y/a"), p2.pod("y/a")
    assert ya1 and ya2 and ya1.netns != ya2.netns
    assert probe_once(ya1.netns, "10.244.1.10", 80, Protocol.TCP, 0.5) == "timeout"  # x is default-deny
    assert probe_once(ya2.netns, "10.244.1.10", 80, Protocol.TCP, 0.5) == "connected"
    one.down()
    assert list_netns(one.prefix) == [] and len(list_netns(two.prefix)) == 10
    assert probe_once(ya2.netns, "10.244.1.10", 80, Protocol.TCP, 0.5) == "connected"


def test_lost_state_crash_is_cleaned_by_down(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab("k")
    lab.up(sources(CASE / "cluster.yaml"))
    pid = lab.state().server_pid
    assert pid and pids_in(lab.node) == [pid]
    os.unlink(lab.state_file)  # as if the state had been lost in a crash
    lab2 = new_lab("k")
    removed = lab2.down()
    assert len(removed) == 10 and list_netns(lab.prefix) == []
    assert not os.path.exists(f"/proc/{pid}") or "Z" in Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]


def _interactive() -> None:
    """In the child: SIGINT as in a terminal (default disposition, not blocked), whatever the
    test process inherited from its own parent."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _podwall(*args: str) -> subprocess.Popen[str]:
    code = "from podwall.cli.main import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interactive,
    )


def _many_pods(n: int) -> str:
    return "\n---\n".join(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: default}}\n"
        f"spec: {{containers: [{{name: c, ports: [{{containerPort: 80}}]}}]}}\nstatus: {{podIP: "
        f"10.8.{i // 250}.{i % 250 + 1}}}"
        for i in range(n)
    )


def test_sigkill_mid_build_then_next_up_cleans_up(tmp_path: Path) -> None:
    name = f"{TAG}m"
    f = tmp_path / "pods.yaml"
    f.write_text(_many_pods(150))
    proc = _podwall("lab", "up", str(f), "--lab", name)
    prefix = f"podwall-{name}-"
    deadline = time.monotonic() + 20
    while len(list_netns(prefix)) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    left = list_netns(prefix)
    assert left, "the kill came too late to leave anything behind"
    lab = new_lab("m")
    lab.up([SourceText("one.yaml", _many_pods(2))])
    assert len(list_netns(prefix)) == 3
    lab.down()
    assert list_netns(prefix) == []


def test_ctrl_c_mid_build_tears_down(tmp_path: Path) -> None:
    name = f"{TAG}i"
    f = tmp_path / "pods.yaml"
    f.write_text(_many_pods(600))
    proc = _podwall("lab", "up", str(f), "--lab", name)
    prefix = f"podwall-{name}-"
    deadline = time.monotonic() + 20
    while len(list_netns(prefix)) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if proc.returncode != 130:
        new_lab("i").down()
    assert proc.returncode == 130, (
        out,
        err,
        signal.getsignal(signal.SIGINT),
        signal.pthread_sigmask(signal.SIG_BLOCK, []),
    )
    assert list_netns(prefix) == []
    assert not os.path.exists(f"/run/podwall/{name}")


def test_cli_lab_flow(tmp_path: Path) -> None:
    name = f"{TAG}x"
    run = CliRunner().invoke
    paths = [str(CASE / "cluster.yaml"), str(CASE / "policies.yaml")]
    try:
        r = run(cli, ["lab", "up", *paths, "--lab", name])
        assert r.exit_code == 0, r.output
        assert "lab " + name + " up: 9 pods" in r.output
        r = run(cli, ["lab", "status", "--lab", name, "-o", "json"])
        assert r.exit_code == 0 and '"healthy": true' in r.output
        r = run(cli, ["lab", "probe", "--lab", name, "--from", "y/a", "--to", "x/a", "--port", "80"])
        assert r.exit_code == 0 and "kernel=deny [timeout] engine=deny" in r.output
        r = run(cli, ["lab", "probe", "--lab", name, "--from", "x/a", "--to", "y/a", "--port", "serve-80-tcp"])
        assert r.exit_code == 0 and "kernel=allow [connected] engine=allow" in r.output
        r = run(cli, ["lab", "test", "--lab", name, "--expect", str(CASE / "expected.yaml")])
        assert r.exit_code == 0, r.output
        assert "72 probes compared: 72 kernel = engine, 0 disagree" in r.output
        wrong = tmp_path / "wrong.yaml"
        wrong.write_text(
            "- {from: y/a, to: x/a, port: 80, expect: allow}\n- {from: x/a, to: y/a, port: 80, expect: allow}\n"
        )
        r = run(cli, ["lab", "test", "--lab", name, "--expect", str(wrong), "-o", "json"])
        assert r.exit_code == 1 and '"unexpected": 1' in r.output
        r = run(cli, ["lab", "apply", str(CASE / "cluster.yaml"), "--lab", name])  # policies removed
        assert r.exit_code == 0 and "ruleset diff" in r.output
        r = run(cli, ["lab", "probe", "--lab", name, "--from", "y/a", "--to", "x/a", "--port", "80"])
        assert r.exit_code == 0 and "kernel=allow" in r.output
        r = run(cli, ["lab", "probe", "--lab", name, "--from", "y/a", "--to", "nope/x", "--port", "80"])
        assert r.exit_code == 2
    finally:
        r = run(cli, ["lab", "down", "--lab", name])
    assert r.exit_code == 0 and "removed 10 namespace(s)" in r.output
    r = run(cli, ["lab", "status", "--lab", name])
    assert r.exit_code == 3 and "no lab" in r.output
