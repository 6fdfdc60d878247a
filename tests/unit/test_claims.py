"""Each published claim's verdict on hand-made points: holding, not holding, and not measured."""

import pytest

from loadlab.judge.claims import CLAIMS, verdicts
from tests.unit.factories import point


def verdict(claim_id: str, points: list) -> str:
    return dict((c.id, v) for c, v in verdicts(points))[claim_id]


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
    assert claim.verdict([point("hello", "sync")]).startswith("not measured")
