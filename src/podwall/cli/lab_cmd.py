from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from podwall.cli.common import OUTPUT_TEXT_JSON, echo_json, input_options, load_cluster
from podwall.cli.exitcodes import ExitCode
from podwall.core.engine_options import options_from
from podwall.core.model import Protocol
from podwall.errors import InputError
from podwall.lab.lab import Change, Lab, LabStatus
from podwall.lab.probe import Probe, ProbeResult, parse_expectations, run_probes, summary
from podwall.lab.topology import LAB_NAME, plan
from podwall.nft.compile import compile_ruleset
from podwall.nft.script import render, to_json
from podwall.report import serialize
from podwall.sources.manifests import read_sources

PROTOCOL = click.Choice(["TCP", "UDP", "SCTP"], case_sensitive=False)
F = TypeVar("F", bound=Callable[..., Any])

_MEANING = {
    ExitCode.BAD_INPUT: "bad input or usage",
    ExitCode.ENVIRONMENT: "not root, no such lab, a damaged lab, nft or the kernel refused",
    ExitCode.SIGINT: "Ctrl-C",
    ExitCode.SIGTERM: "SIGTERM",
}


def exit_codes(first: str, *more: tuple[ExitCode, str]) -> str:
    """The "Exit codes:" line of a lab command's help, written from the ExitCode table."""
    pairs = [(ExitCode.OK, first), *more]
    pairs += [(c, m) for c, m in _MEANING.items() if c not in {p[0] for p in pairs}]
    return "Exit codes: " + ", ".join(f"{int(c)} {m}" for c, m in sorted(pairs, key=lambda p: int(p[0]))) + "."


def register(cli: click.Group) -> None:
    """Add ``compile`` and ``lab`` to the ``podwall`` group."""
    cli.add_command(compile_cmd)
    cli.add_command(lab)


def _check_lab(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not LAB_NAME.match(value):
        raise click.BadParameter(f"{value!r}: use 1-16 lower-case letters or digits")
    return value


def _lab_option(func: F) -> F:
    return click.option(
        "--lab",
        "lab_name",
        default=lambda: os.environ.get("PODWALL_LAB", "default"),
        show_default="$PODWALL_LAB or default",
        callback=_check_lab,
        help="Lab name (1-16 lower-case letters/digits); namespaces are podwall-<lab>-*.",
    )(func)


class Terminated(Exception):
    """SIGTERM arrived while the lab was being changed (raised from the signal handler)."""


@contextmanager
def _signals_clean_up(undo: Callable[[], object] | None = None) -> Iterator[None]:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so a half-built lab is always torn down; the
    command then ends with 143 (SIGTERM) instead of 130.

    Python runs a signal handler wherever the main thread is, also inside a finaliser
    (``__del__``), where the exception it raises is printed and dropped. So the signal is also
    remembered: if the body then finishes anyway, ``undo`` runs (``lab up``: take the lab
    down again) and the command still ends with 143.
    """

    fired: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if not fired:  # once: a second signal must not interrupt the cleanup the first one started
            fired.append(signum)
            raise Terminated(signal.Signals(signum).name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
        if fired:
            raise Terminated("late")
    except Terminated:
        if undo is not None:
            undo()
        click.echo("terminated: the lab was cleaned up", err=True)
        click.get_current_context().exit(ExitCode.SIGTERM)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _fail(ok: bool) -> None:
    """End with ExitCode.NO unless ``ok`` (the answer was printed already)."""
    if not ok:
        click.get_current_context().exit(ExitCode.NO)


# -- compile ----------------------------------------------------------------------------------
@click.command("compile")
@input_options
@click.option("-o", "--output", type=click.Choice(["nft", "json"]), default="nft", show_default=True)
@click.option("--table", default="podwall", show_default=True, help="Name of podwall's inet table.")
def compile_cmd(
    paths: tuple[str, ...], namespace: str, ipblock_matches_pods: bool, host_network: str, output: str, table: str
) -> None:
    """Compile the input's NetworkPolicies to an nftables ruleset (deterministic).

    The ruleset is for a routing node with one veth per pod, as the lab builds it: one inet
    table; egress and ingress decided in separate forward chains (a connection needs both);
    established/related traffic first; per-pod dispatch by verdict maps; shared sets per
    distinct peer; named ports resolved per destination pod; ipBlock minus except as
    intervals; endPort ranges; TCP, UDP, SCTP; IPv4 and IPv6; anti-spoofing. Each rule is
    counted and commented with its policy and rule number.

    \b
    Pods without an IP (workloads) get the lab's stable address from 10.250.0.0/16.
    Output: nft text (load with `nft -f`) or nft JSON (`nft -j -f`).
    Exit codes: 0 ok, 2 bad input.
    """
    loaded = load_cluster(paths, namespace, ipblock_matches_pods, host_network)
    opts = options_from(ipblock_matches_pods=ipblock_matches_pods, host_network=host_network)
    lab_plan, lab_cluster = plan(loaded.cluster, "compile", opts)
    for key, why in lab_plan.skipped:
        if "already used" in why:
            click.echo(f"warning: {key} gets no dispatch entry: {why}", err=True)
    rs = compile_ruleset(lab_cluster, lab_plan.attachments(), opts, table=table)
    if output == "json":
        click.echo(json.dumps(to_json(rs), indent=1))
    else:
        click.echo(render(rs), nl=False)


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
    return "\n".join(lines)


def _print_change(lab_name: str, what: str, ch: Change, output: str) -> None:
    if output == "json":
        echo_json(serialize.document("LabChange", serialize.lab_change(lab_name, ch)))
    else:
        click.echo(_change_text(f"lab {lab_name} {what}", ch))


@lab.command("up", epilog=exit_codes("up"))
@input_options
@_lab_option
@click.option("-o", "--output", type=OUTPUT_TEXT_JSON, default="text", show_default=True)
def lab_up(
    paths: tuple[str, ...], namespace: str, ipblock_matches_pods: bool, host_network: str, lab_name: str, output: str
) -> None:
    """Build the lab for PATHS: node, one namespace per pod, listeners, ruleset.

    Leftovers of an earlier lab of the same name (even after a crash) are removed first.
    Ctrl-C, SIGTERM or a failure half-way tears everything down again.
    """
    lab_obj = Lab(lab_name)
    opts = options_from(ipblock_matches_pods=ipblock_matches_pods, host_network=host_network)
    sources = read_sources(paths)
    try:
        with _signals_clean_up(undo=lab_obj.down):
            ch = lab_obj.up(sources, namespace=namespace, options=opts)
    finally:
        lab_obj.close()
    _print_change(lab_name, "up", ch, output)


@lab.command("apply", epilog=exit_codes("applied"))
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
@click.option("-o", "--output", type=OUTPUT_TEXT_JSON, default="text", show_default=True)
def lab_apply(
    paths: tuple[str, ...],
    namespace: str,
    ipblock_matches_pods: bool,
    host_network: str,
    lab_name: str,
    cut: bool,
    output: str,
) -> None:
    """Change the running lab to PATHS: pods added/removed, policies changed in place.

    The ruleset changes in one nft transaction (element and chain diffs where possible), so
    there is no moment in which a denied connection gets through. A damaged lab is refused.
    """
    lab_obj = Lab(lab_name)
    opts = options_from(ipblock_matches_pods=ipblock_matches_pods, host_network=host_network)
    sources = read_sources(paths)
    try:
        with _signals_clean_up():
            ch = lab_obj.apply(sources, namespace=namespace, options=opts, cut=cut)
    finally:
        lab_obj.close()
    _print_change(lab_name, "applied", ch, output)


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


def _loaded(lab_name: str) -> tuple[Lab, Any, Any]:
    lab_obj = Lab(lab_name)
    try:
        view, lab_plan = lab_obj.loaded()  # refuses a damaged lab (LabError, exit 3)
    finally:
        lab_obj.close()
    return lab_obj, view, lab_plan


@lab.command("test", epilog=exit_codes("kernel = engine = expectation everywhere", (ExitCode.NO, "any disagreement")))
@_lab_option
@click.option("--expect", "expect_file", required=True, type=click.Path(dir_okay=False),
              help="Expectations file (podwall test format).")
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
@click.option("-o", "--output", type=OUTPUT_TEXT_JSON, default="text", show_default=True)
def lab_test(
    lab_name: str, expect_file: str, timeout: float, parallel: int, ipv6: bool, retry: bool, verbose: bool, output: str
) -> None:
    """Run the probes of an expectations file with real connections in the lab.

    Each probe connects from the source pod's namespace (1 s timeout) and reports what the
    kernel did next to what the engine predicts (and what the file expects). Probes from a
    pod to itself, and to addresses outside the lab (never sent), are advisory; probes whose
    pods have no address of the family (-6) are skipped, not failed.
    SCTP is probed with a raw INIT packet (this kernel kind has no SCTP sockets).
    """
    try:
        with open(expect_file) as fh:
            text = fh.read()
    except OSError as exc:
        raise InputError(f"{expect_file}: {exc.strerror}") from None
    probes = parse_expectations(text, expect_file)
    _, view, lab_plan = _loaded(lab_name)
    results = run_probes(view, lab_plan, probes, timeout=timeout, parallel=parallel, family=6 if ipv6 else 4,
                         retry=retry)
    s = summary(results)
    if output == "json":
        echo_json(serialize.document("LabTest", serialize.lab_test(lab_name, s, results)))
    else:
        for r in results:
            if verbose or r.failed or r.kernel is None:
                click.echo(_result_line(r))
        click.echo(
            f"{s.compared} probes compared: {s.agree} kernel = engine, {s.disagree} disagree, "
            f"{s.unexpected} differ from the expectation; {s.advisory} advisory, {s.not_run} not run"
        )
    _fail(not any(r.failed for r in results))


@lab.command("probe", epilog=exit_codes("kernel agrees with the engine", (ExitCode.NO, "it does not")))
@_lab_option
@click.option("--from", "src", required=True, help="Source pod (ns/pod or ns/kind/name).")
@click.option("--to", "dst", required=True, help="Destination: pod, workload, ns/service/name, or a lab pod IP.")
@click.option("--port", required=True, help="Port number or container port name.")
@click.option("--protocol", type=PROTOCOL, default="TCP", show_default=True)
@click.option("--timeout", default=1.0, show_default=True)
@click.option("-6", "--ipv6", is_flag=True, help="Use IPv6 addresses (a pod without one: skipped).")
@click.option("-o", "--output", type=OUTPUT_TEXT_JSON, default="text", show_default=True)
def lab_probe(lab_name: str, src: str, dst: str, port: str, protocol: str, timeout: float, ipv6: bool,
              output: str) -> None:
    """One real connection attempt in the lab, next to the engine's verdict."""
    probe = Probe(src=src, dst=dst, port=int(port) if port.isdigit() else port, protocol=Protocol(protocol.upper()))
    _, view, lab_plan = _loaded(lab_name)
    (r,) = run_probes(view, lab_plan, [probe], timeout=timeout, family=6 if ipv6 else 4)
    if r.outcome == "skipped" and r.engine is None:
        raise InputError(r.detail)
    if output == "json":
        echo_json(serialize.document("LabProbe", serialize.lab_probe_result(r)))
    else:
        click.echo(_result_line(r))
        if r.reason:
            click.echo(f"     engine: {r.reason}")
    _fail(not r.failed)


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
    lines += [f"dropped {d.packets} packet(s): {d.comment}" for d in st.drops]
    if st.problems:
        lines.append(f"the lab is damaged: rebuild it (podwall lab up PATHS --lab {st.lab}) or remove it "
                     f"(podwall lab down --lab {st.lab})")
    return lines


@lab.command("status", epilog=exit_codes("the lab is up and whole", (ExitCode.NO, "it is damaged")))
@_lab_option
@click.option("-o", "--output", type=OUTPUT_TEXT_JSON, default="text", show_default=True)
def lab_status(lab_name: str, output: str) -> None:
    """Show the lab: health, pods, listener, ruleset size, and which policies dropped packets.

    Damaged means: `lab up` or `lab apply` did not finish, or a namespace, link, the
    listener or the ruleset is not what the lab's state says (each problem is listed).
    """
    lab_obj = Lab(lab_name)
    try:
        st = lab_obj.status()
    finally:
        lab_obj.close()
    if output == "json":
        echo_json(serialize.document("LabStatus", serialize.lab_status(st)))
    else:
        click.echo("\n".join(_status_text(st)))
    _fail(st.healthy)


@lab.command("down", epilog=exit_codes("done"))
@_lab_option
@click.option("-o", "--output", type=OUTPUT_TEXT_JSON, default="text", show_default=True)
def lab_down(lab_name: str, output: str) -> None:
    """Remove the lab: kill its processes, delete its namespaces (and so its links), forget it.

    Safe to run any time, also after a crash or on a damaged lab.
    """
    removed = Lab(lab_name).down()
    if output == "json":
        echo_json(serialize.document("LabDown", serialize.lab_down(lab_name, removed)))
    else:
        click.echo(f"lab {lab_name} down: removed {len(removed)} namespace(s)")
