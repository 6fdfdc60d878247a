import math

import numpy as np
import pytest

from loadlab.errors import LoadlabError
from loadlab.tuning import compare as cmp
from tests.unit.factories import point


def per_second(center: float, spread: float, seconds: int = 30, seed: int = 1) -> list[float]:
    return np.random.default_rng(seed).normal(center, spread, seconds).tolist()


def test_a_run_against_itself_is_unchanged():
    a = per_second(800, 20)
    found = cmp.compare(a, a, higher_is_better=True)
    assert (found.verdict, found.change) == (cmp.UNCHANGED, 0.0)


def test_throughput_that_clearly_drops_is_a_regression():
    found = cmp.compare(per_second(800, 20, seed=1), per_second(600, 20, seed=2), higher_is_better=True)
    assert found.verdict == cmp.REGRESSED
    assert found.change == pytest.approx(-0.25, abs=0.03)
    assert found.p_value < 1e-6
    assert "Mann–Whitney" in found.reason


def test_direction_depends_on_the_figure_latency_up_is_worse():
    fast, slow = per_second(100, 5, seed=3), per_second(150, 5, seed=4)
    assert cmp.compare(fast, slow, higher_is_better=False).verdict == cmp.REGRESSED
    assert cmp.compare(slow, fast, higher_is_better=False).verdict == cmp.IMPROVED
    assert cmp.compare(fast, slow, higher_is_better=True).verdict == cmp.IMPROVED


def test_a_small_shift_within_the_threshold_is_unchanged_even_when_significant():
    found = cmp.compare(per_second(800, 2, seed=5), per_second(760, 2, seed=6), higher_is_better=True)
    assert found.verdict == cmp.UNCHANGED  # -5 %: real, but within 10 %
    assert found.p_value is None


def test_a_large_difference_of_medians_from_noisy_samples_is_noise():
    rng = np.random.default_rng(8)
    a = rng.uniform(100, 1000, 6).tolist()
    b = (np.array(a) * 0.8).tolist()  # 20 % lower medians, but the samples overlap almost entirely
    found = cmp.compare(a, b, higher_is_better=True)
    assert found.change == pytest.approx(-0.2)
    assert found.verdict == cmp.NOISE and found.p_value >= 0.05
    assert found.reason.endswith("noise")


def test_with_too_few_samples_the_threshold_decides_alone_and_says_so():
    found = cmp.compare([800, 810, 790, 805], [600, 610, 590, 605], higher_is_better=True)
    assert (found.verdict, found.p_value) == (cmp.REGRESSED, None)
    assert found.reason.endswith(cmp.THRESHOLD_ONLY)
    assert cmp.compare([800.0], [900.0], higher_is_better=True).verdict == cmp.IMPROVED


def test_a_zero_baseline_is_an_infinite_change():
    found = cmp.compare([0.0], [10.0], higher_is_better=False)
    assert (found.change, found.verdict) == (math.inf, cmp.REGRESSED)


def test_nothing_to_compare_is_refused():
    with pytest.raises(LoadlabError, match="run A has 0 samples and run B 3"):
        cmp.compare([], [1, 2, 3], higher_is_better=True)


def test_points_are_compared_figure_by_figure_from_samples_where_given():
    a = point(rps=900.0, p50_ms=100.0, p95_ms=120.0, p99_ms=150.0)
    b = point(rps=700.0, p50_ms=101.0, p95_ms=None, p99_ms=300.0)
    samples = {"rps": (per_second(900, 10, seed=9), per_second(890, 10, seed=10))}
    found = cmp.compare_points(a, b, samples)
    assert set(found) == {"rps", "p50_ms", "p99_ms"}  # p95 not measured in B
    assert found["rps"].verdict == cmp.UNCHANGED  # the samples, not the points' 900 → 700
    assert found["p50_ms"].verdict == cmp.UNCHANGED
    assert found["p99_ms"].verdict == cmp.REGRESSED
    assert cmp.regressed(found) == [f"p99_ms regressed: {found['p99_ms'].reason}"]
    assert cmp.regressed(cmp.compare_points(a, a)) == []
