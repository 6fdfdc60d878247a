import pytest

from loadlab.contract.scenarios import SCENARIOS
from loadlab.errors import LoadlabError
from loadlab.tuning import model
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
    assert found == model.Ceiling(800.0, "threads", "threads: 2 workers × 40 threads ÷ 0.1 s = 800 rps")


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
