"""Options and helpers shared by every command: inputs, semantics options, output format.

Exit codes (documented in the README, stable for scripts):

* 0 — success; for questions, the answer is yes / everything passed
* 1 — the answer is no: ``can`` denied, ``validate`` found invalid objects, ``test`` had
  failing probes, ``lint`` reached ``--fail-on``, ``lab test`` disagreed
* 2 — bad input or usage: unreadable manifests, unknown endpoint, bad option
* 3 — the lab or nftables cannot do it: no such lab is up, not root, nft missing, a kernel
  refusal
* 4 — internal error in podwall (a bug: please report it)
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, TypeVar

import click

from podwall.api import LoadedCluster
from podwall.api import load as api_load
from podwall.core.engine_options import options_from
from podwall.errors import Diagnostic, ManifestError, Severity

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_TEXT_JSON = click.Choice(["text", "json"])


def input_options(func: F) -> F:
    """PATHS... plus --namespace and the implementation-defined semantics options."""
    func = click.option(
        "--host-network",
        type=click.Choice(["node", "pod"]),
        default="node",
        show_default=True,
        help="How hostNetwork pods count: 'node' (selectors never match them; their traffic is "
        "node traffic) or 'pod' (like any pod).",
    )(func)
    func = click.option(
        "--ipblock-matches-pods/--no-ipblock-matches-pods",
        default=True,
        show_default=True,
        help="Whether ipBlock rules match pod IPs (the upstream e2e suite requires it; Cilium does not).",
    )(func)
    func = click.option(
        "-n",
        "--namespace",
        default="default",
        show_default=True,
        help="Namespace for objects (and endpoint names) that have none.",
    )(func)
    func = click.argument("paths", nargs=-1, required=True, type=str)(func)
    return func


DOMAIN_META = "podwall.domain_addresses"


def _domain_addresses(ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> None:
    out: dict[str, tuple[str, ...]] = {}
    for value in values:
        name, sep, addrs = value.partition("=")
        name = name.strip().lower().rstrip(".")
        ips = tuple(a.strip() for a in addrs.split(",") if a.strip())
        if not sep or not name or not ips:
            raise click.BadParameter(f"{value!r}: write NAME=IP[,IP...]", ctx=ctx, param_hint="'--domain-address'")
        for ip in ips:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                hint = "'--domain-address'"
                raise click.BadParameter(f"{ip!r} is not an IP address", ctx=ctx, param_hint=hint) from None
        out[name] = out.get(name, ()) + ips
    ctx.meta[DOMAIN_META] = out


def domain_options(func: F) -> F:
    """``--domain-address NAME=IP[,IP...]``: what ``domainNames`` peers of cluster-wide policies
    resolve to (podwall never resolves names itself). Stored in the click context, so the
    command functions' signatures stay as they are; :func:`load_cluster` applies it."""
    return click.option(
        "--domain-address",
        multiple=True,
        metavar="NAME=IP[,IP...]",
        expose_value=False,
        callback=_domain_addresses,
        help="Addresses a DNS name resolves to, for domainNames peers of cluster-wide policies "
        "(repeatable; without it such rules cannot be decided offline and match nothing).",
    )(func)


def load_cluster(
    paths: tuple[str, ...], namespace: str, ipblock_matches_pods: bool, host_network: str
) -> LoadedCluster:
    """Load inputs for a query command: any error in the input is fatal (exit 2)."""
    opts = options_from(ipblock_matches_pods=ipblock_matches_pods, host_network=host_network)
    ctx = click.get_current_context(silent=True)
    domains = ctx.meta.get(DOMAIN_META) if ctx is not None else None
    if domains:
        opts = dataclasses.replace(opts, domain_addresses=MappingProxyType(dict(domains)))
    loaded = api_load(list(paths), namespace=namespace, options=opts, strict=False)
    warn_diagnostics(loaded.diagnostics)
    errors = [d for d in loaded.diagnostics if d.severity is Severity.ERROR]
    if errors:
        raise ManifestError(loaded.diagnostics)
    return loaded


def warn_diagnostics(diags: list[Diagnostic]) -> None:
    for d in diags:
        if d.severity is Severity.WARNING:
            click.echo(f"warning: {d.render()}", err=True)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))
