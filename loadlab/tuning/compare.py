"""Did run B regress against run A? A verdict per figure that allows for the machine's noise.

Two runs of the same thing never measure exactly the same. A difference counts only when it is
both large and unlikely to be chance:
- large: B's figure differs from A's by more than `threshold` (default 10 %): the median of the
  samples with `compare`, or each run's own figure (e.g. its p99) with `judge`;
- not chance: where both runs have per-second samples (at least `MIN_SAMPLES` each), a two-sided
  Mann–Whitney U test says the two sets of samples differ (p < `ALPHA`). It compares ranks, so it
  assumes nothing about the samples' distribution, and one slow second cannot sway it much.
A large difference the test cannot tell from chance is "noise"; with too few samples the threshold
decides alone, and the verdict says so. A figure with no samples but a confidence interval per side
(a percentile from its request count: `quantile_interval`) is noise while the intervals overlap
(`judge_intervals`). Which way is worse depends on the figure: less throughput,
more latency.
"""

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from loadlab.errors import LoadlabError
from loadlab.results.point import PointResult

THRESHOLD = 0.10  # relative change of the median beyond which a difference may count
ALPHA = 0.05  # significance level of the test
MIN_SAMPLES = 5  # per side, for the test to be used

REGRESSED = "regressed"
IMPROVED = "improved"
UNCHANGED = "unchanged"
NOISE = "noise"  # beyond the threshold, but the test cannot tell it from chance
THRESHOLD_ONLY = "no samples: threshold only"

# The figures of a point compared by `compare_points`: True when higher is better.
FIGURES: dict[str, bool] = {"rps": True, "p50_ms": False, "p95_ms": False, "p99_ms": False}


@dataclass(frozen=True)
class Comparison:
    verdict: str  # REGRESSED, IMPROVED, UNCHANGED or NOISE
    a: float  # median of A
    b: float  # median of B
    change: float  # (b − a) ÷ a; ±inf when a is 0 and b is not
    p_value: float | None  # None: too few samples, the threshold decided alone
    reason: str


def compare(
    a: Sequence[float],
    b: Sequence[float],
    *,
    higher_is_better: bool,
    threshold: float = THRESHOLD,
    alpha: float = ALPHA,
) -> Comparison:
    """B against A: samples of one figure (e.g. throughput per second), or a single value per side."""
    if not a or not b:
        raise LoadlabError(f"nothing to compare: run A has {len(a)} samples and run B {len(b)}")
    return judge(
        statistics.median(a),
        statistics.median(b),
        a,
        b,
        higher_is_better=higher_is_better,
        threshold=threshold,
        alpha=alpha,
        what="median ",
    )


def judge(
    value_a: float,
    value_b: float,
    samples_a: Sequence[float] = (),
    samples_b: Sequence[float] = (),
    *,
    higher_is_better: bool,
    threshold: float = THRESHOLD,
    alpha: float = ALPHA,
    what: str = "",
) -> Comparison:
    """B against A on one figure's values (e.g. each run's p99 over its whole measured window); the
    samples (e.g. per second), where both sides have `MIN_SAMPLES`, only feed the test. A significant
    test whose samples move the other way than the values is noise too. `what` prefixes the reason."""
    change, direction, said = _change(value_a, value_b, higher_is_better, what)
    if abs(change) <= threshold:
        return Comparison(UNCHANGED, value_a, value_b, change, None, f"{said}: within ±{threshold:.0%}")
    if min(len(samples_a), len(samples_b)) < MIN_SAMPLES:
        return Comparison(direction, value_a, value_b, change, None, f"{said}: {THRESHOLD_ONLY}")
    from scipy.stats import mannwhitneyu  # here, not at the top: the CLI's other commands do not pay its import

    p = float(mannwhitneyu(samples_a, samples_b, alternative="two-sided").pvalue)
    test = f"Mann–Whitney p={p:.2g}"
    if p >= alpha:
        return Comparison(NOISE, value_a, value_b, change, p, f"{said}, but {test} ≥ {alpha:g}: noise")
    if (statistics.median(samples_b) > statistics.median(samples_a)) != (value_b > value_a):
        return Comparison(
            NOISE, value_a, value_b, change, p, f"{said}, but the samples moved the other way ({test}): noise"
        )
    return Comparison(direction, value_a, value_b, change, p, f"{said}, {test} < {alpha:g}")


def _change(value_a: float, value_b: float, higher_is_better: bool, what: str) -> tuple[float, str, str]:
    """(relative change, the verdict should it count, the phrase saying it)."""
    if value_a == value_b:
        change = 0.0
    elif value_a == 0:
        change = math.copysign(math.inf, value_b)
    else:
        change = (value_b - value_a) / abs(value_a)
    worse = change < 0 if higher_is_better else change > 0
    return change, REGRESSED if worse else IMPROVED, f"{what}{value_a:.4g} → {value_b:.4g} ({change:+.1%})"


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


def judge_intervals(
    value_a: float,
    value_b: float,
    interval_a: tuple[float, float] | None,
    interval_b: tuple[float, float] | None,
    *,
    higher_is_better: bool,
    threshold: float = THRESHOLD,
    alpha: float = ALPHA,
    what: str = "",
) -> Comparison:
    """B against A on one figure per side with a confidence interval each (see `quantile_interval`),
    where there are no samples to test: beyond the threshold and intervals apart counts; beyond the
    threshold with overlapping intervals is noise. Without both intervals the threshold decides alone.
    The Comparison's p_value is None: there is no test statistic."""
    change, direction, said = _change(value_a, value_b, higher_is_better, what)
    if abs(change) <= threshold:
        return Comparison(UNCHANGED, value_a, value_b, change, None, f"{said}: within ±{threshold:.0%}")
    if interval_a is None or interval_b is None:
        return Comparison(direction, value_a, value_b, change, None, f"{said}: {THRESHOLD_ONLY}")
    (a_lo, a_hi), (b_lo, b_hi) = interval_a, interval_b
    said_i = f"{1 - alpha:.0%} intervals [{a_lo:.4g}, {a_hi:.4g}] and [{b_lo:.4g}, {b_hi:.4g}]"
    if b_lo > a_hi or b_hi < a_lo:
        if (b_lo > a_hi) == (value_b > value_a):
            return Comparison(direction, value_a, value_b, change, None, f"{said}: {said_i} are apart")
        return Comparison(NOISE, value_a, value_b, change, None, f"{said}, but {said_i} lie the other way: noise")
    return Comparison(NOISE, value_a, value_b, change, None, f"{said}, but {said_i} overlap: noise")


def compare_points(
    a: PointResult,
    b: PointResult,
    samples: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    threshold: float = THRESHOLD,
) -> dict[str, Comparison]:
    """Each figure of `FIGURES` of point B against point A: from per-second samples where `samples`
    has them ({figure: (samples of A, samples of B)}), else from the points' own figures. A figure
    either point lacks is left out."""
    found = {}
    for figure, higher_is_better in FIGURES.items():
        if samples and figure in samples:
            of_a, of_b = samples[figure]
        else:
            value_a, value_b = getattr(a, figure), getattr(b, figure)
            if value_a is None or value_b is None:
                continue
            of_a, of_b = [value_a], [value_b]
        if of_a and of_b:
            found[figure] = compare(of_a, of_b, higher_is_better=higher_is_better, threshold=threshold)
    return found


def regressed(comparisons: Mapping[str, Comparison]) -> list[str]:
    """The figures that regressed, each as one phrase; [] when none did."""
    return [f"{figure} regressed: {c.reason}" for figure, c in comparisons.items() if c.verdict == REGRESSED]
