from dataclasses import replace

import pytest

from loadlab import model
from loadlab.contract.scenarios import SCENARIOS
from loadlab.errors import LoadlabError
from tests.unit.factories import point


def configuration(**fields) -> dict:
    values = {
        "scenario": "io-sleep",
        "target": "sync",
        "workers": 2,
        "threads": 40,
        "db_pool": 10,
        "cores": 2,
        "cpu_ms_per_request": None,
        "max_connections": None,  # no server asked
    }
    return {**values, **fields}


def test_every_scenario_has_a_kind_of_model():
    assert set(model.KINDS) == set(SCENARIOS)


@pytest.mark.parametrize(
    ("scenario", "target", "seconds"),
    [
        ("io-sleep", "sync", 0.1),
        ("io-db", "async", 0.1),
        ("fanout", "sync", 0.15),  # 3 calls of 50 ms in sequence
        ("fanout", "async", 0.05),  # gathered: the slowest
        ("blocking-sleep", "async", 0.1),
    ],
)
def test_the_wait_comes_from_the_scenarios_query(scenario, target, seconds):
    assert model.wait_s(scenario, target) == pytest.approx(seconds)


def test_a_scenario_that_does_not_wait_has_no_wait_time():
    with pytest.raises(LoadlabError, match="no ms="):
        model.wait_s("cpu", "sync")


def test_sync_io_is_bound_by_its_threads():
    found = model.ceiling(**configuration(cpu_ms_per_request=1.0))
    assert found == model.Ceiling(
        800.0,
        "threads",
        "threads: 2 workers × 40 threads ÷ 0.1 s = 800 rps "
        "(2 threadpool trips per request: the later ones validate the response, no wait)",
    )


def test_cpu_binds_sync_io_when_the_threads_outrun_the_cores():
    found = model.ceiling(**configuration(threads=400, cpu_ms_per_request=2.0))  # threads: 8000 rps, cores: 1000
    assert (found.rps, found.binding) == (pytest.approx(1000.0), "cores")


def test_async_io_is_bound_by_cpu_per_request_on_at_most_one_core_per_worker():
    one = model.ceiling(**configuration(target="async", workers=1, cpu_ms_per_request=0.5))
    four = model.ceiling(**configuration(target="async", workers=4, cpu_ms_per_request=0.5))
    assert (one.rps, one.binding) == (pytest.approx(2000.0), "cores")
    assert four.rps == pytest.approx(4000.0)  # 2 cores, not 4 workers
    assert "min(4 workers, 2 cores) ÷ 0.5 ms CPU per request" in four.explanation


def test_async_io_with_no_cpu_measured_has_no_ceiling():
    assert model.ceiling(**configuration(target="async")) is None


def test_the_db_route_is_bound_by_the_pool_then_by_postgres_max_connections():
    pool = model.ceiling(**configuration(scenario="io-db", target="async", workers=2, db_pool=10))
    assert (pool.rps, pool.binding) == (pytest.approx(200.0), "pool")
    capped = model.ceiling(
        **configuration(scenario="io-db", target="async", workers=8, db_pool=20, max_connections=100)
    )
    assert (capped.rps, capped.binding) == (pytest.approx(1000.0), "max_connections")  # 160 > 100 connections
    lifted = model.ceiling(
        **configuration(scenario="io-db", target="async", workers=8, db_pool=20, max_connections=200)
    )
    assert (lifted.rps, lifted.binding) == (pytest.approx(1600.0), "pool")


def test_the_sync_db_route_is_bound_by_threads_when_there_are_fewer_than_connections():
    found = model.ceiling(**configuration(scenario="io-db", threads=4, db_pool=10))
    assert (found.rps, found.binding) == (pytest.approx(80.0), "threads")


def test_cpu_routes_use_one_core_per_worker_inline_and_every_core_offloaded():
    inline = model.ceiling(**configuration(scenario="cpu", workers=1, cpu_ms_per_request=10.0))
    offloaded = model.ceiling(**configuration(scenario="cpu-offload", workers=1, cpu_ms_per_request=10.0))
    assert inline.rps == pytest.approx(100.0)
    assert offloaded.rps == pytest.approx(200.0)


def test_blocking_in_async_serves_one_request_at_a_time_per_worker():
    found = model.ceiling(**configuration(scenario="blocking-sleep", target="async", workers=4, cpu_ms_per_request=1))
    assert (found.rps, found.binding) == (pytest.approx(40.0), "workers")


def test_a_point_supplies_its_own_configuration_and_cpu():
    measured = point("io-sleep", "sync", workers=2, threads=40, server_cpu_ms_per_request=0.5)
    assert model.point_ceiling(measured, cores=2, max_connections=None).rps == pytest.approx(800.0)
    unmeasured = point("io-sleep", "async", server_cpu_ms_per_request=None)
    assert model.point_ceiling(unmeasured, cores=2, max_connections=None) is None


@pytest.mark.parametrize(
    "fields",
    [{"scenario": "nope"}, {"workers": 0}, {"threads": 0}, {"cores": 0}],
)
def test_a_configuration_the_model_cannot_describe_is_refused(fields):
    with pytest.raises(LoadlabError):
        model.ceiling(**configuration(**fields))


def test_far_below_the_model_is_flagged_as_a_hidden_limit():
    ceiling = model.Ceiling(800.0, "threads", "")
    low = model.versus_model(400.0, ceiling)
    assert (low.ratio, low.hidden_limit) == (0.5, True)
    assert "hidden limit" in low.note and "0.50 of the model's 800 rps (threads)" in low.note
    near = model.versus_model(760.0, ceiling)
    assert (near.hidden_limit, near.note.endswith("the threads limit explains it")) == (False, True)
    at_the_flag = model.versus_model(0.7 * 800.0, ceiling)
    assert not at_the_flag.hidden_limit
    assert "above the model" in model.versus_model(1000.0, ceiling).note


def test_an_unknown_max_connections_is_said_to_be_assumed_not_made_up():
    found = model.ceiling(**configuration(scenario="io-db", target="async", workers=8, db_pool=20))
    assert (found.rps, found.binding) == (pytest.approx(1600.0), "pool")
    assert found.assumed == "PostgreSQL's max_connections unknown (no server asked): assumed to admit all 160"
    assert found.explanation.endswith(f"= 1600 rps ({found.assumed})")
    assert "100" not in found.explanation
    known = model.ceiling(**configuration(scenario="io-db", target="async", workers=8, db_pool=20, max_connections=500))
    assert (known.rps, known.binding, known.assumed) == (pytest.approx(1600.0), "pool", "")


# Threadpool trips: how many the catalogue states, and where they count.


@pytest.mark.parametrize(
    ("scenario", "target", "trips"),
    [("io-sleep", "sync", 2), ("io-sleep-1trip", "sync", 1), ("io-db", "sync", 2), ("io-sleep", "async", 0)],
)
def test_the_trips_per_request_come_from_the_catalogue(scenario, target, trips):
    assert model.trips(scenario, target) == trips


def test_a_second_trip_leaves_the_threads_ceiling_where_it_is_and_says_so():
    two = model.ceiling(**configuration(workers=1, threads=4))
    one = model.ceiling(**configuration(scenario="io-sleep-1trip", workers=1, threads=4))
    assert (two.rps, one.rps) == (pytest.approx(40.0), pytest.approx(40.0))
    assert one.explanation == "threads: 1 workers × 4 threads ÷ 0.1 s = 40 rps"
    assert two.explanation.endswith("(2 threadpool trips per request: the later ones validate the response, no wait)")


def test_a_request_that_borrows_no_thread_is_not_bound_by_the_threads(monkeypatch):
    monkeypatch.setitem(SCENARIOS, "io-sleep", replace(SCENARIOS["io-sleep"], sync_trips=0))
    assert model.ceiling(**configuration()) is None


def test_a_burst_with_one_trip_finishes_in_waves():
    found = model.burst_latency(120, 1, 4, 0.1, trips=1)
    assert (found.min_s, found.p50_s, found.max_s) == (pytest.approx(0.1), pytest.approx(1.5), pytest.approx(3.0))
    assert "waves of 4 finish at 0.1 s, 0.2 s, … 3 s" in found.explanation


def test_a_burst_with_two_trips_finishes_all_at_once_behind_the_backlog():
    found = model.burst_latency(120, 1, 4, 0.1, trips=2)
    assert (found.min_s, found.p50_s, found.max_s) == (pytest.approx(3.0),) * 3
    assert "second trip queues behind all 120 first trips" in found.explanation
    # a last wave of 2 leaves 2 threads to the second trips as it starts: the earlier 120 are done then
    ragged = model.burst_latency(122, 1, 4, 0.1, trips=2)
    assert (ragged.min_s, ragged.p50_s, ragged.max_s) == (pytest.approx(3.0), pytest.approx(3.0), pytest.approx(3.1))
    assert model.burst_latency(120, 2, 4, 0.1, trips=2).max_s == pytest.approx(1.5)  # 8 threads: 15 waves


def _fifo(rate: float, threads: int, wait: float, trips: int, warmup_s: float, duration_s: float) -> list[float]:
    """Latencies of an exact simulation of the limiter (FIFO, `threads` tokens, later trips taking no
    time), over the requests done after the warm-up: what `open_latency` approximates."""
    import heapq
    from collections import deque

    arrivals = [i / rate for i in range(round(rate * (warmup_s + duration_s)))]
    events = [(a, 0, i, 1) for i, a in enumerate(arrivals)]  # (time, 0: joins the queue / 1: ends, request, trip)
    heapq.heapify(events)
    queue, free, done = deque(), threads, {}
    while events:
        t, kind, i, trip = heapq.heappop(events)
        if kind == 0:
            queue.append((i, trip))
        else:
            free += 1
            if trip < trips:
                heapq.heappush(events, (t, 0, i, trip + 1))
            else:
                done[i] = t
        while free and queue:
            j, k = queue.popleft()
            free -= 1
            heapq.heappush(events, (t + (wait if k == 1 else 0.0), 1, j, k))
    return sorted(done[i] - arrivals[i] for i in done if done[i] >= warmup_s)


@pytest.mark.parametrize("trips", [1, 2])
def test_the_open_load_latency_agrees_with_an_exact_simulation_of_the_limiter(trips):
    found = model.open_latency(60.0, 1, 4, 0.1, trips, warmup_s=2.0, duration_s=8.0)
    exact = _fifo(60.0, 4, 0.1, trips, 2.0, 8.0)
    assert found.p50_s == pytest.approx(exact[len(exact) // 2], rel=0.03)
    assert found.max_s == pytest.approx(exact[-1], rel=0.03)
    assert found.min_s == pytest.approx(exact[0], abs=0.1)


def test_under_an_open_overload_the_second_trip_about_doubles_the_median():
    two = model.open_latency(60.0, 1, 4, 0.1, 2, warmup_s=2.0, duration_s=8.0)
    one = model.open_latency(60.0, 1, 4, 0.1, 1, warmup_s=2.0, duration_s=8.0)
    assert (one.p50_s, one.max_s) == (pytest.approx(2.9, abs=0.05), pytest.approx(5.1, abs=0.05))
    assert (two.p50_s, two.max_s) == (pytest.approx(5.85, abs=0.05), pytest.approx(8.4, abs=0.05))
    assert "r = 1.50" in two.explanation and "ends at r·min(e, 10 s)" in two.explanation


def test_within_the_ceiling_no_backlog_builds():
    assert model.open_latency(40.0, 1, 4, 0.1, 2, warmup_s=2.0, duration_s=8.0) is None


def test_a_closed_loop_waits_behind_the_other_users_whatever_the_trips():
    assert model.closed_latency(100, 1, 4, 0.1) == pytest.approx(2.5)
    assert model.closed_latency(2, 1, 4, 0.1) == pytest.approx(0.1)  # fewer users than threads: no queue
