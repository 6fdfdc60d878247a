"""The tests behind `loadlab compare`'s verdicts: each gives the ratio B ÷ A of one figure, its
(1 − alpha) interval and a p-value for "no change"; `adjust` corrects a family of p-values.

- Single runs, per-second series (throughput, mean latency): `block_bootstrap_ratio`, a circular
  block bootstrap (Politis and Romano's, drawn as arch's CircularBlockBootstrap draws it) of each
  run's mean. Seconds of a closed loop are autocorrelated (a slow second leaves users waiting into
  the next), so whole blocks of seconds are resampled, not single seconds; the block length is
  Politis and White's (arch's optimal_block_length), or n^(1/3) for series under 10 seconds, which
  are too short for it.
- Single runs against this machine's spread between runs: `Floor`, a t test of ln(B ÷ A) against
  the spread of A/A changes that `loadlab calibrate` measured (loadlab.tuning.noise_floor); the
  change at which it reaches alpha is the noise floor.
- Repeated runs (`--repeat N` on both sides): `repeat_test`, Welch's t test on the logarithms of the
  per-repeat figures, its interval that of the ratio of their geometric means. Not a permutation
  test: with 3 repeats a side its smallest two-sided p-value is 2 ÷ C(6, 3) = 0.1, so it could never
  pass; not a bootstrap of the medians: 3 values never resample past their own minimum and maximum.
- `adjust`: Benjamini–Hochberg (scipy.stats.false_discovery_control) over every figure of every
  point compared. When nothing changed (an A/A pair) it keeps the chance of any false alarm at
  alpha, as Holm would; when something did change it passes more of the figures that moved.
NumPy, SciPy and arch are imported inside the functions: the CLI's other commands do not pay for them.
"""

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.05
REPS = 2000  # bootstrap resamples: the smallest p-value is about 2 ÷ REPS
SHORT_SERIES = 10  # below this many seconds the block length is n^(1/3)

BOOTSTRAP = "circular block bootstrap of the per-second series"
WELCH = "Welch's t test on the logs of the per-repeat figures"
PERCENTILE = "order-statistic intervals from request counts"


@dataclass(frozen=True)
class Estimate:
    ratio: float  # B ÷ A
    low: float  # (1 − alpha) interval of the ratio
    high: float
    p_value: float  # of "the ratio is 1"
    method: str


def block_length(x: Sequence[float]) -> int:
    n = len(x)
    size = n ** (1 / 3)
    if n >= SHORT_SERIES:
        import numpy as np
        from arch.bootstrap import optimal_block_length

        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a constant series divides by zero; the fallback covers it
            try:
                found = float(optimal_block_length(np.asarray(x, dtype=float))["circular"].iloc[0])
            except (ValueError, ZeroDivisionError, FloatingPointError):
                found = math.nan
        if math.isfinite(found):
            size = found
    return max(1, min(n, math.ceil(size)))


def block_bootstrap_ratio(
    a: Sequence[float],
    b: Sequence[float],
    *,
    alpha: float = ALPHA,
    reps: int = REPS,
    seed: int = 0,
    block: int | None = None,
) -> Estimate:
    """Mean of B ÷ mean of A, each run's series resampled in circular blocks (of `block` seconds, by
    default `block_length`'s), independently."""
    import numpy as np

    rng = np.random.default_rng(seed)
    means = [_resampled_means(np.asarray(x, dtype=float), block or block_length(x), reps, rng) for x in (a, b)]
    with np.errstate(all="ignore"):
        ratios = means[1] / means[0]
        ratio = float(np.mean(b) / np.mean(a)) if np.mean(a) else math.inf
    ratios = ratios[~np.isnan(ratios)]
    low, high = (float(v) for v in np.quantile(ratios, [alpha / 2, 1 - alpha / 2]))
    below, above = int((ratios <= 1).sum()), int((ratios >= 1).sum())
    p = min(1.0, 2 * (min(below, above) + 1) / (len(ratios) + 1))
    return Estimate(ratio, low, high, p, BOOTSTRAP)


def _resampled_means(data, block: int, reps: int, rng):
    """The means of `reps` circular block resamples of `data`: each resample joins blocks of `block`
    consecutive values, starting anywhere and wrapping past the end, up to the series' length. One
    array operation for all resamples (arch's CircularBlockBootstrap draws the same, one resample at a time)."""
    import numpy as np

    n = len(data)
    blocks = -(-n // block)
    starts = rng.integers(0, n, size=(reps, blocks, 1))
    rows = ((starts + np.arange(block)) % n).reshape(reps, blocks * block)[:, :n]
    return data[rows].mean(axis=1)


def repeat_test(a: Sequence[float], b: Sequence[float], *, alpha: float = ALPHA) -> Estimate | None:
    """Welch's t test on ln of each repeat's figure; None with fewer than 2 a side or a value ≤ 0."""
    if min(len(a), len(b)) < 2 or min(*a, *b) <= 0:
        return None
    from scipy.stats import t

    la, lb = [math.log(v) for v in a], [math.log(v) for v in b]
    diff = sum(lb) / len(lb) - sum(la) / len(la)
    va, vb = (_var(x) / len(x) for x in (la, lb))
    se = math.sqrt(va + vb)
    if se == 0:
        return Estimate(math.exp(diff), math.exp(diff), math.exp(diff), 1.0 if diff == 0 else 0.0, WELCH)
    df = (va + vb) ** 2 / (va**2 / (len(la) - 1) + vb**2 / (len(lb) - 1))
    p = float(2 * t.sf(abs(diff) / se, df))
    half = float(t.ppf(1 - alpha / 2, df)) * se
    return Estimate(math.exp(diff), math.exp(diff - half), math.exp(diff + half), p, WELCH)


def _var(x: list[float]) -> float:
    mean = sum(x) / len(x)
    return sum((v - mean) ** 2 for v in x) / (len(x) - 1)


@dataclass(frozen=True)
class Floor:
    """One figure's noise between runs on this machine, from `loadlab calibrate`'s A/A pairs."""

    sd: float  # standard deviation of ln(B ÷ A) of two identical runs
    df: int  # its degrees of freedom
    alpha: float = ALPHA

    @property
    def log_bound(self) -> float:
        """|ln(B ÷ A)| beyond which a change is outside this machine's A/A noise (Student t, `df`)."""
        from scipy.stats import t

        return float(t.ppf(1 - self.alpha / 2, self.df)) * self.sd

    @property
    def relative(self) -> float:
        """The floor as a relative change upward (downward it is 1 − 1 ÷ (1 + this))."""
        return math.exp(self.log_bound) - 1

    def p_value(self, ratio: float) -> float:
        """Two-sided p of a change as large as ln(ratio) among this machine's A/A changes."""
        if not ratio > 0 or not math.isfinite(ratio):
            return 0.0
        if self.sd == 0:
            return 1.0 if ratio == 1 else 0.0
        from scipy.stats import t

        return float(2 * t.sf(abs(math.log(ratio)) / self.sd, self.df))


def adjust(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the same order."""
    if not p_values:
        return []
    from scipy.stats import false_discovery_control

    return [float(q) for q in false_discovery_control(list(p_values), method="bh")]
