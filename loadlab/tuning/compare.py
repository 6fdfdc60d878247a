"""Did a figure of B change against A? The verdict on one figure, from the evidence the tests gave.

Every figure ends as one of four verdicts:
- regression / improvement: B's figure moved the worse / better way by more than `threshold`
  (default 10 %), by more than this machine's noise floor between runs where the runs are single
  (see loadlab.tuning.resample.Floor), and its test's p-value, adjusted by Benjamini–Hochberg over
  every figure compared, is below `ALPHA`;
- noise: any of those three fails; the reason says which;
- not enough data: there is nothing to test the change with (fewer than `MIN_SAMPLES` seconds, no
  Locust stats, no calibration for single runs) and it is beyond the threshold.
The tests (loadlab.tuning.resample) give the ratio B ÷ A with its interval. Which way is worse
depends on the figure: less throughput, more latency. Percentiles have no per-second samples
(Locust's history holds running percentiles, not per-second ones): each run's gets a
distribution-free interval from its request count (`quantile_interval`), and `percentile_estimate`
turns the pair into a ratio interval and a p-value.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

from loadlab.errors import LoadlabError
from loadlab.tuning.resample import ALPHA, PERCENTILE, Estimate, Floor

THRESHOLD = 0.10  # relative change beyond which a difference may count
MIN_SAMPLES = 5  # seconds per side, for the block bootstrap to be used

REGRESSION = "regression"
IMPROVEMENT = "improvement"
NOISE = "noise"
NOT_ENOUGH = "not enough data"
VERDICTS = (REGRESSION, IMPROVEMENT, NOISE, NOT_ENOUGH)

# the alphas tried, loosest first, to turn two intervals that must lie apart into a p-value
_ALPHAS = (0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001)


def relative_change(value_a: float, value_b: float) -> float:
    """(b − a) ÷ |a|; ±inf when a is 0 and b is not."""
    if value_a == value_b:
        return 0.0
    if value_a == 0:
        return math.copysign(math.inf, value_b)
    return (value_b - value_a) / abs(value_a)


def quantile_interval(q: float, n: int, known: Mapping[float, float], alpha: float = ALPHA) -> tuple[float, float]:
    """A distribution-free (1 − alpha) confidence interval of the q-quantile (e.g. 0.99 for p99) of
    what `n` requests measured, when only some of their quantiles are known (`known`: {quantile:
    value}, e.g. Locust's 50 %, 66 %, ... 100 % columns, 0 for the minimum). The true quantile lies
    between the order statistics of ranks r = B⁻¹(α/2) and s = B⁻¹(1 − α/2) + 1, B the binomial
    (n, q) (with probability ≥ 1 − α); each end is widened outward to the nearest known quantile,
    and clamped to the smallest and largest known (so with too few requests for the quantile, e.g.
    under ~370 for p99, the upper end is the maximum and the coverage less than 1 − alpha)."""
    if n <= 0 or not known:
        raise LoadlabError(f"no interval of a quantile from {n} requests and {len(known)} known quantiles")
    from scipy.stats import binom  # here, not at the top: the CLI's other commands do not pay its import

    r = float(binom.ppf(alpha / 2, n, q))
    s = float(binom.ppf(1 - alpha / 2, n, q)) + 1
    ranks = sorted(known)
    lower = [k for k in ranks if k * n <= r]
    upper = [k for k in ranks if k * n >= s]
    lo, hi = known[lower[-1] if lower else ranks[0]], known[upper[0] if upper else ranks[-1]]
    return min(lo, hi), max(lo, hi)  # rounded percentiles beside an exact minimum may cross


def percentile_estimate(
    q: float,
    value_a: float,
    value_b: float,
    pct_a: tuple[int, dict[float, float]],
    pct_b: tuple[int, dict[float, float]],
    alpha: float = ALPHA,
) -> Estimate | None:
    """The ratio of one percentile, B ÷ A, from each run's (requests, known quantiles): its interval
    is [low B ÷ high A, high B ÷ low A] of the two (1 − alpha) intervals; its p-value the smallest
    alpha tried at which the two intervals lie apart (apart at alpha, the test's size is below it)."""
    (a_lo, a_hi), (b_lo, b_hi) = quantile_interval(q, *pct_a, alpha), quantile_interval(q, *pct_b, alpha)
    if min(a_lo, value_a) <= 0:
        return None
    p = 1.0
    for level in _ALPHAS:
        (x_lo, x_hi), (y_lo, y_hi) = quantile_interval(q, *pct_a, level), quantile_interval(q, *pct_b, level)
        if not (y_lo > x_hi or y_hi < x_lo):
            break
        p = level
    return Estimate(value_b / value_a, b_lo / a_hi, b_hi / a_lo, p, PERCENTILE)


@dataclass
class Evidence:
    """What is known about one figure of one point, before the family's p-values are adjusted."""

    a: float
    b: float
    higher_is_better: bool
    estimate: Estimate | None = None  # None: nothing to test with (`missing` says why)
    floor: Floor | None = None  # this machine's noise between single runs
    needs_floor: bool = False  # single runs: the floor must be exceeded too
    missing: str = ""

    @property
    def change(self) -> float:
        return relative_change(self.a, self.b)

    @property
    def p_value(self) -> float | None:
        """The test's p, and where a floor applies the larger of it and the floor's (both must pass)."""
        if self.estimate is None:
            return None
        if self.needs_floor:
            if self.floor is None:
                return None
            return max(self.estimate.p_value, self.floor.p_value(self.b / self.a if self.a else math.inf))
        return self.estimate.p_value


def decide(e: Evidence, q_value: float | None, threshold: float = THRESHOLD, alpha: float = ALPHA) -> tuple[str, str]:
    """(verdict, reason) of one figure; `q_value` its p-value adjusted over the family."""
    change = e.change
    worse = change < 0 if e.higher_is_better else change > 0
    direction = REGRESSION if worse else IMPROVEMENT
    said = f"{e.a:.4g} → {e.b:.4g} ({change:+.1%})"
    if abs(change) <= threshold:
        return NOISE, f"{said}: within ±{threshold:.0%}"
    if e.estimate is None:
        return NOT_ENOUGH, f"{said}: not enough data: {e.missing or 'no test'}"
    interval = f"B/A {e.estimate.low:.3g}–{e.estimate.high:.3g} ({1 - alpha:.0%}, {e.estimate.method})"
    if e.needs_floor:
        if e.floor is None:
            return NOT_ENOUGH, f"{said}: no noise floor of this machine for it (run `loadlab calibrate`)"
        within = e.a > 0 and e.b > 0 and abs(math.log(e.b / e.a)) <= e.floor.log_bound
        if within:
            return NOISE, f"{said}: within this machine's A/A noise, ±{e.floor.relative:.1%} ({e.floor.df + 1} runs)"
    assert q_value is not None
    tested = f"{interval}; p = {e.p_value:.2g}, Benjamini–Hochberg q = {q_value:.2g}"
    if q_value >= alpha:
        return NOISE, f"{said}, but {tested} ≥ {alpha:g}: noise"
    if (e.estimate.ratio > 1) != (e.b > e.a):
        return NOISE, f"{said}, but the samples moved the other way ({tested}): noise"
    return direction, f"{said}: {tested} < {alpha:g}"
