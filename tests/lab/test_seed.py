"""The seed's scenario in the lab: its allow and deny tests, and its DNS trap."""

from __future__ import annotations

from podwall.lab.probe import parse_expectations, run_probes, summary

from .conftest import HERE, SEED, sources

MANIFESTS = SEED / "manifests"


def test_seed_expectations_and_dns_trap(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab("s")
    lab.up(sources(MANIFESTS), namespace="production")
    lc, plan = lab.loaded()
    probes = parse_expectations((SEED / "expect.yaml").read_text())
    results = run_probes(lc, plan, probes)
    assert [r.to_dict() for r in results if r.failed] == []
    s = summary(results)
    assert s["disagree"] == 0 and s["unexpected"] == 0 and s["compared"] >= 10
    by = {(r.probe.src, r.probe.dst, str(r.probe.port)): r for r in results}
    # the seed's deny test: app=other cannot reach postgres on 5432 (through its Service too)
    deny = by[("production/deny-test", "production/service/postgres", "5432")]
    assert deny.kernel is False and deny.outcome == "timeout"
    # nothing is sent outside the lab
    outside = [r for r in results if r.probe.dst == "203.0.113.10"]
    assert outside and all(r.outcome == "skipped" and r.kernel is None for r in outside)

    # the DNS trap, applied in place on the running lab
    change = lab.apply(sources(MANIFESTS, HERE / "data" / "dns-trap.yaml"), namespace="production")
    assert change.pods_added == 0 and change.nft in ("diff", "replace")
    lc, plan = lab.loaded()
    trap = run_probes(lc, plan, parse_expectations((HERE / "data" / "dns-trap-expect.yaml").read_text()))
    assert [r.to_dict() for r in trap if r.failed] == []
    dns = trap[0]
    assert dns.probe.protocol.value == "UDP" and dns.engine is False and dns.kernel is False
    assert trap[4].kernel is True  # the backend, which has a DNS rule, still resolves
