"""The model, USL and recommendation a sweep stores, worked out from hand-made configuration results."""

from dataclasses import replace

import pytest

from loadlab.errors import LoadlabError
from loadlab.results.sweep import ConfigResult, Configuration, SweepStep, SweepSummary
from loadlab.tuning import analysis
from loadlab.tuning.config_search import start_from
from loadlab.tuning.sweep_config import SweepConfig
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


def test_the_recommendation_names_the_smallest_configuration_near_the_best():
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
