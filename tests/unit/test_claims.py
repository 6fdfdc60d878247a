"""Each published claim's verdict on hand-made points: holding, not holding, and not measured; and
every figure it states follows the scenario catalogue and the measured points."""

from dataclasses import replace

import pytest

from loadlab.console.table import console, show
from loadlab.contract.scenarios import SCENARIOS
from loadlab.judge.claims import CLAIMS, verdicts
from loadlab.report.run_section import claims_section
from loadlab.results.point import RunSummary
from tests.unit.factories import point


def verdict(claim_id: str, points: list, scenarios=SCENARIOS) -> str:
    return dict((c.id, v) for c, v in verdicts(points, scenarios))[claim_id]


def catalogue(**queries: str) -> dict:
    """The scenario catalogue with some scenarios requesting another query."""
    return {
        **SCENARIOS,
        **{name.replace("_", "-"): replace(SCENARIOS[name.replace("_", "-")], query=q) for name, q in queries.items()},
    }


def test_every_claim_has_a_verdict_even_with_no_point():
    found = verdicts([])
    assert [c.id for c, _ in found] == ["C1", "C2", "C3", "C4", "C5"]
    assert all(v.startswith("not measured") for _, v in found)


def test_c1_holds_when_async_serves_five_times_more():
    points = [point("io-sleep", "sync", rps=100.0), point("io-sleep", "async", rps=900.0)]
    assert verdict("C1", points).startswith("holds: sync 100.0 rps vs async 900.0 rps (x9.00)")


def test_c1_does_not_hold_when_the_threadpool_keeps_up_and_names_the_anti_pattern():
    points = [
        point("io-sleep", "sync", rps=913.0),
        point("io-sleep", "async", rps=978.0),
        point("blocking-sleep", "async", rps=39.6),
    ]
    v = verdict("C1", points)
    assert v.startswith("does not hold: sync 913.0 rps vs async 978.0 rps")
    assert "threadpool" in v and "39.6 rps" in v and "4 x 40" in v


def test_c2_holds_when_sequential_calls_take_at_least_twice_the_gathered_ones():
    points = [point("fanout", "sync", p50_ms=160.0, users=5), point("fanout", "async", p50_ms=60.0, users=5)]
    assert verdict("C2", points).startswith("holds: 3 upstream calls of 50 ms take p50 160 ms in sequence vs 60 ms")
    points[0] = point("fanout", "sync", p50_ms=100.0, users=5)
    assert verdict("C2", points).startswith("does not hold")


def test_c3_holds_when_blocking_sleep_is_capped_at_one_request_per_worker():
    points = [point("blocking-sleep", "async", rps=39.6), point("io-sleep", "async", rps=978.0)]
    assert verdict("C3", points).startswith("holds: time.sleep in async def serves 39.6 rps vs 978.0 rps with await")
    assert verdict("C3", [point("blocking-sleep", "async", rps=100.0)]).startswith("does not hold")


def test_c4_holds_when_offloading_frees_the_loop():
    inline = point("cpu", "async", loop_lag_p99_ms=1936.0, rps=207.9)
    offload = point("cpu-offload", "async", loop_lag_p99_ms=12.0, rps=202.1)
    assert verdict("C4", [inline, offload]).startswith("holds: event-loop lag p99 1936 ms inline vs 12 ms offloaded")
    worse = point("cpu-offload", "async", loop_lag_p99_ms=3000.0)
    assert verdict("C4", [inline, worse]).startswith("does not hold")
    no_lag = point("cpu", "async", loop_lag_p99_ms=None)
    assert verdict("C4", [no_lag, offload]).startswith("not measured")


def test_c5_holds_when_async_spends_less_cpu_per_request():
    sync, async_ = point("io-sleep", "sync", server_cpu_ms_per_request=0.96), point(server_cpu_ms_per_request=0.53)
    assert verdict("C5", [sync, async_]).startswith("holds: server CPU per request 0.53 ms async vs 0.96 ms sync")
    async_close = point(server_cpu_ms_per_request=0.9)
    assert verdict("C5", [sync, async_close]).startswith("does not hold")


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_a_claim_missing_its_points_says_what_it_needs(claim):
    assert claim.verdict([point("hello", "sync")], SCENARIOS).startswith("not measured")


def test_the_fan_out_figures_follow_the_scenario_catalogue():
    points = [point("fanout", "sync", p50_ms=160.0, users=5), point("fanout", "async", p50_ms=60.0, users=5)]
    five = verdict("C2", points, catalogue(fanout="ms=20&n=5"))
    assert "5 upstream calls of 20 ms" in five and "5 x 20 ms" in five
    assert "3 upstream calls" not in five and "50 ms" not in five
    # five calls in sequence should cost about five times one: 160 vs 60 ms (x2.7) is short of x3
    assert five.startswith("does not hold") and "x3 needed" in five
    assert verdict("C2", points).startswith("holds")  # the same points hold for 3 calls (x2 needed)


def test_the_blocking_ceiling_follows_the_scenario_wait():
    blocking = [point("blocking-sleep", "async", rps=19.0, workers=4)]
    v = verdict("C3", blocking, catalogue(blocking_sleep="ms=200"))
    assert "caps it at 20 rps (4 workers x 5/s)" in v and "10/s" not in v
    assert v.startswith("holds")
    assert "caps it at 40 rps (4 workers x 10/s)" in verdict("C3", blocking)
    # 60 rps is more than 4 workers blocked 200 ms each can serve (20 rps), not more than 40
    assert verdict("C3", [point("blocking-sleep", "async", rps=60.0)], catalogue(blocking_sleep="ms=200")).startswith(
        "does not hold"
    )
    assert verdict("C3", [point("blocking-sleep", "async", rps=40.0)]).startswith("holds")


def test_the_cpu_comparison_names_the_io_wait_the_catalogue_gives():
    points = [point("io-sleep", "sync", server_cpu_ms_per_request=0.96), point(server_cpu_ms_per_request=0.53)]
    v = verdict("C5", points, catalogue(io_sleep="ms=250"))
    assert v.endswith("for the same 250 ms wait")
    assert verdict("C5", points).endswith("for the same 100 ms wait")


def test_the_measured_ratio_is_the_points_own():
    points = [point("io-sleep", "sync", rps=120.0), point("io-sleep", "async", rps=480.0)]
    v = verdict("C1", points)
    assert "(x4.00)" in v and v.startswith("does not hold")


def test_a_catalogue_without_the_figure_says_it_cannot_judge():
    blocking = [point("blocking-sleep", "async", rps=19.0)]
    assert verdict("C3", blocking, catalogue(blocking_sleep="")) == (
        "not judged: scenario 'blocking-sleep' requests no ms="
    )


def test_the_printed_and_reported_verdicts_follow_the_catalogue(monkeypatch):
    points = [point("fanout", "sync", p50_ms=160.0), point("fanout", "async", p50_ms=60.0)]
    monkeypatch.setitem(SCENARIOS, "fanout", replace(SCENARIOS["fanout"], query="ms=20&n=5"))
    out = console()
    with out.capture() as captured:
        show(RunSummary("r", "complete", 0.0, {}, points), out)
    assert "5 upstream calls of 20 ms" in captured.get() and "3 upstream calls" not in captured.get()
    section = claims_section(points)
    assert section is not None and "5 upstream calls of 20 ms" in str(section)
