"""The semantic core's commands: validate, can, explain, test (matrix lives in matrix_cmd.py)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import click
import yaml

from podwall.api import LoadedCluster
from podwall.cli import matrix_cmd
from podwall.cli.common import OUTPUT_TEXT_JSON, domain_options, echo_json, input_options, load_cluster
from podwall.core.evaluate import Verdict
from podwall.core.services import ServiceVerdict
from podwall.errors import InputError, PodwallError, Severity
from podwall.report import serialize
from podwall.report.render import explain_text
from podwall.sources.decode import load as load_manifests
from podwall.sources.manifests import Locator, read_sources

PROTOCOL = click.Choice(["TCP", "UDP", "SCTP"], case_sensitive=False)


def _port_value(port: str) -> int | str:
    return int(port) if port.isdigit() else port


def register(cli: click.Group) -> None:
    cli.add_command(validate)
    cli.add_command(can)
    cli.add_command(explain)
    cli.add_command(test)
    matrix_cmd.register(cli)


# -- validate ---------------------------------------------------------------------------------
@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-n", "--namespace", default="default", show_default=True, help="Namespace for objects that have none.")
@click.option("-o", "--output", type=OUTPUT_TEXT_JSON, default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Also list the objects that were skipped (kinds podwall does not analyse).")
def validate(paths: tuple[str, ...], namespace: str, output: str, verbose: bool) -> None:
    """Validate manifests like the API server would, reporting every problem in every file.

    Checks every NetworkPolicy validation rule of the API server, with its field paths and
    messages, plus type errors and unknown fields (as kubectl's strict validation does).
    What the API server accepts is accepted (with a warning where it is surprising, such as a
    CIDR with host bits set).

    \b
    Output: one line per problem, `file:line: field.path: message`.
    Exit codes: 0 valid (warnings allowed), 1 invalid, 2 unreadable input.
    """
    result = load_manifests(list(paths), default_namespace=namespace)
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
    code = 2 if result.unreadable else 1 if errors else 0
    if output == "json":
        echo_json(
            {
                "valid": not errors,
                "errors": len(errors),
                "warnings": len(warnings),
                "diagnostics": [serialize.diagnostic(d) for d in diags],
                "objects": counts,
                "skipped": result.skipped,
            }
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
            f"{status}: {len(errors)} error{'s' * (len(errors) != 1)}, {len(warnings)} warning{'s' * (len(warnings) != 1)}; "
            f"{counts['networkpolicies']} NetworkPolicies, {counts['endpoints']} endpoints, "
            f"{counts['services']} Services, {counts['namespaces']} Namespaces"
            + (
                f", {counts['clusterpolicies']} cluster-wide policies, {counts['nodes']} Nodes"
                if "clusterpolicies" in counts
                else ""
            )
            + (f", {counts['skipped']} other objects skipped (-v lists them)" if counts["skipped"] and not verbose else ""),
            err=True,
        )
    sys.exit(code)


# -- can / explain ----------------------------------------------------------------------------
def connection_options(func: Any) -> Any:
    func = click.option("--protocol", type=PROTOCOL, default="TCP", show_default=True, help="TCP, UDP or SCTP.")(func)
    func = click.option(
        "--port", "-p", required=True, help="Destination port: a number, or a container port name (a Service port name for a Service)."
    )(func)
    func = click.option("--to", "dst", required=True, help="Destination: ns/pod, ns/kind/name, ns/service/name or an IP.")(func)
    func = click.option("--from", "src", required=True, help="Source: ns/pod, ns/kind/name or an IP.")(func)
    return func


def _ask(
    paths: tuple[str, ...], namespace: str, ipblock_matches_pods: bool, host_network: str, src: str, dst: str, port: str, protocol: str
) -> Verdict | ServiceVerdict:
    loaded = load_cluster(paths, namespace, ipblock_matches_pods, host_network)
    return loaded.can(src, dst, _port_value(port), protocol.upper())


@click.command()
@input_options
@domain_options
@connection_options
@click.option("-q", "--quiet", is_flag=True, help="Print only yes or no.")
@click.option("-o", "--output", type=OUTPUT_TEXT_JSON, default="text", show_default=True)
def can(
    paths: tuple[str, ...],
    namespace: str,
    ipblock_matches_pods: bool,
    host_network: str,
    src: str,
    dst: str,
    port: str,
    protocol: str,
    quiet: bool,
    output: str,
) -> None:
    """Can one endpoint open a connection to another? Prints yes or no and a one-line reason.

    Like `kubectl auth can-i`: exit 0 for yes, 1 for no (2 for bad input).

    \b
    Example:
      podwall can examples/seed/manifests -n production \\
          --from production/frontend --to production/backend --port 8080
    """
    v = _ask(paths, namespace, ipblock_matches_pods, host_network, src, dst, port, protocol)
    if output == "json":
        echo_json(serialize.verdict(v))
    else:
        click.echo("yes" if v.allowed else "no")
        if not quiet:
            click.echo(v.reason())
    sys.exit(0 if v.allowed else 1)


@click.command()
@input_options
@domain_options
@connection_options
@click.option("-o", "--output", type=OUTPUT_TEXT_JSON, default="text", show_default=True)
def explain(
    paths: tuple[str, ...],
    namespace: str,
    ipblock_matches_pods: bool,
    host_network: str,
    src: str,
    dst: str,
    port: str,
    protocol: str,
    output: str,
) -> None:
    """Explain a verdict: per direction, which policies isolate the endpoint, which rule
    allowed the connection, or why each rule of each policy did not match (the peer selector
    and label at fault, or the port).

    Exit code 0 whatever the verdict (use `podwall can` to branch on it); 2 for bad input.
    """
    v = _ask(paths, namespace, ipblock_matches_pods, host_network, src, dst, port, protocol)
    if output == "json":
        echo_json(serialize.verdict(v))
    else:
        click.echo(explain_text(v))


# -- test -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    """One connectivity assertion of an expectations file."""

    src: str
    dst: str
    port: int | str
    protocol: str
    expect: str
    advisory: bool
    line: int


def load_probes(path: str) -> list[Probe]:
    """Read an expectations file: a list of probes, or a mapping with a ``probes`` key.

    Raises:
        InputError: with file and line, for anything malformed.
    """
    src = read_sources([path])[0]
    loc = Locator()
    loc.add(src)
    try:
        data = yaml.load(src.text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise InputError(f"{src.name}:{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    root: tuple[str | int, ...] = ()
    if isinstance(data, dict):
        if "probes" not in data:
            raise InputError(f"{src.name}:1: expected a list of probes, or a mapping with a 'probes' key")
        data, root = data["probes"], ("probes",)
    if not isinstance(data, list):
        raise InputError(f"{src.name}:{loc.line(src.name, 0, root)}: probes: expected a list of probes")
    probes = []
    for i, item in enumerate(data):
        where = f"{src.name}:{loc.line(src.name, 0, (*root, i))}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: probe {i}: expected a mapping with from, to, port, expect")
        unknown = set(item) - {"from", "to", "port", "protocol", "expect", "loopback", "advisory", "name"}
        if unknown:
            raise InputError(f"{where}: probe {i}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("from", "to", "port", "expect"):
            if item.get(key) in (None, ""):
                raise InputError(f"{where}: probe {i}: missing {key!r}")
        port = item["port"]
        if isinstance(port, bool) or not isinstance(port, (int, str)):
            raise InputError(f"{where}: probe {i}: port must be a number or a name")
        proto = str(item.get("protocol", "TCP")).upper()
        if proto not in ("TCP", "UDP", "SCTP"):
            raise InputError(f"{where}: probe {i}: protocol must be TCP, UDP or SCTP, not {item.get('protocol')!r}")
        expect = str(item["expect"]).lower()
        if expect not in ("allow", "deny"):
            raise InputError(f"{where}: probe {i}: expect must be allow or deny, not {item['expect']!r}")
        src_name, dst_name = str(item["from"]), str(item["to"])
        advisory = bool(item.get("loopback") or item.get("advisory") or src_name == dst_name)
        probes.append(
            Probe(
                src=src_name,
                dst=dst_name,
                port=_port_value(port) if isinstance(port, str) else port,
                protocol=proto,
                expect=expect,
                advisory=advisory,
                line=loc.line(src.name, 0, (*root, i)),
            )
        )
    return probes


def run_probes(loaded: LoadedCluster, probes: list[Probe], expect_file: str) -> list[dict[str, Any]]:
    results = []
    for p in probes:
        try:
            v = loaded.can(p.src, p.dst, p.port, p.protocol)
        except PodwallError as exc:
            raise InputError(f"{expect_file}:{p.line}: {exc}") from None
        actual = "allow" if v.allowed else "deny"
        results.append(
            {
                "from": p.src,
                "to": p.dst,
                "port": p.port,
                "protocol": p.protocol,
                "expect": p.expect,
                "actual": actual,
                "ok": actual == p.expect,
                "advisory": p.advisory,
                "reason": v.reason(),
                "line": p.line,
            }
        )
    return results


@click.command()
@input_options
@domain_options
@click.option("--expect", "expect_file", required=True, help="YAML file of probes: {from, to, port, protocol, expect: allow|deny}.")
@click.option("-o", "--output", type=OUTPUT_TEXT_JSON, default="text", show_default=True)
def test(
    paths: tuple[str, ...],
    namespace: str,
    ipblock_matches_pods: bool,
    host_network: str,
    expect_file: str,
    output: str,
) -> None:
    """Check connectivity assertions: the static twin of `kubectl run busybox -- wget` tests.

    \b
    The expectations file is a YAML list of probes, or a mapping with a `probes` key:
      - {from: production/frontend, to: production/backend, port: 8080, expect: allow}
      - {from: production/backend, to: kube-system/coredns, port: 53, protocol: UDP, expect: allow}
    `port` is a number or a name (a container port name; for a Service, a Service port name).
    Probes from a pod to itself (or marked `loopback: true` / `advisory: true`) are advisory:
    a mismatch is reported but not counted as a failure.

    Prints each failing probe with its reason and a closing line `N passed, M failed`.
    Exit codes: 0 all pass, 1 any fails, 2 bad input.
    """
    probes = load_probes(expect_file)
    loaded = load_cluster(paths, namespace, ipblock_matches_pods, host_network)
    results = run_probes(loaded, probes, expect_file)
    failed = [r for r in results if not r["ok"] and not r["advisory"]]
    advisory = [r for r in results if not r["ok"] and r["advisory"]]
    passed = sum(1 for r in results if r["ok"])
    if output == "json":
        echo_json(
            {
                "results": [{k: r[k] for k in ("from", "to", "port", "protocol", "expect", "actual", "ok", "advisory", "reason")} for r in results],
                "passed": passed,
                "failed": len(failed),
                "advisory_mismatches": len(advisory),
            }
        )
    else:
        for r in failed:
            click.echo(
                f"FAIL {expect_file}:{r['line']}: {r['from']} -> {r['to']} {r['protocol']}/{r['port']}: "
                f"expected {r['expect']}, got {r['actual']}: {r['reason']}"
            )
        if advisory:
            click.echo(f"note: {len(advisory)} advisory probe(s) disagree (a pod reaching itself is always allowed here):")
            for r in advisory[:5]:
                click.echo(f"  {r['from']} -> {r['to']} {r['protocol']}/{r['port']}: expected {r['expect']}, got {r['actual']}")
            if len(advisory) > 5:
                click.echo(f"  ... and {len(advisory) - 5} more")
        click.echo(f"{passed} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)

