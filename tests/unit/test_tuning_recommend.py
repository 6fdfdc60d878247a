from loadlab.tuning.recommend import Measured, recommend


def measured(workers: int, capacity: float | None, **fields) -> Measured:
    values = {
        "target": "sync",
        "scenario": "io-sleep",
        "server": "gunicorn-uvicorn",
        "workers": workers,
        "threads": 40,
        "db_pool": 10,
        "capacity_rps": capacity,
        "bound_by": f"threads: {workers} workers × 40 threads ÷ 0.1 s",
        # held every time at its capacity, broke 5 % above it
        "broke_rps": None if capacity is None else capacity * 1.05,
    }
    return Measured(**{**values, **fields})


SWEEP = [measured(1, 390.0), measured(2, 780.0), measured(3, 1000.0), measured(4, 1020.0), measured(6, 990.0)]


def test_the_best_the_configurations_within_noise_of_it_and_the_smallest_of_those():
    (found,) = recommend(SWEEP, cores=2)
    # 3 workers [1000, 1050] and 6 [990, 1039.5] overlap 4's [1020, 1071]; 2's [780, 819] does not
    assert (found.best.workers, found.smallest.workers) == (4, 3)
    assert [m.workers for m in found.within_noise] == [3, 4, 6]
    assert found.why.startswith(
        "most throughput: gunicorn-uvicorn 4 workers × 40 threads, pool 10, capacity [1020, 1071] rps "
        "[held every time, broke] (1020 served)"
    )
    assert (
        "; 3, 4 and 6 workers (gunicorn-uvicorn, 40 threads, pool 10) are within noise of each other "
        "(their intervals overlap the best's); 3 is the smallest: gunicorn-uvicorn 3 workers × 40 threads, "
        "pool 10, capacity [1000, 1050] rps"
    ) in found.why


def test_intervals_tell_configurations_apart_by_their_overlap_not_by_how_close_they_are():
    close = [measured(2, 1000.0, broke_rps=1010.0), measured(4, 1015.0, broke_rps=1030.0)]
    (found,) = recommend(close, cores=2)
    assert (found.smallest.workers, len(found.within_noise)) == (4, 1)  # 1.5 % apart, yet 2 broke where 4 held
    wide = [measured(2, 800.0, broke_rps=1100.0), measured(4, 1015.0, broke_rps=1030.0)]
    (found,) = recommend(wide, cores=2)
    assert (found.best.workers, found.smallest.workers) == (4, 2)  # 2 might hold up to 1100: within noise
    touching = [measured(2, 800.0, broke_rps=1015.0), measured(4, 1015.0, broke_rps=1030.0)]
    (found,) = recommend(touching, cores=2)
    assert found.smallest.workers == 4  # 2 broke at the rate 4 held every time
    never_broke = [measured(2, 990.0, broke_rps=None), measured(4, 1015.0)]  # 2 held up to its max rate
    (found,) = recommend(never_broke, cores=2)
    assert found.smallest.workers == 2


def test_smallest_counts_workers_times_threads_then_workers():
    sweep = [
        measured(4, 1000.0),
        measured(2, 980.0, threads=40),  # 80 threads in all
        measured(1, 990.0, threads=80),  # 80 threads too, in fewer workers
        measured(8, 985.0, threads=5),  # 40 threads in all: the smallest
    ]
    (found,) = recommend(sweep, cores=2)
    assert (found.smallest.workers, found.smallest.threads) == (8, 5)
    (without,) = recommend(sweep[:3], cores=2)
    assert (without.smallest.workers, without.smallest.threads) == (1, 80)


def test_when_the_best_is_also_the_smallest_it_says_so():
    (found,) = recommend([measured(1, 500.0), measured(2, 1000.0)], cores=2)
    assert found.best == found.smallest
    assert found.why.endswith("no other configuration's interval overlaps it")


def test_one_recommendation_per_target_and_scenario():
    sweep = [*SWEEP, measured(2, 5000.0, target="async"), measured(1, 90.0, scenario="io-db")]
    found = recommend(sweep, cores=2)
    assert [(r.target, r.scenario) for r in found] == [("async", "io-sleep"), ("sync", "io-db"), ("sync", "io-sleep")]
    assert found[0].best.capacity_rps == 5000.0


def test_a_saturated_generator_or_a_failed_search_is_never_recommended():
    sweep = [*SWEEP, measured(8, 3000.0, generator_saturated=True), measured(2, None, server="uvicorn-workers")]
    (found,) = recommend(sweep, cores=2)
    assert found.best.workers == 4
    assert found.why.endswith("(1 configuration left out: the generator saturated)")


def test_nothing_usable_says_why():
    (failed,) = recommend([measured(1, None), measured(2, None)], cores=2)
    assert (failed.best, failed.smallest) == (None, None)
    assert failed.why == "no configuration met the SLO, even at the search's start rate"
    (saturated,) = recommend([measured(1, None), measured(2, 900.0, generator_saturated=True)], cores=2)
    assert (
        saturated.why
        == "nothing to recommend: 1 of 2 configurations saturated the generator, the others never met the SLO"
    )
    assert saturated.folklore[0].measured is None
    assert saturated.folklore[0].note == "no capacity to compare: no configuration held a rate every time"


def test_folklore_worker_counts_with_what_they_measured_or_the_nearest_measured():
    gunicorn, uvicorn = recommend(SWEEP, cores=2)[0].folklore
    assert (gunicorn.workers, uvicorn.workers) == (5, 2)
    assert gunicorn.rule == "Gunicorn: (2 × cores) + 1 = (2 × 2) + 1"
    assert gunicorn.measured.workers == 4  # 5 not measured: 4 and 6 are as near, the fewer wins
    assert gunicorn.note.startswith("5 workers not measured; nearest measured, gunicorn-uvicorn 4 workers")
    assert (uvicorn.measured.workers, uvicorn.note) == (2, "gunicorn-uvicorn 2 workers × 40 threads, pool 10: 780 rps")


def test_folklore_says_no_capacity_for_a_worker_count_measured_without_one():
    # 2 workers searched, but no rate held every time (its only held rate broke on confirmation)
    sweep = [measured(1, 390.0), measured(2, None), measured(4, 1020.0, generator_saturated=True)]
    gunicorn, uvicorn = recommend(sweep, cores=2)[0].folklore
    assert uvicorn.note == (
        "2 workers: no capacity (no rate held every time); "
        "nearest measured, gunicorn-uvicorn 1 workers × 40 threads, pool 10: 390 rps"
    )
    gunicorn, _ = recommend(sweep, cores=2)[0].folklore  # 5: not searched at all
    assert gunicorn.note.startswith("5 workers not measured; nearest measured, gunicorn-uvicorn 1 workers")
    _, uvicorn = recommend([*sweep[:1], sweep[2]], cores=4)[0].folklore  # 4 workers: saturated
    assert uvicorn.note.startswith("4 workers: its generator saturated; nearest measured")


def test_folklore_prefers_its_own_server_kind():
    sweep = [*SWEEP, measured(2, 700.0, server="uvicorn-workers")]
    _, uvicorn = recommend(sweep, cores=2)[0].folklore
    assert (uvicorn.measured.server, uvicorn.measured.capacity_rps) == ("uvicorn-workers", 700.0)
    gunicorn, _ = recommend(sweep, cores=3)[0].folklore  # 7 workers: 6 is the nearest gunicorn one
    assert (gunicorn.workers, gunicorn.measured.workers) == (7, 6)


def test_a_recommendation_on_a_capacity_of_unknown_trust_says_so():
    sweep = [measured(1, 390.0), measured(2, 780.0, trust_unknown=("no generator CPU measured",))]
    (found,) = recommend(sweep, cores=2)
    assert found.best.workers == 2
    assert found.why.endswith(
        "; trust unknown for gunicorn-uvicorn 2 workers × 40 threads, pool 10 at its capacity: "
        "no generator CPU measured"
    )
    (known,) = recommend([measured(1, 390.0), measured(2, 780.0)], cores=2)
    assert "trust unknown" not in known.why
