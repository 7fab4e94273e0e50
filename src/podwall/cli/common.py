"""Options and helpers shared by every command: inputs, output format, protocol and port, the
exit-code epilog of every ``--help``, and printing JSON documents.

The exit codes themselves are the table in :mod:`podwall.cli.exitcodes`; a command declares which
of them it uses (and what they mean for it) with :func:`exit_codes`, and ``cli/main.py`` is the
only place that exits.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

import click

from podwall.api import LoadedCluster
from podwall.api import load as api_load
from podwall.cli.exitcodes import ExitCode
from podwall.core.model import HostNetworkMode, Options, Protocol
from podwall.errors import Diagnostic, ManifestError, Severity
from podwall.report.serialize import dumps
from podwall.sources.cluster import ClusterTarget

CLUSTER_META = "podwall.cluster"
"""Where the cluster options leave their values in the click context (no command threads them)."""

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_META = "podwall.output"
"""``ctx.meta`` key: the output format asked for on the command line (set by ``cli/main.py``
before any option is parsed, so that errors and eager options can honour ``-o json``)."""

PROTOCOL = click.Choice([p.value for p in Protocol], case_sensitive=False)
"""The --protocol choice of every command (TCP, UDP, SCTP, any case)."""


# -- inputs -------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Inputs:
    """What the shared input options say: which manifests, the default namespace, the semantics."""

    paths: tuple[str, ...]
    namespace: str
    options: Options

    def load(self, *, quiet_codes: Collection[str] = ()) -> LoadedCluster:
        """Load the inputs for a query: any error is fatal (exit 2); warnings go to stderr,
        except those whose code is in ``quiet_codes`` (the command reports them itself)."""
        target = cluster_target(self.namespace)
        if not self.paths and target is None:
            raise click.UsageError("give manifest PATHS (files, directories, - for stdin), or --cluster")
        loaded = api_load(
            list(self.paths), namespace=self.namespace, options=self.options, strict=False, cluster=target
        )
        note_cluster_read(loaded)
        warn_diagnostics(loaded.diagnostics, quiet_codes=quiet_codes)
        if any(d.severity is Severity.ERROR for d in loaded.diagnostics):
            raise ManifestError(loaded.diagnostics)
        return loaded


def remember_option(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    store = ctx.meta.setdefault(CLUSTER_META, {})
    assert param.name is not None
    store[param.name] = value
    store[f"{param.name}_source"] = ctx.get_parameter_source(param.name)
    return value


def cluster_options(func: F) -> F:
    """--cluster and kubectl's --kubeconfig/--context/-A/--request-timeout (kept in the context)."""
    for opt in reversed(
        [
            click.option(
                "--cluster",
                is_flag=True,
                default=False,
                expose_value=False,
                callback=remember_option,
                help="Also read a live cluster (read-only: list Namespaces, Pods, workloads, Services, "
                "Endpoints/EndpointSlices, NetworkPolicies, Nodes and the policy.networking.k8s.io kinds "
                "when installed). PATHS become optional.",
            ),
            click.option(
                "--kubeconfig",
                default=None,
                metavar="PATH",
                expose_value=False,
                callback=remember_option,
                help="kubeconfig file(s) for --cluster (default: $KUBECONFIG, then ~/.kube/config).",
            ),
            click.option(
                "--context",
                "kube_context",
                default=None,
                metavar="NAME",
                expose_value=False,
                callback=remember_option,
                help="kubeconfig context for --cluster (default: its current context).",
            ),
            click.option(
                "-A",
                "--all-namespaces",
                is_flag=True,
                default=False,
                expose_value=False,
                callback=remember_option,
                help="With --cluster, read every namespace (the default unless -n is given).",
            ),
            click.option(
                "--request-timeout",
                type=click.FloatRange(min=0.1),
                default=10.0,
                show_default=True,
                expose_value=False,
                callback=remember_option,
                help="With --cluster, seconds to wait for the API server on each request.",
            ),
        ]
    ):
        func = opt(func)
    return func


def cluster_target(namespace: str, *, implied: bool = False) -> ClusterTarget | None:
    """The cluster the current command's options name, or None without --cluster (unless ``implied``)."""
    ctx = click.get_current_context(silent=True)
    store: dict[str, Any] = ctx.meta.get(CLUSTER_META, {}) if ctx is not None else {}
    if not store.get("cluster") and not implied:
        if ctx is not None and (store.get("kubeconfig") or store.get("kube_context") or store.get("all_namespaces")):
            raise click.UsageError("--kubeconfig, --context and -A need --cluster")
        return None
    explicit_ns = store.get("namespace_source") is click.core.ParameterSource.COMMANDLINE
    read_ns = None if store.get("all_namespaces") or not explicit_ns else namespace
    return ClusterTarget(
        kubeconfig=store.get("kubeconfig"),
        context=store.get("kube_context"),
        namespace=read_ns,
        timeout=float(store.get("request_timeout") or 10.0),
    )


def _domain_addresses(
    ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """``--domain-address NAME=IP[,IP...]`` (repeatable) as a name -> addresses map: what
    ``domainNames`` peers of cluster-wide policies resolve to (podwall never resolves names)."""
    out: dict[str, tuple[str, ...]] = {}
    hint = "'--domain-address'"
    for value in values:
        name, sep, addrs = value.partition("=")
        name = name.strip().lower().rstrip(".")
        ips = tuple(a.strip() for a in addrs.split(",") if a.strip())
        if not sep or not name or not ips:
            raise click.BadParameter(f"{value!r}: write NAME=IP[,IP...]", ctx=ctx, param_hint=hint)
        for ip in ips:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise click.BadParameter(f"{ip!r} is not an IP address", ctx=ctx, param_hint=hint) from None
        out[name] = out.get(name, ()) + ips
    return out


def input_options(func: F) -> F:
    """PATHS... plus --namespace, the cluster options (--cluster, --kubeconfig, --context, -A) and
    the implementation-defined semantics options, passed to the command as one ``inputs: Inputs``
    parameter (the cluster options stay in the click context: see :func:`cluster_target`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, paths: tuple[str, ...], namespace: str, ipblock_matches_pods: bool,
                host_network: str, domain_address: Mapping[str, tuple[str, ...]], **kwargs: Any) -> Any:
        opts = Options(
            ipblock_matches_pods=ipblock_matches_pods,
            host_network=HostNetworkMode(host_network),
            domain_addresses=MappingProxyType(dict(domain_address)),
        )
        return func(*args, inputs=Inputs(paths=paths, namespace=namespace, options=opts), **kwargs)

    cmd: Any = cluster_options(wrapper)
    cmd = click.option(
        "--domain-address",
        multiple=True,
        metavar="NAME=IP[,IP...]",
        callback=_domain_addresses,
        help="Addresses a DNS name resolves to, for domainNames peers of cluster-wide policies "
        "(repeatable; without it such rules cannot be decided offline and match nothing).",
    )(cmd)
    cmd = click.option(
        "--host-network",
        type=click.Choice([m.value for m in HostNetworkMode]),
        default=HostNetworkMode.NODE.value,
        show_default=True,
        help="How hostNetwork pods count: 'node' (selectors never match them; their traffic is "
        "node traffic) or 'pod' (like any pod).",
    )(cmd)
    cmd = click.option(
        "--ipblock-matches-pods/--no-ipblock-matches-pods",
        default=True,
        show_default=True,
        help="Whether ipBlock rules match pod IPs (the upstream e2e suite requires it; Cilium does not).",
    )(cmd)
    cmd = namespace_option(cmd)
    cmd = click.argument("paths", nargs=-1, required=False, type=str)(cmd)
    return cmd  # type: ignore[no-any-return]


def namespace_option(func: F) -> F:
    return click.option(
        "-n",
        "--namespace",
        default="default",
        show_default=True,
        callback=remember_option,
        help="Namespace for objects (and endpoint names) that have none; with --cluster, the only "
        "namespace read (unless -A).",
    )(func)


def note_cluster_read(loaded: LoadedCluster) -> None:
    """One line on stderr: how much was read from the cluster, and which policy kinds are not installed."""
    read = loaded.cluster_read
    if read is not None:
        total = sum(read.counts.values())
        missing = f"; not installed: {', '.join(read.not_installed)}" if read.not_installed else ""
        click.echo(f"read {total} objects from {read.where}{missing}", err=True)


def warn_diagnostics(diags: list[Diagnostic], *, quiet_codes: Collection[str] = ()) -> None:
    for d in diags:
        if d.severity is Severity.WARNING and d.code not in quiet_codes:
            click.echo(f"warning: {d.render()}", err=True)


# -- output -------------------------------------------------------------------------------------
def output_option(*choices: str, default: str | None = None) -> Callable[[F], F]:
    """``-o/--output`` with these formats (the first is the default unless ``default`` says)."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(list(choices)),
        default=default or choices[0],
        show_default=True,
        help="Output format (json: one document, see docs/output.md).",
    )


def json_requested(ctx: click.Context) -> bool:
    """Whether the command line asked for ``-o json`` (known before any option is parsed)."""
    return ctx.meta.get(OUTPUT_META) == "json"


def echo_json(doc: Mapping[str, Any]) -> None:
    """Print one JSON document (built by :mod:`podwall.report.serialize`)."""
    click.echo(dumps(doc))


# -- protocol and port --------------------------------------------------------------------------
def protocol_option(func: F) -> F:
    return click.option("--protocol", type=PROTOCOL, default="TCP", show_default=True, help="TCP, UDP or SCTP.")(
        func
    )


def parse_protocol(value: str) -> Protocol:
    """``tcp``/``TCP`` -> Protocol.TCP (the click choice has already checked the word)."""
    return Protocol(value.upper())


def parse_port(value: str) -> int | str:
    """A port as typed: digits are a number, anything else a port name (checked by the query)."""
    value = value.strip()
    return int(value) if value.isdigit() else value


# -- exit codes in --help -----------------------------------------------------------------------
ALWAYS = (ExitCode.BAD_INPUT, ExitCode.BUG, ExitCode.SIGPIPE, ExitCode.SIGINT, ExitCode.SIGTERM)
"""Codes every command can end with."""


def exit_codes_text(meanings: Mapping[ExitCode, str]) -> str:
    """The ``Exit codes:`` block of a command's help: its own codes with their meaning for it,
    then the codes every command shares, all from the table."""
    codes = dict(meanings)
    for code in ALWAYS:
        codes.setdefault(code, code.describe())
    lines = ["\b", "Exit codes:"]
    lines += [f"  {int(c):>3}  {text}" for c, text in sorted(codes.items())]
    return "\n".join(lines)


def exit_codes(**meanings: str) -> Callable[[click.Command], click.Command]:
    """Declare a command's exit codes, by name in the table, with what each means for this
    command (an empty string: the table's own words): ``@exit_codes(OK="yes", NO="no")``, placed
    above ``@click.command``. The help epilog is generated from it; ``codes_of`` reads it back."""

    def decorate(cmd: click.Command) -> click.Command:
        table = {ExitCode[name]: text or ExitCode[name].describe() for name, text in meanings.items()}
        for code in ALWAYS:
            table.setdefault(code, code.describe())
        cmd.epilog = exit_codes_text(table)
        setattr(cmd, _DECLARED, table)
        return cmd

    return decorate


_DECLARED = "podwall_exit_codes"


def codes_of(cmd: click.Command) -> dict[ExitCode, str]:
    """The exit codes ``cmd`` declared with :func:`exit_codes` (empty if none)."""
    return dict(getattr(cmd, _DECLARED, {}))
