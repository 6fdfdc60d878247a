"""The model, USL and recommendation a sweep stores, worked out from hand-made configuration results."""

from dataclasses import replace

import pytest

from loadlab.errors import LoadlabError
from loadlab.results.sweep import ConfigResult, Configuration, SweepStep, SweepSummary
from loadlab.sweep.configuration import start_from
from loadlab.sweep.settings import SweepConfig
from loadlab.tuning import analysis
from loadlab.tuning.usl import throughput


def measured(workers: int, capacity: float, *, target="sync", all_passed=False, cpu_ms=1.0) -> ConfigResult:
    config = Configuration(target, "io-sleep", "uvicorn-workers", workers, 4, 10)
    steps = [SweepStep(capacity, True, "a", capacity, 120.0, 0.0)]
    if not all_passed:
        steps.append(SweepStep(capacity * 1.05, False, "b", capacity, 900.0, 0.0, ["p99 900 ms > 500 ms"]))
    return ConfigResult(
        config,
        steps,
        capacity_rps=capacity,
        capacity_measured_rps=capacity,
        capacity_p99_ms=120.0,
        cpu_ms_per_request=cpu_ms,
        stopped="within 5%",
        broke_rps=None if all_passed else capacity * 1.05,
    )


def summary(configs: list[ConfigResult]) -> SweepSummary:
    s = SweepSummary("s", "complete", 0.0, {}, cores=2, configs=configs)
    analysis.analyse(s, max_connections=100)
    return s


def test_the_model_beside_a_sync_target_is_its_threads_and_the_ratio_is_measured_over_model():
    # sync io-sleep waits 100 ms holding a thread: 1 worker x 4 threads / 0.1 s = 40 rps
    s = summary([measured(1, 36.0)])
    model = s.configs[0].model
    assert model is not None
    assert model.binding == "threads"
    assert model.ceiling_rps == pytest.approx(40.0)
    assert model.ratio == pytest.approx(0.9)
    assert not model.hidden_limit


def test_far_below_the_model_is_flagged_as_a_hidden_limit():
    s = summary([measured(1, 10.0)])
    assert s.configs[0].model.hidden_limit
    assert "a limit the model does not know" in s.recommendations[0].why


def test_a_search_that_never_broke_is_not_called_a_hidden_limit():
    s = summary([measured(1, 10.0, all_passed=True)])
    assert not s.configs[0].model.hidden_limit
    assert "raise --max-rate" in s.recommendations[0].why


def test_the_usl_is_fitted_from_three_worker_counts_and_finds_the_peak():
    lam, sigma, kappa = 100.0, 0.05, 0.02  # peak at sqrt(0.95 / 0.02) = 6.9 workers
    configs = [measured(n, float(throughput(n, lam, sigma, kappa))) for n in (1, 2, 4, 8)]
    (curve,) = summary(configs).usl
    assert curve.workers == [1, 2, 4, 8]
    assert curve.sigma == pytest.approx(sigma, abs=0.01)
    assert curve.kappa == pytest.approx(kappa, abs=0.005)
    assert curve.peak_workers == pytest.approx(6.9, abs=0.5)


def test_no_usl_from_two_worker_counts():
    assert summary([measured(1, 40.0), measured(2, 80.0)]).usl == []


def test_the_recommendation_names_the_smallest_configuration_within_noise_of_the_best():
    s = summary([measured(1, 40.0), measured(2, 78.0), measured(4, 80.0)])
    (rec,) = s.recommendations
    assert rec.best == "sync-io-sleep-uvicorn-workers-w4-t4-p10"
    assert rec.smallest == "sync-io-sleep-uvicorn-workers-w2-t4-p10"
    assert [f.workers for f in rec.folklore] == [5, 2]  # Gunicorn's 2 x 2 + 1, Uvicorn's one per core


def test_the_matrix_leaves_out_what_cannot_run():
    config = SweepConfig(servers=["uvicorn", "uvicorn-workers"], workers=[1, 2], targets=["sync", "async"])
    found = config.configurations()
    assert {(c.server, c.workers) for c in found} == {("uvicorn", 1), ("uvicorn-workers", 1), ("uvicorn-workers", 2)}
    blocking = SweepConfig(targets=["sync", "async"], scenarios=["blocking-sleep"]).configurations()
    assert {c.target for c in blocking} == {"async"}  # the anti-pattern exists on the async target only


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"scenarios": ["nope"]}, "unknown scenario 'nope'"),
        ({"workers": [0]}, "workers must be whole numbers of at least 1"),
        ({"servers": ["nginx"]}, "unknown server 'nginx'"),
        ({"factor": 1.0}, "factor must be above 1"),
        ({"scenarios": ["cpu"]}, "no p99 limit for 'cpu'"),
    ],
)
def test_a_bad_sweep_is_refused_with_one_clear_line(change, words):
    config = SweepConfig(**change)
    with pytest.raises(LoadlabError, match=words):
        config.validate()


def test_searches_that_never_broke_are_left_out_of_the_usl():
    configs = [measured(n, 100.0 * n) for n in (1, 2)] + [measured(4, 250.0, all_passed=True)]
    assert summary(configs).usl == []  # two capacities and one max rate: nothing to fit


def test_a_configuration_stopped_by_the_generator_is_not_recommended():
    saturated = measured(4, 900.0)
    saturated.generator_saturated = True
    (rec,) = summary([measured(1, 40.0), measured(2, 80.0), saturated]).recommendations
    assert rec.best == "sync-io-sleep-uvicorn-workers-w2-t4-p10"
    assert "left out: the generator saturated" in rec.why


def test_a_search_starts_from_the_nearest_smaller_worker_count_of_the_same_configuration():
    settings = SweepConfig(start_rate=50, max_rate=5000).search()
    done = [measured(1, 400), measured(2, 800), measured(2, 1500, target="async")]
    s = SweepSummary("s", "running", 0.0, {}, cores=2, configs=done)
    four = Configuration("sync", "io-sleep", "uvicorn-workers", 4, 4, 10)
    assert start_from(s, four, settings) == 800  # workers 2, not 1, and not the async target's
    assert start_from(s, replace(four, threads=40), settings) == 50  # other threads: nothing to go by
    assert start_from(s, replace(four, workers=1), settings) == 50  # nothing smaller
    done[1].generator_saturated = True  # a capacity the generator set says nothing about the target
    assert start_from(s, four, settings) == 400
    assert start_from(s, four, replace(settings, max_rate=300)) == 300


def test_a_capacity_whose_trust_was_not_judged_is_recommended_only_with_a_warning():
    """From the step's point to the printed table: the generator's CPU was not measured at the
    capacity step, so the step holds on the rest, and the recommendation and the table say so."""
    from loadlab.console.sweep_table import capacities
    from loadlab.console.table import console
    from loadlab.judge.capacity import judge_step
    from tests.unit.factories import point

    blind = point(load_model="open", users=None, rate=80.0, rps=79.0, late=0.0, generator_cpu_max=None)
    verdict = judge_step(blind, 80.0, 500.0, 0.01)
    unjudged = measured(4, 80.0)
    unjudged.steps[0] = SweepStep(80.0, verdict.passed, "a", 79.0, 120.0, 0.0, verdict.why)
    s = summary([measured(1, 40.0), unjudged])
    (rec,) = s.recommendations
    assert rec.smallest == "sync-io-sleep-uvicorn-workers-w4-t4-p10"
    assert rec.why.endswith(
        "; trust unknown for uvicorn-workers 4 workers × 4 threads, pool 10 at its capacity: no generator CPU measured"
    )
    assert analysis.trust_unknown_at_capacity(unjudged) == ["no generator CPU measured"]
    assert analysis.trust_unknown_at_capacity(s.configs[0]) == []
    out = console()
    with out.capture() as captured:
        out.print(capacities(s))
    flagged = [r.split()[3] for r in captured.get().splitlines() if "(trust unknown)" in r]
    assert flagged == ["4"]  # the workers column of the one configuration whose trust is unknown


def interval(workers: int, held: float, broke: float | None, **kw) -> ConfigResult:
    """A configuration whose capacity interval is [held, broke]: held every time, broke at least once."""
    r = measured(workers, held, all_passed=broke is None, **kw)
    if broke is not None:
        r.steps[1].rate = r.broke_rps = broke
    return r


def printed(s: SweepSummary) -> str:
    from loadlab.console.sweep_table import show
    from loadlab.console.table import console

    out = console()
    with out.capture() as captured:
        show(s, out)
    return captured.get()


def test_configurations_whose_intervals_overlap_the_best_are_within_noise_and_the_smallest_is_recommended():
    s = summary([interval(1, 380, 400), interval(2, 700, 900), interval(3, 760, 800), interval(4, 790, 850)])
    (rec,) = s.recommendations
    assert rec.best == "sync-io-sleep-uvicorn-workers-w4-t4-p10"  # the highest rate held every time
    assert rec.within_noise == [f"sync-io-sleep-uvicorn-workers-w{n}-t4-p10" for n in (2, 3, 4)]
    assert rec.smallest == "sync-io-sleep-uvicorn-workers-w2-t4-p10"
    assert "2, 3 and 4 workers (uvicorn-workers, 4 threads, pool 10) are within noise of each other" in rec.why
    assert "; 2 is the smallest: uvicorn-workers 2 workers × 4 threads, pool 10, capacity [700, 900] rps" in rec.why
    text = printed(s)
    assert "recommended for sync io-sleep: sync-io-sleep-uvicorn-workers-w2-t4-p10" in text
    assert "within noise of the best: sync-io-sleep-uvicorn-workers-w2-t4-p10, sync-io-sleep-uvicorn-workers-w3" in text
    # 1 worker broke at 400, below the 790 that 4 held every time: told apart
    (apart,) = summary([interval(1, 380, 400), interval(4, 790, 850)]).recommendations
    assert apart.within_noise == ["sync-io-sleep-uvicorn-workers-w4-t4-p10"]


def test_the_table_prints_each_capacity_as_its_interval_and_how_often_its_ends_were_measured():
    r = interval(2, 700, 900)
    r.steps += [SweepStep(700, True, "a", 690, 120, 0.0), SweepStep(900, True, "a", 880, 300, 0.0)]
    s = summary([r, interval(4, 790, None)])
    assert (r.interval, r.confirmed) == ("[700, 900]", "held 2/2, broke 1/2")
    rows = [line.split() for line in printed(s).splitlines()]
    assert "[held every time, broke]" in printed(s)
    assert rows[2][3:12] == ["2", "4", "10", "[700,", "900]", "held", "2/2,", "broke", "1/2"]
    assert rows[3][3:10] == ["4", "4", "10", "[790,", "-]", "held", "1/1"]  # never broke: no upper end


def test_the_usl_is_fitted_only_on_configurations_the_recommendation_would_use():
    lam, sigma, kappa = 100.0, 0.05, 0.02
    good = [interval(n, float(throughput(n, lam, sigma, kappa)), float(throughput(n, lam, sigma, kappa)) * 1.02)
            for n in (1, 2, 4)]  # fmt: skip
    saturated = interval(6, 900.0, 950.0)
    saturated.generator_saturated = True
    capped = interval(8, 2000.0, None)  # held at the max rate: no limit found
    blind = interval(12, 50.0, 60.0)
    blind.steps[0].why = ["trust unknown: no generator CPU measured"]
    s = summary([*good, saturated, capped, blind])
    (curve,) = s.usl
    assert curve.workers == [1, 2, 4]  # not 6 (the generator's), 8 (capped) or 12 (trust unknown)
    assert {r.config.workers for r in s.configs if analysis.fits_usl(r)} == {1, 2, 4}
    (rec,) = s.recommendations
    assert "sync-io-sleep-uvicorn-workers-w6-t4-p10" not in rec.within_noise  # nor in the recommendation
    assert summary([*good[:2], saturated]).usl == []  # two worker counts left: nothing to fit


def test_n_star_with_its_range_and_not_determined_where_the_range_is_wider_than_the_workers_measured():
    def sweep(width: float) -> SweepSummary:
        capacities = {n: float(throughput(n, 100.0, 0.05, 0.02)) for n in (1, 2, 4, 8, 12)}
        return summary([interval(n, x, x * (1 + width)) for n, x in capacities.items()])

    (narrow,) = sweep(0.02).usl  # peak at sqrt(0.95 / 0.02) = 6.9 workers
    assert narrow.peak_determined and narrow.peak_range[0] < 6.9 < narrow.peak_range[1]
    assert narrow.peak_range[1] - narrow.peak_range[0] < 1.0
    assert narrow.sigma_range[0] <= narrow.sigma <= narrow.sigma_range[1]
    assert narrow.kappa_range[0] <= narrow.kappa <= narrow.kappa_range[1]
    assert narrow.peak.startswith("6.9 (")
    assert narrow.verdict.startswith("no: throughput peaks at N*=6.9 workers (σ=0.05 (")
    (wide,) = sweep(0.6).usl  # the same capacities, each known only within 60 %
    assert not wide.peak_determined and wide.peak_range[1] is None  # κ's range reaches 0: maybe no peak
    assert wide.peak.startswith("not determined (")
    assert wide.verdict.startswith("not determined: N*'s 95% range, ")
    assert "to no peak at all, is wider than the 1 to 12 workers measured" in wide.verdict
    assert "N* not determined (" in printed(sweep(0.6))
    assert "peaks at N*" not in printed(sweep(0.6))


def test_a_sweep_json_from_before_the_intervals_still_reads(tmp_path):
    s = summary([measured(1, 40.0), measured(2, 80.0), measured(4, 150.0)])
    data = s.to_dict()
    for c in data["configs"]:
        del c["broke_rps"]
    for u in data["usl"]:
        for key in ("sigma_range", "kappa_range", "peak_range", "peak_determined"):
            del u[key]
    for rec in data["recommendations"]:
        del rec["within_noise"]
    old = SweepSummary.from_dict(data, "old sweep.json")
    assert old.configs[0].broke_rps is None and old.configs[0].interval == "[40, -]"
    assert old.usl[0].peak_range is None and old.usl[0].peak_determined
    assert "recommended for sync io-sleep" in printed(old)


def test_a_sweep_with_no_postgresql_before_it_takes_max_connections_from_its_runs(tmp_path):
    """No server answered when the sweep started: each run started a private one and said its figure."""
    from loadlab.results.folder import RunFolder
    from loadlab.results.point import RunSummary
    from loadlab.sweep.engine import Sweep

    sweep = Sweep(SweepConfig(sweep_id="s", results_root=str(tmp_path)))
    c = Configuration("sync", "io-db", "uvicorn-workers", 2, 40, 10)
    steps = [SweepStep(50.0, True, "r1", 50.0, 110.0, 0.0), SweepStep(100.0, False, "r2", 80.0, 900.0, 0.0)]
    result = ConfigResult(c, steps=steps)
    for run_id, said in (("r1", 200), ("r2", None)):
        folder = RunFolder.create(sweep.layout.steps_dir, run_id)
        folder.write_summary(RunSummary(run_id, "complete", 0.0, {}, database_max_connections=said))
    assert sweep.asked_by_runs(result) == 200  # the newest step that says
    assert sweep.asked_by_runs(ConfigResult(c)) is None  # no run yet
