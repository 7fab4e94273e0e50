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

import json
from collections.abc import Callable
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


def load_cluster(
    paths: tuple[str, ...], namespace: str, ipblock_matches_pods: bool, host_network: str
) -> LoadedCluster:
    """Load inputs for a query command: any error in the input is fatal (exit 2)."""
    opts = options_from(ipblock_matches_pods=ipblock_matches_pods, host_network=host_network)
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
