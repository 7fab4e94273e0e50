"""Enforcement commands: ``podwall compile`` and the ``podwall lab`` group.

``compile`` prints the nftables ruleset podwall would load for the input's pods. The ``lab``
commands build a network-namespace lab (one namespace per pod behind a routing node that
carries the ruleset) and prove the policies with real packets. Lab commands need root.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from podwall.cli.commands import summary_line
from podwall.cli.common import (
    Inputs,
    echo_json,
    exit_codes,
    input_options,
    output_option,
    parse_port,
    parse_protocol,
    protocol_option,
)
from podwall.cli.exitcodes import ExitCode
from podwall.errors import InputError
from podwall.lab.lab import Change, Lab, LabStatus
from podwall.lab.probe import LabCluster, Probe, ProbeResult, probes_from, run_probes, summary
from podwall.lab.topology import LAB_NAME, LabPlan, plan
from podwall.nft.compile import compile_ruleset
from podwall.nft.script import render, to_json
from podwall.report import serialize
from podwall.sources.expectations import load_expectations
from podwall.sources.manifests import read_sources


def register(cli: click.Group) -> None:
    """Add ``compile`` and ``lab`` to the ``podwall`` group."""
    cli.add_command(compile_cmd)
    cli.add_command(lab)


def _check_lab_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not LAB_NAME.match(value):  # a bad option is bad usage (2), not a broken environment (3)
        raise click.BadParameter(f"{value!r}: use 1-16 lower-case letters or digits")
    return value


def _lab_option(func: Any) -> Any:
    return click.option(
        "--lab",
        "lab_name",
        default=lambda: os.environ.get("PODWALL_LAB", "default"),
        show_default="$PODWALL_LAB or default",
        callback=_check_lab_name,
        help="Lab name (1-16 lower-case letters/digits); namespaces are podwall-<lab>-*.",
    )(func)


# SIGTERM and SIGHUP unwind every command like Ctrl-C (cli/main.py), so a half-built lab is
# always torn down, and the exit code says which signal it was.


@contextmanager
def _late_signals(undo: Callable[[], object]) -> Iterator[None]:
    """Make sure a SIGTERM/SIGHUP during the body is not lost.

    Python runs a signal handler wherever the main thread is, also inside a finaliser
    (``__del__``), where the exception the handler raises is printed and dropped. So the signal
    is also remembered here: if the body then finishes anyway, ``undo`` runs (``lab up``: take
    the lab down again) and the signal is delivered once more, now where it unwinds.
    """
    fired: list[int] = []
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}

    def handler(signum: int, frame: Any) -> None:
        fired.append(signum)
        prev = previous[signal.Signals(signum)]
        if callable(prev):
            prev(signum, frame)
        else:
            raise KeyboardInterrupt

    try:
        for s in previous:
            signal.signal(s, handler)
    except ValueError:  # not the main thread: nothing to remember
        yield
        return
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if fired:
        undo()
        prev = previous[signal.Signals(fired[0])]
        if callable(prev):
            prev(fired[0], None)
        raise KeyboardInterrupt


# -- compile ----------------------------------------------------------------------------------
@exit_codes(OK="compiled")
@click.command("compile")
@input_options
@output_option("nft", "json")
@click.option("--table", default="podwall", show_default=True, help="Name of podwall's inet table.")
def compile_cmd(inputs: Inputs, output: str, table: str) -> ExitCode:
    """Compile the input's NetworkPolicies to an nftables ruleset (deterministic).

    The ruleset is for a routing node with one veth per pod, as the lab builds it: one inet
    table; egress and ingress decided in separate forward chains (a connection needs both);
    established/related traffic first; per-pod dispatch by verdict maps; shared sets per
    distinct peer; named ports resolved per destination pod; ipBlock minus except as
    intervals; endPort ranges; TCP, UDP, SCTP; IPv4 and IPv6; anti-spoofing. Each rule is
    counted and commented with its policy and rule number.

    \b
    Pods without an IP (workloads) get the lab's stable address from 10.250.0.0/16.
    Output: nft text (load with `nft -f`) or nft JSON (`nft -j -f`; podwall's document
    envelope adds two keys that nft ignores).
    """
    loaded = inputs.load()
    opts = inputs.options
    lab_plan, lab_cluster = plan(loaded.cluster, "compile", opts)
    for key, why in lab_plan.skipped:
        if "already used" in why:
            click.echo(f"warning: {key} gets no dispatch entry: {why}", err=True)
    rs = compile_ruleset(lab_cluster, lab_plan.attachments(), opts, table=table)
    if output == "json":
        echo_json(serialize.ruleset_doc(to_json(rs)))
    else:
        click.echo(render(rs), nl=False)
    return ExitCode.OK


# -- lab ----------------------------------------------------------------------------------------
@click.group()
def lab() -> None:
    """A network-namespace lab that enforces the policies with nftables (needs root).

    \b
    Every pod becomes a network namespace (IP from status.podIP, or allocated) behind a
    "node" namespace that routes between them and carries the compiled ruleset. Listeners
    serve every declared container port (TCP, UDP). Nothing touches the host's own network
    namespace, and nothing can leave the lab: the node has no uplink.

    \b
      podwall lab up examples/seed/manifests -n production
      podwall lab test --expect examples/seed/expect.yaml
      podwall lab probe --from production/frontend --to production/backend --port 8080
      podwall lab apply examples/seed/manifests -n production   # policies changed in place
      podwall lab status
      podwall lab down

    \b
    A lab that is not what its state says (an interrupted `lab up`, a namespace deleted by
    hand, a dead listener, a changed ruleset) is damaged: `lab status` says what is wrong
    (exit 1) and `lab probe`, `lab test` and `lab apply` refuse it (exit 3) until `lab up`
    rebuilds it or `lab down` removes it.
    """


def _change_text(what: str, ch: Change) -> str:
    st = ch.stats
    lines = [
        f"{what}: {ch.pods_total} pods ({ch.pods_added} added, {ch.pods_removed} removed), "
        f"ruleset {ch.nft}: {st.chains} chains, {st.rules} rules, {st.sets} sets, {st.elements} elements, "
        f"in {ch.seconds:.2f} s"
    ]
    if ch.cut:
        lines.append(f"cut {ch.cut} established connection(s) that are no longer allowed")
    for key, why in ch.skipped:
        lines.append(f"  not in the lab: {key}: {why}")
    for key, ips, served in ch.hosts:
        lines.append(f"  host namespace {key} ({', '.join(ips)})" + (f": {', '.join(served)}" if served else ""))
    return "\n".join(lines)


def _stats(ch_stats: Any) -> dict[str, int]:
    return {"chains": ch_stats.chains, "rules": ch_stats.rules, "sets": ch_stats.sets, "elements": ch_stats.elements}


def _change_doc(lab_name: str, ch: Change) -> dict[str, Any]:
    return serialize.lab_change_doc(
        lab=lab_name,
        pods=ch.pods_total,
        added=ch.pods_added,
        removed=ch.pods_removed,
        nft=ch.nft,
        ruleset=_stats(ch.stats),
        cut=ch.cut,
        seconds=ch.seconds,
        skipped=ch.skipped,
        hosts=ch.hosts,
    )


def _print_change(lab_name: str, what: str, ch: Change, output: str) -> None:
    if output == "json":
        echo_json(_change_doc(lab_name, ch))
    else:
        click.echo(_change_text(f"lab {lab_name} {what}", ch))


@exit_codes(OK="the lab is up", ENVIRONMENT="not root, nft missing, or the kernel refused")
@lab.command("up")
@input_options
@_lab_option
@output_option("text", "json")
def lab_up(inputs: Inputs, lab_name: str, output: str) -> ExitCode:
    """Build the lab for PATHS: node, one namespace per pod, listeners, ruleset.

    Leftovers of an earlier lab of the same name (even after a crash) are removed first.
    Ctrl-C, SIGTERM or a failure half-way tears everything down again.
    """
    lab_obj = Lab(lab_name)
    sources = read_sources(inputs.paths)
    try:
        with _late_signals(undo=lab_obj.down):
            ch = lab_obj.up(sources, namespace=inputs.namespace, options=inputs.options)
    finally:
        lab_obj.close()
    _print_change(lab_name, "up", ch, output)
    return ExitCode.OK


@exit_codes(OK="applied", ENVIRONMENT="not root, no such lab, a damaged lab, or the kernel refused")
@lab.command("apply")
@input_options
@_lab_option
@click.option(
    "--cut/--keep",
    "cut",
    default=False,
    show_default=True,
    help="--cut: also cut established connections the new policies no longer allow (conntrack). "
    "--keep: they survive; only new connections are refused.",
)
@output_option("text", "json")
def lab_apply(inputs: Inputs, lab_name: str, cut: bool, output: str) -> ExitCode:
    """Change the running lab to PATHS: pods added/removed, policies changed in place.

    The ruleset changes in one nft transaction (element and chain diffs where possible), so
    there is no moment in which a denied connection gets through. A damaged lab is refused.
    """
    lab_obj = Lab(lab_name)
    sources = read_sources(inputs.paths)
    try:
        ch = lab_obj.apply(sources, namespace=inputs.namespace, options=inputs.options, cut=cut)
    finally:
        lab_obj.close()
    _print_change(lab_name, "applied", ch, output)
    return ExitCode.OK


def _verdict_word(v: bool | None) -> str:
    return "-" if v is None else ("allow" if v else "deny")


def _result_line(r: ProbeResult) -> str:
    p = r.probe
    if r.advisory:
        mark = "~"
    elif r.kernel is None:
        mark = "?"
    else:
        mark = "FAIL" if r.failed else "ok"
    exp = f" expect={_verdict_word(p.expect)}" if p.expect is not None else ""
    detail = f" ({r.detail})" if r.detail else ""
    seen = ",".join(r.outcomes) if r.outcomes else str(r.outcome)
    return (
        f"{mark:4} {p.src} -> {p.dst} {p.protocol.value}/{p.port}: kernel={_verdict_word(r.kernel)} "
        f"[{seen}] engine={_verdict_word(r.engine)}{exp}{detail}"
    )


def _result(r: ProbeResult, *, reason: bool = False) -> dict[str, Any]:
    p = r.probe
    return serialize.probe_result(
        src=p.src,
        dst=p.dst,
        port=p.port,
        protocol=p.protocol,
        expect=p.expect,
        engine=r.engine,
        kernel=r.kernel,
        outcome=str(r.outcome),
        detail=r.detail,
        advisory=r.advisory,
        agrees=r.agrees,
        failed=r.failed,
        attempts=[
            {"endpoint": a.endpoint, "ip": a.ip, "port": a.port, "outcome": a.outcome and str(a.outcome),
             "detail": a.detail}
            for a in r.attempts
        ],
        reason=r.reason if reason else "",
    )  # fmt: skip


def _loaded(lab_name: str) -> tuple[LabCluster, LabPlan]:
    """The lab's cluster and plan; refuses a damaged lab (LabError, exit 3)."""
    lab_obj = Lab(lab_name)
    try:
        return lab_obj.loaded()
    finally:
        lab_obj.close()


def _report(results: list[ProbeResult], output: str, verbose: bool) -> ExitCode:
    s = summary(results)
    doc = serialize.lab_test_doc(
        [_result(r) for r in results],
        {"compared": s.compared, "agree": s.agree, "disagree": s.disagree, "unexpected": s.unexpected},
    )
    if output == "json":
        echo_json(doc)
    else:
        for r in results:
            if verbose or r.failed or r.kernel is None:
                click.echo(_result_line(r))
        click.echo(
            f"{s.compared} probes compared: {s.agree} kernel = engine, {s.disagree} disagree, "
            f"{s.unexpected} differ from the expectation"
        )
        click.echo(summary_line(doc["summary"]))
    return ExitCode.NO if any(r.failed for r in results) else ExitCode.OK


@exit_codes(
    OK="kernel = engine = expectation everywhere",
    NO="any disagreement",
    ENVIRONMENT="not root, no such lab, or a damaged lab",
)
@lab.command("test")
@_lab_option
@click.option(
    "--expect",
    "expect_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="Expectations file (podwall test format).",
)
@click.option("--timeout", default=1.0, show_default=True, help="Seconds before a probe counts as dropped.")
@click.option("--parallel", default=64, show_default=True, help="Probes in flight at once.")
@click.option("-6", "--ipv6", is_flag=True, help="Probe the pods' IPv6 addresses (pods without one are skipped).")
@click.option(
    "--retry/--no-retry",
    default=True,
    show_default=True,
    help="Probe once more what timed out although the engine allows it (as upstream re-polls); never the reverse.",
)
@click.option("-v", "--verbose", is_flag=True, help="Print every probe, not only failures and probes not run.")
@output_option("text", "json")
def lab_test(
    lab_name: str, expect_file: str, timeout: float, parallel: int, ipv6: bool, retry: bool, verbose: bool, output: str
) -> ExitCode:
    """Run the probes of an expectations file with real connections in the lab.

    Each probe connects from the source pod's namespace (1 s timeout) and reports what the
    kernel did next to what the engine predicts (and what the file expects). Probes from a
    pod to itself, and to addresses outside the lab (never sent), are advisory; probes whose
    pods have no address of the family (-6) are skipped, not failed.
    SCTP is probed with a raw INIT packet (this kernel kind has no SCTP sockets).
    """
    probes = probes_from(load_expectations(expect_file))
    view, lab_plan = _loaded(lab_name)
    results = run_probes(view, lab_plan, probes, timeout=timeout, parallel=parallel, family=6 if ipv6 else 4,
                         retry=retry)  # fmt: skip
    return _report(results, output, verbose)


@exit_codes(
    OK="the kernel agrees with the engine",
    NO="it does not",
    ENVIRONMENT="not root, no such lab, or a damaged lab",
)
@lab.command("probe")
@_lab_option
@click.option("--from", "src", required=True, help="Source pod (ns/pod or ns/kind/name).")
@click.option("--to", "dst", required=True, help="Destination: pod, workload, ns/service/name, or a lab pod IP.")
@click.option("--port", "-p", required=True, help="Port number or container port name.")
@protocol_option
@click.option("--timeout", default=1.0, show_default=True)
@click.option("-6", "--ipv6", is_flag=True, help="Use IPv6 addresses (a pod without one: skipped).")
@output_option("text", "json")
def lab_probe(
    lab_name: str, src: str, dst: str, port: str, protocol: str, timeout: float, ipv6: bool, output: str
) -> ExitCode:
    """One real connection attempt in the lab, next to the engine's verdict."""
    probe = Probe(src=src, dst=dst, port=parse_port(port), protocol=parse_protocol(protocol))
    view, lab_plan = _loaded(lab_name)
    (r,) = run_probes(view, lab_plan, [probe], timeout=timeout, family=6 if ipv6 else 4)
    if r.outcome == "skipped" and r.engine is None:
        raise InputError(r.detail)
    if output == "json":
        echo_json(serialize.lab_probe_doc(_result(r, reason=True)))
    else:
        click.echo(_result_line(r))
        if r.reason:
            click.echo(f"     engine: {r.reason}")
    return ExitCode.NO if r.failed else ExitCode.OK


def _status_text(st: LabStatus) -> list[str]:
    rs = st.ruleset
    head = "up" if st.healthy else ("DAMAGED" if st.up or st.problems else "DOWN")
    lines = [f"lab {st.lab}: {head}, {st.pods} pods, node {st.node}"]
    if st.listener_pid:
        lines.append(f"listener: pid {st.listener_pid}{'' if st.listener_alive else ' (NOT RUNNING)'}")
    else:
        lines.append("listener: none")
    if rs is not None:
        lines.append(f"ruleset: {rs.chains} chains, {rs.rules} rules, {rs.sets} sets, {rs.elements} elements")
    lines += [f"problem: {p}" for p in st.problems]
    lines += [f"not in the lab: {k}: {r}" for k, r in st.skipped]
    lines += [f"host namespace: {k} ({', '.join(ips)})" for k, ips in st.hosts]
    lines += [f"dropped {d.packets} packet(s): {d.comment}" for d in st.drops]
    if st.problems:
        lines.append(f"the lab is damaged: rebuild it (podwall lab up PATHS --lab {st.lab}) or remove it "
                     f"(podwall lab down --lab {st.lab})")  # fmt: skip
    return lines


def _status_body(st: LabStatus) -> dict[str, Any]:
    return {
        "lab": st.lab,
        "node": st.node,
        "up": st.up,
        "problems": list(st.problems),
        "phase": st.phase,
        "pods": st.pods,
        "hosts": [{"host": k, "ips": list(ips)} for k, ips in st.hosts],
        "namespaces_missing": list(st.namespaces_missing),
        "skipped": [{"endpoint": k, "reason": r} for k, r in st.skipped],
        "listener_pid": st.listener_pid,
        "listener_alive": st.listener_alive,
        "ruleset": _stats(st.ruleset) if st.ruleset else {},
        "drops": [{"chain": d.chain, "comment": d.comment, "packets": d.packets, "bytes": d.bytes} for d in st.drops],
    }


@exit_codes(
    OK="the lab is up and whole",
    NO="it is damaged (each problem is listed)",
    ENVIRONMENT="not root, or no such lab",
)
@lab.command("status")
@_lab_option
@output_option("text", "json")
def lab_status(lab_name: str, output: str) -> ExitCode:
    """Show the lab: health, pods, listener, ruleset size, and which policies dropped packets.

    Damaged means: `lab up` or `lab apply` did not finish, or a namespace, link, the
    listener or the ruleset is not what the lab's state says.
    """
    lab_obj = Lab(lab_name)
    try:
        st = lab_obj.status()
    finally:
        lab_obj.close()
    if output == "json":
        echo_json(serialize.lab_status_doc(_status_body(st), healthy=st.healthy))
    else:
        click.echo("\n".join(_status_text(st)))
    return ExitCode.OK if st.healthy else ExitCode.NO


@exit_codes(OK="done (also when there was nothing to remove)", ENVIRONMENT="not root")
@lab.command("down")
@_lab_option
@output_option("text", "json")
def lab_down(lab_name: str, output: str) -> ExitCode:
    """Remove the lab: kill its processes, delete its namespaces (and so its links), forget it.

    Safe to run any time, also after a crash or on a damaged lab.
    """
    removed = Lab(lab_name).down()
    if output == "json":
        echo_json(serialize.lab_down_doc(lab=lab_name, removed=removed))
    else:
        click.echo(f"lab {lab_name} down: removed {len(removed)} namespace(s)")
    return ExitCode.OK
