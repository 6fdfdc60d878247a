import math

import numpy as np
import pytest

from loadlab.errors import LoadlabError
from loadlab.tuning import usl

WORKERS = np.array([1, 2, 3, 4, 6, 8])


def synthetic(lam: float, sigma: float, kappa: float, noise: float = 0.0, seed: int = 7) -> list[tuple[int, float]]:
    x = usl.throughput(WORKERS, lam, sigma, kappa)
    if noise:
        x = x * (1 + np.random.default_rng(seed).normal(0, noise, len(x)))
    return list(zip(WORKERS.tolist(), x.tolist(), strict=True))


def test_the_law_at_one_worker_is_lambda_and_bends_with_sigma_and_kappa():
    assert usl.throughput(1, 100, 0.3, 0.1) == pytest.approx(100)
    assert usl.throughput(4, 100, 0, 0) == pytest.approx(400)
    assert usl.throughput(4, 100, 0.1, 0) == pytest.approx(400 / 1.3)
    assert usl.throughput(4, 100, 0.1, 0.01) == pytest.approx(400 / 1.42)


def test_exact_points_give_back_their_parameters():
    fit = usl.fit(synthetic(100, 0.05, 0.002))
    assert (fit.lam, fit.sigma, fit.kappa) == (pytest.approx(100), pytest.approx(0.05), pytest.approx(0.002))
    assert fit.peak_n == pytest.approx(math.sqrt(0.95 / 0.002))
    assert fit.predict(10) == pytest.approx(usl.throughput(10, 100, 0.05, 0.002))


def test_noisy_points_give_back_their_parameters_roughly():
    fit = usl.fit(synthetic(100, 0.1, 0.02, noise=0.01))
    assert fit.lam == pytest.approx(100, rel=0.05)
    assert fit.sigma == pytest.approx(0.1, abs=0.03)
    assert fit.kappa == pytest.approx(0.02, abs=0.005)
    assert fit.peak_n == pytest.approx(math.sqrt(0.9 / 0.02), rel=0.1)


def test_linear_scaling_has_no_contention_and_no_peak_and_more_workers_help():
    fit = usl.fit(synthetic(250, 0, 0))
    assert (fit.sigma, fit.kappa, fit.peak_n) == (0.0, 0.0, None)
    assert fit.lam == pytest.approx(250)
    assert fit.more_workers_help
    assert fit.verdict.startswith("yes: throughput still grows linearly")


def test_contention_alone_levels_off_at_lambda_over_sigma():
    fit = usl.fit(synthetic(100, 0.2, 0))
    assert (fit.peak_n, fit.sigma) == (None, pytest.approx(0.2))
    assert fit.more_workers_help  # 500 rps at the limit against 333 at 8 workers
    assert "approaches 500 rps" in fit.verdict


def test_a_retrograde_curve_peaks_inside_the_range_and_more_workers_do_not_help():
    fit = usl.fit(synthetic(100, 0.1, 0.05))  # N* = √(0.9 / 0.05) ≈ 4.2
    assert fit.peak_n == pytest.approx(4.24, abs=0.01)
    assert fit.best_n == 4
    assert not fit.more_workers_help
    assert (
        fit.verdict.startswith("no: throughput peaks at N*=4.2 workers") and "within the measured range" in fit.verdict
    )


def test_a_peak_beyond_the_range_helps_only_when_the_gain_is_worth_it():
    far = usl.fit(synthetic(100, 0.05, 0.002))  # N* ≈ 21.8: 740 rps against 547 at 8 workers
    assert far.more_workers_help and far.verdict.startswith("yes: throughput peaks at N*=21.8")
    near = usl.fit(synthetic(100, 0.1, 0.012))  # N* ≈ 8.7, barely above the 8 workers measured
    assert near.peak_n > 8
    assert not near.more_workers_help and "beyond the 8 measured, but only" in near.verdict


def test_repeated_worker_counts_are_averaged_for_the_best_measured():
    fit = usl.fit([(1, 100), (2, 180), (2, 200), (4, 300), (4, 320)])
    assert (fit.best_n, fit.best_x, fit.max_n) == (4, 310, 4)


@pytest.mark.parametrize(
    ("points", "words"),
    [
        ([], "got 0 (none)"),
        ([(1, 100), (2, 190), (2, 195)], "got 2 (1, 2)"),
        ([(0, 0), (1, 100), (2, 190)], "worker counts must be ≥ 1"),
        ([(1, 100), (2, float("nan")), (3, 250)], "worker counts must be ≥ 1"),
        ([(1, 0), (2, 0), (3, 0)], "every throughput is 0"),
    ],
)
def test_too_little_or_bad_data_is_refused_with_a_clear_message(points, words):
    with pytest.raises(LoadlabError) as caught:
        usl.fit(points)
    assert words in str(caught.value)


def test_a_fit_that_levels_off_below_the_best_measured_says_below():
    # a noisy sweep: the best point sits above where the fitted curve levels off
    fit = usl.fit([(1, 1600.0), (2, 1300.0), (3, 1850.0), (4, 1580.0), (6, 1620.0), (8, 2060.0)])
    assert not fit.more_workers_help
    assert "below the best measured (2060 rps at 8 workers)" in fit.verdict and "-" not in fit.verdict.split("rps,")[-1]
