"""Real connections inside the lab, judged against the engine.

A probe names a source, a destination and a port as ``podwall test`` does. :func:`run_probes`
resolves the names on the lab's cluster, asks the engine, sends real packets from the source
pod's namespace (concurrently, bounded by ``parallel``; see :mod:`podwall.lab.packets`) and
folds what came back into one :class:`ProbeResult` per probe. The kernel "allows" when the
packets got through (``connected``, ``refused``, ``reached``).

Destinations outside the lab are never sent a packet: such probes are ``skipped`` (advisory),
and so are probes whose source or destination has no address of the probed family.
Probes from a pod to itself never leave its namespace and are advisory, as upstream treats them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from podwall.core.evaluate import Engine
from podwall.core.model import Address, Cluster, Endpoint, Protocol, Service, Target
from podwall.core.services import evaluate_service, resolve_port, service_backends
from podwall.errors import PodwallError
from podwall.lab.names import resolve
from podwall.lab.packets import Observed, ProbeOutcome, probe_once
from podwall.lab.topology import LabPlan
from podwall.sources.expectations import Expectation
from podwall.sources.expectations import parse_expectations as parse_expectations_file

__all__ = [
    "Attempt",
    "LabCluster",
    "Probe",
    "ProbeOutcome",
    "ProbeResult",
    "Summary",
    "parse_expectations",
    "run_probes",
    "summary",
]


@dataclass(frozen=True, kw_only=True)
class LabCluster:
    """The cluster as the lab has it (every endpoint with its lab address), with its engine."""

    cluster: Cluster
    engine: Engine
    default_namespace: str = "default"

    def resolve(self, name: str, *, allow_service: bool = False) -> Target | Service:
        return resolve(self.cluster, name, default_namespace=self.default_namespace, allow_service=allow_service)


@dataclass(frozen=True)
class Probe:
    src: str
    dst: str
    port: int | str
    protocol: Protocol = Protocol.TCP
    expect: bool | None = None
    """From the expectations file: True allow, False deny, None not stated."""
    advisory: bool = False


@dataclass(frozen=True)
class Attempt:
    """One connection attempt of a probe (a Service destination has one per backing pod)."""

    endpoint: str
    ip: str
    port: int
    outcome: ProbeOutcome | None = None
    """``None`` until the attempt was made."""
    detail: str = ""


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    engine: bool | None = None
    """The engine's verdict (``None``: not evaluated, e.g. an unknown name)."""
    kernel: bool | None = None
    """What the packets did: True through, False dropped, ``None`` not probed or no verdict."""
    outcome: ProbeOutcome = ProbeOutcome.SKIPPED
    """The folded outcome; for a Service, the worst of its attempts."""
    outcomes: tuple[ProbeOutcome, ...] = ()
    """Every distinct attempt outcome, sorted (``connected, refused`` for a mixed Service)."""
    detail: str = ""
    """Why it was skipped, the errno of an error, or ``retried after a timeout``."""
    attempts: tuple[Attempt, ...] = ()
    reason: str = ""
    """The engine's explanation."""
    advisory: bool = False

    @property
    def agrees(self) -> bool | None:
        if self.kernel is None or self.engine is None:
            return None
        return self.kernel == self.engine

    @property
    def failed(self) -> bool:
        """A real disagreement: kernel vs engine, or kernel vs the expectation (not advisory)."""
        if self.advisory or self.kernel is None:
            return False
        if self.engine is not None and self.kernel != self.engine:
            return True
        return self.probe.expect is not None and self.kernel != self.probe.expect


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Counts over a list of probe results (``lab test``)."""

    probes: int
    compared: int
    """Non-advisory probes with a kernel verdict."""
    agree: int
    disagree: int
    unexpected: int
    """Compared probes whose kernel verdict differs from the file's expectation."""
    advisory: int
    not_run: int
    """Non-advisory probes without a kernel verdict (skipped, errors)."""

    @property
    def failed(self) -> int:
        return self.disagree + self.unexpected


def summary(results: Sequence[ProbeResult]) -> Summary:
    counted = [r for r in results if not r.advisory and r.kernel is not None]
    return Summary(
        probes=len(results),
        compared=len(counted),
        agree=sum(1 for r in counted if r.agrees),
        disagree=sum(1 for r in counted if r.agrees is False),
        unexpected=sum(1 for r in counted if r.probe.expect is not None and r.kernel != r.probe.expect),
        advisory=sum(1 for r in results if r.advisory),
        not_run=sum(1 for r in results if r.kernel is None and not r.advisory),
    )


# -- expectations ---------------------------------------------------------------------------


def probes_from(expectations: Iterable[Expectation]) -> list[Probe]:
    """Lab probes for the assertions of an expectations file (``podwall.sources.expectations``)."""
    return [
        Probe(src=e.src, dst=e.dst, port=e.port, protocol=e.protocol, expect=e.expect, advisory=e.advisory)
        for e in expectations
    ]


def parse_expectations(text: str, name: str = "<expect>") -> list[Probe]:
    """Lab probes for an expectations file's text, read by the one expectations parser."""
    return probes_from(parse_expectations_file(text, name))


# -- preparing: names, the engine, what to send ---------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """A probe before sending: the result so far, and from where to send its attempts."""

    result: ProbeResult
    netns: str | None = None
    """The source pod's namespace; ``None``: nothing to send (the result is final)."""


def _pick_ip(ep: Endpoint, family: int | None) -> str | None:
    for ip in ep.ips:
        if family is None or ipaddress.ip_address(ip).version == family:
            return ip
    return None


def _family_word(family: int | None) -> str:
    return f"IPv{family} " if family else ""


def _skip(r: ProbeResult, why: str) -> _Prepared:
    return _Prepared(dataclasses.replace(r, outcome=ProbeOutcome.SKIPPED, detail=why))


def _prepare(view: LabCluster, lab_plan: LabPlan, p: Probe, family: int | None) -> _Prepared:
    """Resolve names, ask the engine, and list what to send."""
    r = ProbeResult(probe=p, advisory=p.advisory)
    try:
        src = view.resolve(p.src)
        dst = view.resolve(p.dst, allow_service=True)
    except PodwallError as exc:
        return _skip(r, str(exc))
    if isinstance(src, Address | Service):
        return _skip(r, "the source must be a pod of the lab")
    src_plan = lab_plan.place(src.key)
    if src_plan is None:
        return _skip(r, f"{src.key} has no namespace in the lab")
    if isinstance(dst, Address):
        owner = [e for e in view.cluster.endpoints if str(dst.ip) in e.ips]
        host = lab_plan.host_with_ip(str(dst.ip))
        if not owner and host is not None and str(p.port).isdigit():
            # a node address: its host namespace answers (node traffic, no policy dispatch)
            v = view.engine.verdict(src, dst, int(p.port), p.protocol)
            r = dataclasses.replace(
                r, engine=v.allowed, reason=v.reason(), attempts=(Attempt(host.key, str(dst.ip), int(p.port)),)
            )
            return _Prepared(r, src_plan.netns)
        if not owner:
            port = int(p.port) if str(p.port).isdigit() else 0
            engine = view.engine.verdict(src, dst, port, p.protocol).allowed
            r = dataclasses.replace(r, engine=engine, advisory=True)
            return _skip(r, "outside the lab: never probed (nothing may leave the lab)")
        dst = owner[0]
    try:
        if isinstance(dst, Service):
            r = _service_attempts(view, lab_plan, r, src, dst, family)
        else:
            num = resolve_port(p.port, p.protocol, dst)
            v = view.engine.verdict(src, dst, num, p.protocol)
            r = dataclasses.replace(r, engine=v.allowed, reason=v.reason())
            ip = _pick_ip(dst, family)
            if ip is None or lab_plan.place(dst.key) is None:
                return _skip(r, f"{dst.key} has no {_family_word(family)}address in the lab")
            r = dataclasses.replace(r, attempts=(Attempt(dst.key, ip, num),))
    except PodwallError as exc:
        return _skip(r, str(exc))
    if family is not None and _pick_ip(src, family) is None:
        # the source could not send from an address of that family: not a verdict
        return _skip(dataclasses.replace(r, attempts=()), f"{src.key} has no {_family_word(family)}address in the lab")
    if src is dst:
        r = dataclasses.replace(r, advisory=True)
        if p.protocol is Protocol.SCTP:
            # the probe's own raw socket would receive its INIT, so nothing would answer
            done = tuple(dataclasses.replace(a, outcome=ProbeOutcome.UNSUPPORTED) for a in r.attempts)
            r = dataclasses.replace(r, attempts=done, detail="SCTP to itself cannot be probed with raw packets")
    return _Prepared(r, src_plan.netns)


def _service_attempts(
    view: LabCluster, lab_plan: LabPlan, r: ProbeResult, src: Target, svc: Service, family: int | None
) -> ProbeResult:
    p = r.probe
    sv = evaluate_service(view.engine, view.cluster, src, svc, p.port, p.protocol)
    backends = {e.key: e for e in service_backends(view.cluster, svc)}
    attempts = []
    for b in sv.backends:
        ip = _pick_ip(backends[b.endpoint], family)
        if b.port is None or ip is None or lab_plan.place(b.endpoint) is None:
            why = "not in the lab or no port"
            attempts.append(Attempt(b.endpoint, ip or "", b.port or 0, ProbeOutcome.SKIPPED, why))
        else:
            attempts.append(Attempt(b.endpoint, ip, b.port))
    return dataclasses.replace(r, engine=sv.allowed, reason=sv.reason(), attempts=tuple(attempts))


# -- sending ----------------------------------------------------------------------------------

_Job = tuple[int, int, str, Protocol, Attempt]
"""(probe index, attempt index, source netns, protocol, attempt)."""
_Send = Callable[[_Job], Observed]


def _jobs(prepared: Sequence[_Prepared]) -> list[_Job]:
    return [
        (i, j, p.netns, p.result.probe.protocol, a)
        for i, p in enumerate(prepared)
        if p.netns is not None
        for j, a in enumerate(p.result.attempts)
        if a.outcome is None
    ]


def _schedule(jobs: Iterable[_Job]) -> list[list[_Job]]:
    """Batches that may run concurrently, in order.

    A raw SCTP socket open in a pod swallows SCTP packets arriving there, so that pod would
    not answer other probes' INITs: SCTP probes run one source pod at a time (concurrently
    within it), while TCP and UDP probes all run at once.
    """
    plain: list[_Job] = []
    sctp: dict[str, list[_Job]] = {}
    for job in jobs:
        if job[3] is Protocol.SCTP:
            sctp.setdefault(job[2], []).append(job)
        else:
            plain.append(job)
    return ([plain] if plain else []) + list(sctp.values())


def _run(batches: Iterable[list[_Job]], send: _Send, pool: ThreadPoolExecutor) -> dict[tuple[int, int], Observed]:
    out: dict[tuple[int, int], Observed] = {}
    for batch in batches:
        for job, seen in zip(batch, pool.map(send, batch), strict=True):
            out[(job[0], job[1])] = seen
    return out


def _retry_timeouts(
    prepared: Sequence[_Prepared],
    jobs: Sequence[_Job],
    seen: dict[tuple[int, int], Observed],
    send: _Send,
    pool: ThreadPoolExecutor,
) -> set[tuple[int, int]]:
    """Probe once more what timed out although the engine allows it; returns what was retried.

    Like upstream's harness (a lost packet on a loaded machine is not a verdict). Never the
    other way round: a connection that got through is never retried away.
    """
    again = [
        j
        for j in jobs
        if seen[(j[0], j[1])].outcome is ProbeOutcome.TIMEOUT
        and prepared[j[0]].result.engine
        and not prepared[j[0]].result.advisory
    ]
    seen.update(_run(_schedule(again), send, pool))
    return {(j[0], j[1]) for j in again}


def _settle(p: _Prepared, attempts: tuple[Attempt, ...], retried: bool) -> ProbeResult:
    """Fold the attempts' outcomes into the probe's result."""
    r = dataclasses.replace(p.result, attempts=attempts)
    if p.netns is None:
        return r
    outcomes = tuple(sorted({a.outcome for a in attempts if a.outcome is not None}))
    r = dataclasses.replace(r, outcomes=outcomes, detail=r.detail or ("retried after a timeout" if retried else ""))
    if not attempts:
        return dataclasses.replace(
            r, outcome=ProbeOutcome.UNREACHABLE, kernel=False, detail="the Service has no backing pod"
        )
    for bad in (ProbeOutcome.UNSUPPORTED, ProbeOutcome.ERROR, ProbeOutcome.SKIPPED):
        if bad in outcomes:
            first = next(a for a in attempts if a.outcome is bad)
            fallback = f"{r.probe.protocol} unsupported by this kernel" if bad is ProbeOutcome.UNSUPPORTED else ""
            why = r.detail or first.detail or fallback
            return dataclasses.replace(r, outcome=bad, detail=why)
    through = all(a.outcome is not None and a.outcome.got_through for a in attempts)
    worst = next((o for o in outcomes if not o.got_through), outcomes[0])
    return dataclasses.replace(r, kernel=through, outcome=worst)


def run_probes(
    view: LabCluster,
    lab_plan: LabPlan,
    probes: Sequence[Probe],
    *,
    timeout: float = 1.0,
    parallel: int = 64,
    family: int | None = 4,
    retry: bool = True,
) -> list[ProbeResult]:
    """Run every probe with real packets (concurrently) and compare with the engine.

    Args:
        view: the lab's cluster and engine (:meth:`podwall.lab.lab.Lab.loaded`).
        lab_plan: which namespace each endpoint has.
        family: probe the IPv4 (4) or IPv6 (6) addresses; ``None``: each endpoint's first.
        retry: probe once more what timed out although the engine allows it (never the
            reverse), as upstream's e2e harness re-polls.
    """
    prepared = [_prepare(view, lab_plan, p, family) for p in probes]
    jobs = _jobs(prepared)

    def send(job: _Job) -> Observed:
        _, _, netns, proto, a = job
        return probe_once(netns, a.ip, a.port, proto, timeout)

    seen: dict[tuple[int, int], Observed] = {}
    retried: set[tuple[int, int]] = set()
    if jobs:
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(jobs)))) as pool:
            seen = _run(_schedule(jobs), send, pool)
            if retry:
                retried = _retry_timeouts(prepared, jobs, seen, send, pool)
    out = []
    for i, p in enumerate(prepared):
        attempts = tuple(
            dataclasses.replace(a, outcome=seen[(i, j)].outcome, detail=seen[(i, j)].detail) if (i, j) in seen else a
            for j, a in enumerate(p.result.attempts)
        )
        out.append(_settle(p, attempts, any((i, j) in retried for j in range(len(attempts)))))
    return out
