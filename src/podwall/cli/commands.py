"""The semantic core's commands: validate, can, explain, test (matrix lives in matrix_cmd.py)."""

from __future__ import annotations

from typing import Any

import click

from podwall.api import load as api_load
from podwall.cli import matrix_cmd
from podwall.cli.common import (
    Inputs,
    cluster_options,
    cluster_target,
    echo_json,
    exit_codes,
    input_options,
    namespace_option,
    note_cluster_read,
    output_option,
    parse_port,
    parse_protocol,
    protocol_option,
)
from podwall.cli.exitcodes import ExitCode
from podwall.cli.live_cmd import live_options, run_live_test
from podwall.core.evaluate import Verdict
from podwall.core.services import ServiceVerdict
from podwall.errors import Severity
from podwall.report import serialize
from podwall.report.render import explain_text
from podwall.sources.expectations import load_expectations


def register(cli: click.Group) -> None:
    cli.add_command(validate)
    cli.add_command(can)
    cli.add_command(explain)
    cli.add_command(test)
    matrix_cmd.register(cli)


# -- validate ---------------------------------------------------------------------------------
@exit_codes(OK="valid (warnings allowed)", NO="invalid: an object has an error")
@click.command()
@click.argument("paths", nargs=-1, required=False)
@namespace_option
@cluster_options
@output_option("text", "json")
@click.option(
    "-v", "--verbose", is_flag=True, help="Also list the objects that were skipped (kinds podwall does not analyse)."
)
def validate(paths: tuple[str, ...], namespace: str, output: str, verbose: bool) -> ExitCode:
    """Validate manifests like the API server would, reporting every problem in every file.

    Checks every NetworkPolicy validation rule of the API server, with its field paths and
    messages, plus type errors and unknown fields (as kubectl's strict validation does).
    What the API server accepts is accepted (with a warning where it is surprising, such as a
    CIDR with host bits set).

    \b
    Output: one line per problem, `file:line: field.path: message`.
    """
    target = cluster_target(namespace)
    if not paths and target is None:
        raise click.UsageError("give manifest PATHS (files, directories, - for stdin), or --cluster")
    loaded = api_load(list(paths), namespace=namespace, strict=False, cluster=target)
    note_cluster_read(loaded)
    result = loaded.result
    diags = result.diagnostics
    errors = [d for d in diags if d.severity is Severity.ERROR]
    warnings = [d for d in diags if d.severity is Severity.WARNING]
    c = result.cluster
    counts = {
        "namespaces": sum(1 for n in c.namespaces.values() if n.declared),
        "endpoints": len(c.endpoints),
        "networkpolicies": len(c.policies),
        "services": len(c.services),
        "skipped": len(result.skipped),
    }
    if c.tier_policies or c.nodes:  # only then, so that other documents keep their shape
        counts["clusterpolicies"] = len(c.tier_policies)
        counts["nodes"] = len(c.nodes)
    code = ExitCode.BAD_INPUT if result.unreadable else ExitCode.NO if errors else ExitCode.OK
    if output == "json":
        echo_json(
            serialize.validation_doc(
                diagnostics=diags, objects=counts, skipped=result.skipped, unreadable=bool(result.unreadable)
            )
        )
    else:
        for d in diags:
            prefix = "" if d.severity is Severity.ERROR else f"{d.severity.value}: "
            click.echo(prefix + d.render())
        if verbose:
            for s in result.skipped:
                click.echo(f"skipped: {s}")
        status = "unreadable" if result.unreadable else "invalid" if errors else "valid"
        click.echo(
            f"{status}: {len(errors)} error{'s' * (len(errors) != 1)}, {len(warnings)} "
            f"warning{'s' * (len(warnings) != 1)}; "
            f"{counts['networkpolicies']} NetworkPolicies, {counts['endpoints']} endpoints, "
            f"{counts['services']} Services, {counts['namespaces']} Namespaces"
            + (
                f", {counts['clusterpolicies']} cluster-wide policies, {counts['nodes']} Nodes"
                if "clusterpolicies" in counts
                else ""
            )
            + (
                f", {counts['skipped']} other objects skipped (-v lists them)"
                if counts["skipped"] and not verbose
                else ""
            ),
            err=True,
        )
    return code


# -- can / explain ----------------------------------------------------------------------------
def connection_options(func: Any) -> Any:
    func = protocol_option(func)
    func = click.option(
        "--port",
        "-p",
        required=True,
        help="Destination port: a number, or a container port name (a Service port name for a Service).",
    )(func)
    func = click.option(
        "--to", "dst", required=True, help="Destination: ns/pod, ns/kind/name, ns/service/name or an IP."
    )(func)
    func = click.option("--from", "src", required=True, help="Source: ns/pod, ns/kind/name or an IP.")(func)
    return func


def _ask(inputs: Inputs, src: str, dst: str, port: str, protocol: str) -> Verdict | ServiceVerdict:
    return inputs.load().can(src, dst, parse_port(port), parse_protocol(protocol))


@exit_codes(OK="yes: the connection is allowed", NO="no: it is denied")
@click.command()
@input_options
@connection_options
@click.option("-q", "--quiet", is_flag=True, help="Print only yes or no.")
@output_option("text", "json")
def can(inputs: Inputs, src: str, dst: str, port: str, protocol: str, quiet: bool, output: str) -> ExitCode:
    """Can one endpoint open a connection to another? Prints yes or no and a one-line reason.

    Like `kubectl auth can-i`: the exit code is the answer. The destination may be a pod, a
    workload, an address or a Service (then every backing pod must be reachable).

    \b
    Example:
      podwall can examples/seed/manifests -n production \\
          --from production/frontend --to production/backend --port 8080
    """
    v = _ask(inputs, src, dst, port, protocol)
    if output == "json":
        echo_json(serialize.verdict_doc(v))
    else:
        click.echo("yes" if v.allowed else "no")
        if not quiet:
            click.echo(v.reason())
    return ExitCode.OK if v.allowed else ExitCode.NO


@exit_codes(OK="explained, whatever the verdict (use `podwall can` to branch on it)")
@click.command()
@input_options
@connection_options
@output_option("text", "json")
def explain(inputs: Inputs, src: str, dst: str, port: str, protocol: str, output: str) -> ExitCode:
    """Explain a verdict: per direction, which policies isolate the endpoint, which rule
    allowed the connection, or why each rule of each policy did not match (the peer selector
    and label at fault, or the port).
    """
    v = _ask(inputs, src, dst, port, protocol)
    if output == "json":
        echo_json(serialize.verdict_doc(v))
    else:
        click.echo(explain_text(v))
    return ExitCode.OK


# -- test -------------------------------------------------------------------------------------
@exit_codes(
    OK="every probe passes (with --live: the network agrees with the engine)",
    NO="a probe fails (with --live: the network and the engine disagree)",
)
@click.command()
@input_options
@click.option(
    "--expect",
    "expect_file",
    required=True,
    help="YAML file of probes: {from, to, port, protocol, expect: allow|deny} (see docs/output.md).",
)
@live_options
@output_option("text", "json")
def test(
    inputs: Inputs,
    expect_file: str,
    output: str,
    live: bool,
    live_image: str,
    live_timeout: float,
    live_pod_timeout: float,
    live_parallel: int,
) -> ExitCode:
    """Check connectivity assertions: the static twin of `kubectl run busybox -- wget` tests.

    \b
    The expectations file is a YAML list of probes, or a mapping with a `probes` key:
      - {from: production/frontend, to: production/backend, port: 8080, expect: allow}
      - {from: production/backend, to: kube-system/coredns, port: 53, protocol: UDP, expect: allow}
    `port` is a number or a name (a container port name; for a Service, a Service port name).
    Probes from a pod to itself (or marked `loopback: true` / `advisory: true`) are advisory:
    a mismatch is reported but not counted as a failure.

    Prints each failing probe with its reason and a closing summary line.

    \b
    With --cluster --live, each probe is a real connection in the cluster: from the source pod
    itself (an ephemeral container, as `kubectl debug` adds), or, for a source that exists only
    in the files, from a stand-in pod with its labels in a scratch namespace podwall creates and
    deletes. Each line shows what the network did (connected, refused, timeout, dns-failure)
    beside the engine's verdict; any disagreement exits 1.
    """
    expectations = load_expectations(expect_file)
    loaded = inputs.load()
    if live:
        return run_live_test(
            loaded, expectations, inputs.namespace, image=live_image, timeout=live_timeout,
            pod_timeout=live_pod_timeout, parallel=live_parallel, output=output,
        )
    results = loaded.check(expectations)
    docs = [
        serialize.test_result(
            src=r.expectation.src,
            dst=r.expectation.dst,
            port=r.expectation.port,
            protocol=r.expectation.protocol,
            expect=r.expectation.expect,
            actual=r.actual,
            advisory=r.expectation.advisory,
            reason=r.verdict.reason(),
            span=r.expectation.span,
        )
        for r in results
    ]
    doc = serialize.test_doc(docs)
    summary = doc["summary"]
    if output == "json":
        echo_json(doc)
    else:
        for r in docs:
            if not r["ok"] and not r["advisory"]:
                click.echo(
                    f"FAIL {r['file']}:{r['line']}: {r['from']} -> {r['to']} {r['protocol']}/{r['port']}: "
                    f"expected {r['expect']}, got {r['actual']}: {r['reason']}"
                )
        advisory = [r for r in docs if not r["ok"] and r["advisory"]]
        if advisory:
            click.echo(
                f"note: {len(advisory)} advisory probe(s) disagree (a pod reaching itself is always allowed here):"
            )
            for r in advisory[:5]:
                click.echo(
                    f"  {r['from']} -> {r['to']} {r['protocol']}/{r['port']}: expected {r['expect']}, got {r['actual']}"
                )
            if len(advisory) > 5:
                click.echo(f"  ... and {len(advisory) - 5} more")
        click.echo(summary_line(summary))
    return ExitCode.NO if summary["failed"] else ExitCode.OK


def summary_line(summary: dict[str, int]) -> str:
    """The closing line of ``test`` and ``lab test`` alike."""
    return (
        f"{summary['total']} probes: {summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['advisory']} advisory, {summary['not_run']} not run"
    )
