"""``podwall doctor`` and ``podwall test --cluster --live``: the commands that act on a live cluster."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from podwall.api import LoadedCluster
from podwall.cli.common import cluster_options, cluster_target, echo_json, exit_codes, output_option
from podwall.cli.exitcodes import ExitCode
from podwall.errors import ClusterError
from podwall.live.doctor import ActiveResult, ActiveVerdict, Diagnosis, Enforces, active_check, read_and_diagnose
from podwall.live.kube import Kube
from podwall.live.probes import AGNHOST, LiveReport, LiveResult, LiveSettings, ProbeSpec, run_live_probes
from podwall.report import serialize
from podwall.sources.cluster import ClusterTarget, KubeTransport


def register(cli: click.Group) -> None:
    cli.add_command(doctor)


def _kube(namespace: str) -> Kube:
    target = cluster_target(namespace, implied=True) or ClusterTarget()
    return Kube(KubeTransport(target))


def _diagnosis_text(d: Diagnosis) -> list[str]:
    lines = []
    if not d.findings:
        lines.append("network plugin: none recognised")
    for f in d.findings:
        lines.append(f"network plugin: {f.plugin.name} (confidence {f.confidence})")
        lines.append(f"  enforces NetworkPolicy: {f.enforces.value}" + (f" ({f.note})" if f.note else ""))
        lines.append(f"  cluster-wide tiers: {f.plugin.tiers}")
        for e in f.evidence:
            lines.append(f"  evidence: {e}")
    served = ", ".join(d.policy_groups) if d.policy_groups else "not installed"
    lines.append(f"policy.networking.k8s.io: {served}")
    lines.extend(d.warnings)
    return lines


def _active_text(a: ActiveResult) -> list[str]:
    lines = [f"active check in namespace {a.namespace}:"]
    lines.extend(f"  {s}" for s in a.steps)
    lines.append(f"NetworkPolicy is {a.verdict.value}: {a.detail}")
    return lines


@exit_codes(
    OK="NetworkPolicy is enforced (by the evidence, or proven with --active)",
    NO="it is not enforced, or it cannot be told",
)
@click.command()
@cluster_options
@click.option(
    "--active",
    is_flag=True,
    help="Prove it: create a scratch namespace with a server and two clients, apply a "
    "policy that admits one, probe, report, and delete everything (also on failure and Ctrl-C).",
)
@click.option(
    "--image", default=AGNHOST, show_default=True, help="Image for the --active pods (agnhost: netexec and connect)."
)
@click.option(
    "--timeout",
    "probe_timeout",
    type=click.FloatRange(min=0.1),
    default=3.0,
    show_default=True,
    help="Seconds a client waits for its connection (--active).",
)
@click.option(
    "--pod-timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Seconds to wait for a pod to start or finish (--active).",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds to let the CNI program the policy before probing (--active).",
)
@output_option("text", "json")
def doctor(active: bool, image: str, probe_timeout: float, pod_timeout: float, settle: float, output: str) -> ExitCode:
    """Which CNI runs in the cluster, and does it enforce NetworkPolicy and the cluster-wide tiers?

    Reads the current kubeconfig context (or --kubeconfig/--context; --cluster is implied):
    DaemonSets and Deployments of every namespace (names, images, arguments), node annotations,
    and whether policy.networking.k8s.io is served. Knows calico-node, cilium, weave-net,
    kube-flannel, canal, antrea, kube-router, kindnet, kube-network-policies, aws-node (with and
    without its network-policy agent), azure-npm, GKE Dataplane V2 and OVN-Kubernetes. Flannel
    alone is a loud warning: it ignores every policy.

    With --active it proves it with real pods, as the seed advises, and cleans up after itself.
    """
    kube = _kube("default")
    diag = read_and_diagnose(kube)
    act: ActiveResult | None = None
    if active:
        act = active_check(kube, image=image, timeout=probe_timeout, pod_timeout=pod_timeout, settle=settle)
    if output == "json":
        echo_json(serialize.document("Doctor", serialize.doctor(diag, act)))
    else:
        for line in _diagnosis_text(diag):
            click.echo(line)
        if act is not None:
            for line in _active_text(act):
                click.echo(line)
    enforced = act.verdict is ActiveVerdict.ENFORCED if act is not None else diag.network_policy is Enforces.YES
    return ExitCode.OK if enforced else ExitCode.NO


# -- test --live ----------------------------------------------------------------------------------
def live_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(
        [
            click.option(
                "--live",
                is_flag=True,
                help="With --cluster: make each probe a real connection in the "
                "cluster (an ephemeral container in the source pod, or a stand-in pod in a scratch namespace).",
            ),
            click.option("--image", "live_image", default=AGNHOST, show_default=True, help="Probe image (--live)."),
            click.option(
                "--timeout",
                "live_timeout",
                type=click.FloatRange(min=0.1),
                default=3.0,
                show_default=True,
                help="Seconds each live connection may take (--live).",
            ),
            click.option(
                "--pod-timeout",
                "live_pod_timeout",
                type=click.FloatRange(min=1),
                default=90.0,
                show_default=True,
                help="Seconds to wait for a probe container to finish (--live).",
            ),
            click.option(
                "--parallel",
                "live_parallel",
                type=click.IntRange(1, 32),
                default=4,
                show_default=True,
                help="Probes run at once (--live).",
            ),
        ]
    ):
        func = opt(func)
    return func


def _result_line(r: LiveResult) -> str:
    mark = "ok  " if r.agrees else "~   " if r.observed is None else "FAIL"
    seen = f"{r.outcome.value}" + (f" ({r.detail})" if r.detail and r.observed is None else "")
    return f"{mark} {r.src} -> {r.dst} {r.protocol.value}/{r.port}: live={seen} engine={r.engine} expect={r.expect}"


def run_live_test(
    loaded: LoadedCluster,
    probes: Sequence[ProbeSpec],
    namespace: str,
    *,
    image: str,
    timeout: float,
    pod_timeout: float,
    parallel: int,
    output: str,
) -> ExitCode:
    """Run the probes for real; NO on any disagreement between the network and the engine."""
    if loaded.cluster_read is None:
        raise click.UsageError("--live needs --cluster")
    kube = _kube(namespace)
    settings = LiveSettings(image=image, timeout=timeout, pod_timeout=pod_timeout, parallel=parallel)

    def progress(r: LiveResult) -> None:
        if output != "json":
            click.echo(_result_line(r))

    def resolve(_cluster: Any, name: str, allow_service: bool) -> Any:
        return loaded.endpoint(name, allow_service=allow_service)

    report: LiveReport = run_live_probes(
        kube,
        loaded.cluster,
        probes,
        resolve=resolve,
        options=loaded.engine.options,
        settings=settings,
        progress=progress,
    )
    disagree = [r for r in report.results if r.observed is not None and not r.agrees]
    unknown = [r for r in report.results if r.observed is None]
    if output == "json":
        echo_json(serialize.document("LiveTest", serialize.live_report(report)))
    else:
        if report.deleted:
            click.echo(f"deleted scratch namespace(s): {', '.join(report.deleted)}", err=True)
        if report.left:
            click.echo(f"could NOT delete: {', '.join(report.left)} (kubectl delete namespace ...)", err=True)
        click.echo(
            f"{len(report.results)} live probes: "
            f"{len(report.results) - len(disagree) - len(unknown)} network = engine, "
            f"{len(disagree)} disagree, {len(unknown)} not decided (skipped or failed)"
        )
    if report.left:
        raise ClusterError(f"could not delete {', '.join(report.left)}")
    return ExitCode.NO if disagree else ExitCode.OK
