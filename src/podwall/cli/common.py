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
from podwall.sources.cluster import ClusterTarget

CLUSTER_META = "podwall.cluster"
"""Where the cluster options leave their values in the click context (no command threads them)."""

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_TEXT_JSON = click.Choice(["text", "json"])


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


def input_options(func: F) -> F:
    """PATHS... plus --namespace, the cluster options and the implementation-defined semantics options."""
    func = cluster_options(func)
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
        callback=remember_option,
        help="Namespace for objects (and endpoint names) that have none; with --cluster, the only "
        "namespace read (unless -A).",
    )(func)
    func = click.argument("paths", nargs=-1, required=False, type=str)(func)
    return func


def load_cluster(
    paths: tuple[str, ...],
    namespace: str,
    ipblock_matches_pods: bool,
    host_network: str,
    *,
    quiet_codes: frozenset[str] = frozenset(),
) -> LoadedCluster:
    """Load inputs for a query command: any error in the input is fatal (exit 2)."""
    opts = options_from(ipblock_matches_pods=ipblock_matches_pods, host_network=host_network)
    target = cluster_target(namespace)
    if not paths and target is None:
        raise click.UsageError("give manifest PATHS (files, directories, - for stdin), or --cluster")
    loaded = api_load(list(paths), namespace=namespace, options=opts, strict=False, cluster=target)
    note_cluster_read(loaded)
    warn_diagnostics([d for d in loaded.diagnostics if d.code not in quiet_codes])
    errors = [d for d in loaded.diagnostics if d.severity is Severity.ERROR]
    if errors:
        raise ManifestError(loaded.diagnostics)
    return loaded


def note_cluster_read(loaded: LoadedCluster) -> None:
    """One line on stderr: how much was read from the cluster, and which policy kinds are not installed."""
    read = loaded.cluster_read
    if read is not None:
        total = sum(read.counts.values())
        missing = f"; not installed: {', '.join(read.not_installed)}" if read.not_installed else ""
        click.echo(f"read {total} objects from {read.where}{missing}", err=True)


def warn_diagnostics(diags: list[Diagnostic]) -> None:
    for d in diags:
        if d.severity is Severity.WARNING:
            click.echo(f"warning: {d.render()}", err=True)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))
