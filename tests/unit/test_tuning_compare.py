"""The statistics behind `loadlab compare` (loadlab.tuning.resample, loadlab.tuning.compare): the
block bootstrap, the repeat test, the noise floor, Benjamini–Hochberg, and the verdict per figure."""

import math

import numpy as np
import pytest

from loadlab.errors import LoadlabError
from loadlab.tuning import compare as cmp
from loadlab.tuning import resample
from loadlab.tuning.resample import Estimate, Floor


def ar1(phi: float, n: int, seed: int, center: float = 500.0, sd: float = 20.0) -> list[float]:
    """An AR(1) series with the same marginal spread `sd` whatever `phi`."""
    rng = np.random.default_rng(seed)
    x, out = 0.0, []
    for e in rng.normal(0, sd * math.sqrt(1 - phi**2), n):
        x = phi * x + e
        out.append(center + x)
    return out


# ---------------------------------------------------------------- block bootstrap


def width(phi: float, block: int | None = None) -> float:
    """The median width of the interval of B ÷ A over 5 pairs of 60-second series alike."""
    found = [
        resample.block_bootstrap_ratio(ar1(phi, 60, s), ar1(phi, 60, s + 100), block=block, reps=400) for s in range(5)
    ]
    return float(np.median([e.high - e.low for e in found]))


def test_the_block_bootstraps_interval_widens_with_autocorrelation():
    # the same spread each second, but strongly autocorrelated seconds hold less information
    assert width(0.9) > 1.5 * width(0.0)
    # resampling single seconds (blocks of 1) would not see it: its interval stays as narrow as for independent ones
    assert width(0.9, block=1) < 1.2 * width(0.0)
    assert resample.block_length(ar1(0.9, 60, 1)) > resample.block_length(ar1(0.0, 60, 1))


@pytest.mark.parametrize(("n", "block"), [(60, 5), (31, 4), (9, 9)])
def test_the_resampled_means_spread_as_archs_circular_block_bootstrap_does(n, block):
    from arch.bootstrap import CircularBlockBootstrap

    data = np.asarray(ar1(0.7, n, 3))
    ours = resample._resampled_means(data, block, 4000, np.random.default_rng(1))
    theirs = CircularBlockBootstrap(block, data, seed=2).apply(np.mean, 4000)[:, 0]
    assert ours.mean() == pytest.approx(data.mean(), rel=1e-3)
    assert ours.std() == pytest.approx(theirs.std(), rel=0.08)  # 4000 draws each: their sds agree within ~3 %
    assert ours.min() >= data.min() and ours.max() <= data.max()


def test_the_block_bootstrap_finds_a_clear_drop_and_not_an_equal_pair():
    a, b = ar1(0.5, 30, 1), [0.8 * v for v in ar1(0.5, 30, 2)]
    drop = resample.block_bootstrap_ratio(a, b)
    assert drop.ratio == pytest.approx(0.8, abs=0.02) and drop.high < 0.9 and drop.p_value < 0.01
    same = resample.block_bootstrap_ratio(a, a)
    assert same.ratio == 1 and same.low < 1 < same.high and same.p_value > 0.5
    # short series get n^(1/3): 5 seconds → blocks of 2
    assert resample.block_length([1.0, 2.0, 3.0, 4.0, 5.0]) == 2
    assert resample.block_length([7.0] * 30) >= 1  # constant: arch cannot estimate it, the fallback does


# ---------------------------------------------------------------- repeats


def test_the_repeat_test_on_per_repeat_figures():
    slow = resample.repeat_test([400, 410, 395], [320, 330, 318])
    assert slow.ratio == pytest.approx(0.8, abs=0.01) and slow.high < 0.85 and slow.p_value < 0.001
    assert slow.method == resample.WELCH
    alike = resample.repeat_test([400, 410, 395], [405, 398, 402])
    assert alike.low < 1 < alike.high and alike.p_value > 0.5
    noisy = resample.repeat_test([400, 300, 500], [320, 420, 260])  # −20 % on the medians, but the spread is wider
    assert noisy.p_value > 0.05
    assert resample.repeat_test([400], [320, 330]) is None  # one repetition has no spread
    assert resample.repeat_test([5, 5], [5, 5]).p_value == 1.0
    assert resample.repeat_test([5, 5], [4, 4]).p_value == 0.0


# ---------------------------------------------------------------- the noise floor and the family


def test_the_floor_is_the_change_a_t_test_of_the_aa_spread_puts_at_alpha():
    f = Floor(sd=0.05, df=3)
    assert f.log_bound == pytest.approx(3.182 * 0.05, rel=1e-3)  # t(0.975, 3 d.f.)
    assert f.relative == pytest.approx(math.exp(3.182 * 0.05) - 1, rel=1e-3)
    assert f.p_value(math.exp(f.log_bound)) == pytest.approx(0.05, rel=1e-6)
    assert f.p_value(0.7) < 0.01 and f.p_value(1.0) == 1.0
    assert Floor(0.05, 10).relative < f.relative  # more runs, a tighter floor


def test_benjamini_hochberg_on_a_made_up_family():
    ps = [0.01, 0.04, 0.03, 0.005, 0.2]
    # sorted 0.005, 0.01, 0.03, 0.04, 0.2 → × 5/rank → 0.025, 0.025, 0.05, 0.05, 0.2, kept monotone
    assert resample.adjust(ps) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.2])
    assert resample.adjust([]) == []
    # 20 figures of an A/A pair: the smallest raw p of 0.01 passes alone, not after the correction
    family = [0.01, *np.linspace(0.06, 0.95, 19)]
    assert min(resample.adjust(family)) > 0.05


def test_quantile_intervals_narrow_with_more_requests():
    known = {0.0: 90, 0.5: 100, 0.9: 110, 0.95: 120, 0.98: 130, 0.99: 150, 0.999: 200, 1.0: 300}
    assert cmp.quantile_interval(0.5, 10, known) == (90, 110)  # the nearest known quantiles, outward
    assert cmp.quantile_interval(0.99, 100, known) == (120, 300)  # too few requests: up to the maximum
    assert cmp.quantile_interval(0.99, 100_000, known) == (130, 200)
    with pytest.raises(LoadlabError):
        cmp.quantile_interval(0.99, 0, known)


def test_percentile_estimates_give_an_interval_of_the_ratio_and_a_p_value():
    fast = (5000, {0.0: 90, 0.5: 100, 0.95: 120, 0.99: 150, 1.0: 300})
    slow = (5000, {0.0: 150, 0.5: 200, 0.95: 240, 0.99: 300, 1.0: 600})
    apart = cmp.percentile_estimate(0.5, 100, 200, fast, slow)
    assert apart.ratio == 2 and apart.low > 1 and apart.p_value <= 0.001
    same = cmp.percentile_estimate(0.5, 100, 100, fast, fast)
    assert same.low <= 1 <= same.high and same.p_value == 1.0


# ---------------------------------------------------------------- the four verdicts


def evidence(a: float, b: float, p: float = 0.001, floor: Floor | None = None, needs_floor: bool = False, **kw):
    estimate = Estimate(b / a, b / a - 0.02, b / a + 0.02, p, resample.BOOTSTRAP)
    return cmp.Evidence(a, b, True, kw.pop("estimate", estimate), floor, needs_floor, **kw)


@pytest.mark.parametrize(
    ("case", "q", "verdict", "words"),
    [
        (evidence(100, 70), 0.002, cmp.REGRESSION, ["-30.0%", "Benjamini–Hochberg q = 0.002", "B/A 0.68–0.72"]),
        (evidence(100, 130), 0.002, cmp.IMPROVEMENT, ["+30.0%"]),
        (evidence(100, 105), 0.002, cmp.NOISE, ["within ±10%"]),
        (evidence(100, 70, p=0.2), 0.3, cmp.NOISE, ["q = 0.3 ≥ 0.05: noise"]),
        (evidence(100, 70, needs_floor=True, floor=Floor(0.2, 3)), 0.002, cmp.NOISE, ["A/A noise", "(4 runs)"]),
        (evidence(100, 70, needs_floor=True, floor=Floor(0.02, 3)), 0.002, cmp.REGRESSION, ["-30.0%"]),
        (evidence(100, 70, needs_floor=True), None, cmp.NOT_ENOUGH, ["loadlab calibrate"]),
        (evidence(100, 70, estimate=None, missing="3 seconds"), None, cmp.NOT_ENOUGH, ["not enough data: 3 seconds"]),
        (evidence(100, 105, estimate=None, missing="3 seconds"), None, cmp.NOISE, ["within ±10%"]),
    ],
)
def test_every_figure_ends_as_one_of_four_verdicts(case, q, verdict, words):
    found, reason = cmp.decide(case, q)
    assert found == verdict and found in cmp.VERDICTS, reason
    assert all(w in reason for w in words), reason


def test_a_floor_makes_the_p_value_the_larger_of_the_two_tests():
    within_run_only = evidence(100, 80, p=0.001)
    assert within_run_only.p_value == 0.001
    wide = evidence(100, 80, p=0.001, floor=Floor(0.1, 3), needs_floor=True)
    assert wide.p_value == pytest.approx(Floor(0.1, 3).p_value(0.8)) and wide.p_value > 0.05
    assert evidence(100, 80, needs_floor=True).p_value is None  # no floor: nothing to adjust
    assert math.isinf(cmp.relative_change(0.0, 5.0))
