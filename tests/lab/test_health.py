"""The lab knows its own health, and every lab command fails cleanly instead of crashing.

A lab whose ``up`` was killed half-way, or whose namespaces, links, listener or ruleset were
changed behind its back, is reported damaged by ``lab status`` (exit 1, each problem listed)
and refused by ``lab probe``/``lab test``/``lab apply`` (exit 3) until ``lab up`` or
``lab down``. Non-root users get "needs root" (exit 3), a bad lab name is a usage error (2),
SIGTERM during ``lab up`` cleans up and ends with 143.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from podwall.cli.exitcodes import ExitCode
from podwall.cli.main import cli
from podwall.lab.lab import Lab
from podwall.lab.netns import list_netns
from podwall.lab.probe import Probe, run_probes
from podwall.sources.manifests import SourceText

from .conftest import CONFORMANCE, REPO, SEED, TAG, new_lab, sources

CASE = CONFORMANCE / "default-deny-ingress"
PATHS = [str(CASE / "cluster.yaml"), str(CASE / "policies.yaml")]
EXPECT = str(CASE / "expected.yaml")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args), env=env)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exc_info
    return r.exit_code, r.output


@pytest.fixture
def up_lab() -> Iterator[Lab]:
    """A healthy lab of the upstream default-deny-ingress case (9 pods)."""
    lab = new_lab("h")
    lab.up(sources(CASE / "cluster.yaml", CASE / "policies.yaml"))
    yield lab
    lab.down()


def _status_json(name: str) -> tuple[int, dict[str, object]]:
    """``lab status -o json``, validated against docs/schemas/LabStatus.json."""
    r = CliRunner().invoke(cli, ["lab", "status", "--lab", name, "-o", "json"])
    doc = json.loads(r.stdout)
    schema = json.loads((REPO / "docs" / "schemas" / f"{doc['kind']}.json").read_text())
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    if doc["kind"] == "LabStatus":
        assert doc["healthy"] is (doc["problems"] == []) or not doc["up"]
    return r.exit_code, doc


def _refused(name: str) -> None:
    """probe, test and apply refuse a damaged lab with exit 3 and say why."""
    for args in (
        ["lab", "probe", "--lab", name, "--from", "y/a", "--to", "x/a", "--port", "80"],
        ["lab", "test", "--lab", name, "--expect", EXPECT],
        ["lab", "apply", *PATHS, "--lab", name],
    ):
        code, out = run(*args)
        assert code == ExitCode.ENVIRONMENT, (args, out)
        assert "is damaged" in out and "podwall lab down" in out, out
        assert "internal error" not in out and "Traceback" not in out


def test_a_healthy_lab_says_so(up_lab: Lab) -> None:
    code, doc = _status_json(up_lab.name)
    assert code == ExitCode.OK
    assert doc["schema"] == "podwall/v1" and doc["kind"] == "LabStatus"
    assert doc["healthy"] is True and doc["problems"] == [] and doc["phase"] == "ready"


def test_a_namespace_deleted_by_hand_is_damage(up_lab: Lab) -> None:
    _, plan = up_lab.loaded()
    victim = plan.pods[0].netns
    subprocess.run(["ip", "netns", "del", victim], check=True)
    code, doc = _status_json(up_lab.name)
    assert code == ExitCode.NO and doc["healthy"] is False
    assert any("pod namespace(s) missing" in p and victim in p for p in doc["problems"]), doc["problems"]  # type: ignore[attr-defined]
    assert doc["namespaces_missing"] == [victim]
    code, out = run("lab", "status", "--lab", up_lab.name)
    assert code == ExitCode.NO and "DAMAGED" in out and victim in out
    _refused(up_lab.name)
    # the Python API refuses too, and lab down repairs by removing
    with pytest.raises(Exception, match="is damaged"):
        up_lab.loaded()
    assert run("lab", "down", "--lab", up_lab.name)[0] == ExitCode.OK
    assert list_netns(up_lab.prefix) == []


@pytest.mark.parametrize("damage", ["link", "listener", "ruleset", "rules", "eth0", "rp_filter"])
def test_links_listener_and_ruleset_are_checked(up_lab: Lab, damage: str) -> None:
    _, plan = up_lab.loaded()
    pod = plan.pods[0]
    node = up_lab.node
    if damage == "link":
        subprocess.run(["ip", "-n", node, "link", "del", pod.ifname], check=True)
        expect = "link(s) missing in the node"
    elif damage == "eth0":
        subprocess.run(["ip", "-n", pod.netns, "link", "set", "eth0", "name", "eth9"], check=True)
        expect = "without eth0"
    elif damage == "listener":
        pid = up_lab.state().server_pid
        assert pid
        os.kill(pid, signal.SIGKILL)
        for _ in range(200):
            if not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]:
                break
            time.sleep(0.01)
        expect = "listener"
    elif damage == "rp_filter":
        subprocess.run(["ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"], check=True)
        expect = "strict rp_filter is off"
    elif damage == "ruleset":
        subprocess.run(["ip", "netns", "exec", node, "nft", "delete", "table", "inet", "podwall"], check=True)
        expect = "table inet podwall is missing"
    else:
        flush = ["nft", "flush", "chain", "inet", "podwall", "ingress_fw"]
        subprocess.run(["ip", "netns", "exec", node, *flush], check=True)
        expect = "rules differ"
    code, doc = _status_json(up_lab.name)
    assert code == ExitCode.NO and doc["healthy"] is False
    assert any(expect in p for p in doc["problems"]), doc["problems"]  # type: ignore[attr-defined]
    _refused(up_lab.name)
    # lab up rebuilds a healthy lab
    code, out = run("lab", "up", *PATHS, "--lab", up_lab.name)
    assert code == ExitCode.OK, out
    code, doc = _status_json(up_lab.name)
    assert code == ExitCode.OK and doc["healthy"] is True, doc


def _many_pods(n: int) -> str:
    return "\n---\n".join(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: default}}\n"
        f"spec: {{containers: [{{name: c, ports: [{{containerPort: 80}}]}}]}}\n"
        f"status: {{podIP: 10.8.{i // 250}.{i % 250 + 1}}}"
        for i in range(n)
    )


def _podwall(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from podwall.cli.main import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_step(name: str, step: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    path = Path(f"/run/podwall/{name}/state.json")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads(path.read_text()).get("step") == step:
                return
        except (OSError, ValueError):
            pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.002)
    raise AssertionError(f"lab up never reached {step!r}")


@pytest.mark.parametrize("step", ["loading the ruleset", "creating the pod namespaces", "starting the listener"])
def test_an_up_that_was_killed_is_damaged_not_healthy(tmp_path: Path, step: str) -> None:
    name = f"{TAG}k{step[0]}{len(step)}"[:16]
    f = tmp_path / "pods.yaml"
    f.write_text(_many_pods(200))
    proc = _podwall("lab", "up", str(f), "--lab", name)
    try:
        _wait_for_step(name, step, proc)
        if step == "creating the pod namespaces":
            while len(list_netns(f"podwall-{name}-")) < 20 and proc.poll() is None:
                time.sleep(0.005)  # half-way through creating them
            code, doc = _status_json(name)  # while it runs: not healthy, and says so
            assert code == ExitCode.NO and any("lab up is still running" in p for p in doc["problems"]), doc  # type: ignore[attr-defined]
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        code, doc = _status_json(name)
        assert code == ExitCode.NO, doc
        assert doc["healthy"] is False and doc["phase"] == "building"
        assert any(p.startswith(f"lab up did not finish (it stopped at: {step})") for p in doc["problems"]), doc  # type: ignore[attr-defined]
        code, out = run("lab", "probe", "--lab", name, "--from", "default/p1", "--to", "default/p2", "--port", "80")
        assert code == ExitCode.ENVIRONMENT and "is damaged" in out, out
        code, out = run("lab", "test", "--lab", name, "--expect", EXPECT)
        assert code == ExitCode.ENVIRONMENT and "is damaged" in out, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        new_lab(name[len(TAG):]).down()
    assert list_netns(f"podwall-{name}-") == []


def test_lost_state_with_namespaces_left_is_damaged(up_lab: Lab) -> None:
    os.unlink(up_lab.state_file)
    code, doc = _status_json(up_lab.name)
    assert code == ExitCode.NO and doc["healthy"] is False and doc["up"] is False
    assert "state is lost" in doc["problems"][0]  # type: ignore[index]
    code, out = run("lab", "test", "--lab", up_lab.name, "--expect", EXPECT)
    assert code == ExitCode.ENVIRONMENT and "no lab" in out


def test_sigterm_during_up_cleans_up_and_exits_143(tmp_path: Path) -> None:
    name = f"{TAG}t"
    f = tmp_path / "pods.yaml"
    f.write_text(_many_pods(300))
    proc = _podwall("lab", "up", str(f), "--lab", name)
    try:
        _wait_for_step(name, "creating the pod namespaces", proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        new_lab("t").down()
    assert proc.returncode == ExitCode.SIGTERM, (out, err)
    assert "internal error" not in err
    assert list_netns(f"podwall-{name}-") == [] and not Path(f"/run/podwall/{name}").exists()


def test_a_bad_lab_name_is_a_usage_error() -> None:
    for args in (["lab", "status"], ["lab", "down"], ["lab", "up", *PATHS], ["lab", "test", "--expect", EXPECT]):
        code, out = run(*args, "--lab", "Bad-Name")
        assert code == ExitCode.BAD_INPUT, (args, out)
        assert "Invalid value for '--lab'" in out
    code, out = run("lab", "status", env={"PODWALL_LAB": "no/slash"})
    assert code == ExitCode.BAD_INPUT


def _as_nobody(*args: str) -> tuple[int, str]:
    """Run the CLI as uid/gid 65534 with no groups: a subprocess through setpriv when that user
    can read this interpreter and the source; otherwise a forked child that drops its ids
    after everything is imported (the code path after the start is the same)."""
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c"]
    probe = subprocess.run([*nobody, "import podwall.cli.main"], capture_output=True, cwd="/", check=False)
    if probe.returncode == 0:
        code = "from podwall.cli.main import main; main()"
        p = subprocess.run([*nobody, code, *args], capture_output=True, text=True, cwd="/", check=False)
        return p.returncode, p.stdout + p.stderr
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            res = CliRunner().invoke(cli, list(args))
            os.write(w, json.dumps([res.exit_code, res.output]).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    code, out = json.loads(data)
    return int(code), str(out)


def test_non_root_gets_needs_root_not_a_crash(up_lab: Lab) -> None:
    for args in (
        ["lab", "status", "--lab", up_lab.name],
        ["lab", "status", "--lab", up_lab.name, "-o", "json"],
        ["lab", "down", "--lab", up_lab.name],
        ["lab", "probe", "--lab", up_lab.name, "--from", "y/a", "--to", "x/a", "--port", "80"],
        ["lab", "test", "--lab", up_lab.name, "--expect", EXPECT],
        ["lab", "up", *PATHS, "--lab", f"{TAG}nobody"],
    ):
        code, out = _as_nobody(*args)
        assert code == ExitCode.ENVIRONMENT, (args, out)
        assert "needs root" in out and "internal error" not in out and "Traceback" not in out, out
    assert up_lab.problems() == []  # untouched by the attempts
    assert list_netns(f"podwall-{TAG}nobody-") == []


def test_ipv6_probe_from_a_pod_without_ipv6_is_skipped(make_lab) -> None:  # type: ignore[no-untyped-def]
    pods = "\n---\n".join(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {n}, namespace: default}}\n"
        f"spec: {{containers: [{{name: c, ports: [{{containerPort: 80}}]}}]}}\nstatus:\n  podIP: 10.5.0.{i}\n"
        + (f"  podIPs: [{{ip: 10.5.0.{i}}}, {{ip: 'fd00:5::{i}'}}]\n" if n != "v4only" else "")
        for i, n in ((1, "v4only"), (2, "dual"), (3, "dual2"))
    )
    lab = make_lab("six")
    lab.up([SourceText("pods.yaml", pods)])
    view, plan = lab.loaded()
    probes = [Probe("default/v4only", "default/dual", 80), Probe("default/dual", "default/v4only", 80),
              Probe("default/dual", "default/dual2", 80)]  # fmt: skip
    results = run_probes(view, plan, probes, family=6)
    assert [(r.outcome, r.kernel, r.failed) for r in results[:2]] == [("skipped", None, False)] * 2
    assert "no IPv6 address" in results[0].detail and "no IPv6 address" in results[1].detail
    assert results[2].kernel is True and results[2].outcome == "connected"
    code, out = run("lab", "probe", "--lab", lab.name, "-6", "--from", "default/v4only", "--to", "default/dual",
                    "--port", "80")  # fmt: skip
    assert code == ExitCode.OK and "[skipped]" in out and "FAIL" not in out, out


def test_status_into_a_closed_pipe_does_not_crash(up_lab: Lab) -> None:
    cmd = f"{sys.executable} -c 'from podwall.cli.main import main; main()' lab status --lab {up_lab.name} | head -1"
    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, check=False)
    assert p.stdout.startswith(f"lab {up_lab.name}: up"), p
    assert "internal error" not in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert p.returncode in (0, 141), p  # 141: podwall ended by SIGPIPE, as a shell tool does


def test_the_group_help_example_works_as_written() -> None:
    """Every command line of ``podwall lab --help``'s example, run as written (in a scratch lab)."""
    code, out = run("lab", "--help")
    lines = [ln.strip().split("#")[0].strip() for ln in out.splitlines() if ln.strip().startswith("podwall lab ")]
    assert len(lines) >= 5 and lines[0].startswith("podwall lab up") and lines[-1] == "podwall lab down"
    env = {"PODWALL_LAB": f"{TAG}ex"}
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        assert (REPO / SEED.relative_to(REPO)).exists()
        for line in lines:
            code, out = run(*line.split()[1:], env=env)
            assert code == ExitCode.OK, (line, out)
    finally:
        os.chdir(cwd)
        new_lab("ex").down()


COMMANDS = ["up", "apply", "test", "probe", "status", "down"]
OBSERVED = {  # codes the tests of this directory see each command end with
    "up": {ExitCode.OK, ExitCode.BAD_INPUT, ExitCode.ENVIRONMENT, ExitCode.SIGTERM},
    "apply": {ExitCode.OK, ExitCode.BAD_INPUT, ExitCode.ENVIRONMENT},
    "test": {ExitCode.OK, ExitCode.NO, ExitCode.BAD_INPUT, ExitCode.ENVIRONMENT},
    "probe": {ExitCode.OK, ExitCode.NO, ExitCode.BAD_INPUT, ExitCode.ENVIRONMENT},
    "status": {ExitCode.OK, ExitCode.NO, ExitCode.BAD_INPUT, ExitCode.ENVIRONMENT},
    "down": {ExitCode.OK, ExitCode.BAD_INPUT, ExitCode.ENVIRONMENT},
}


@pytest.mark.parametrize("command", COMMANDS)
def test_help_states_the_exit_codes_the_command_uses(command: str) -> None:
    code, out = run("lab", command, "--help")
    assert code == 0
    text = " ".join(out.split())
    line = text[text.index("Exit codes:") :]
    stated = {int(tok) for tok in line.replace(",", " ").split() if tok.isdigit()}
    assert stated <= {int(c) for c in ExitCode}
    assert {int(c) for c in OBSERVED[command]} <= stated, (command, line)
    if ExitCode.NO not in OBSERVED[command]:
        assert int(ExitCode.NO) not in stated, (command, line)
