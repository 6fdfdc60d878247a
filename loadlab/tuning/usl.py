"""The Universal Scalability Law (Neil Gunther), fitted to throughput against worker count.

    X(N) = λN / (1 + σ(N−1) + κN(N−1))

N workers would ideally give λN: λ is one worker's throughput. Two costs bend the line:
- σ, contention: the share of the work that is serialised (a lock, one shared resource); on its
  own it flattens the curve towards λ/σ;
- κ, coherency: the cost of workers keeping each other in step, growing with the pairs of
  workers; with it the curve has a peak at N* = √((1−σ)/κ) and falls beyond it (retrograde).

The fit is least squares (SciPy's `curve_fit`) with λ > 0, 0 ≤ σ ≤ 1 and κ ≥ 0. Three
parameters need at least three distinct worker counts. The fit only extends the measured curve's
shape: it knows nothing of the machine, so a peak beyond the core count is a hint, not a promise.

Given each point's standard uncertainty, the fit weighs the points by it and gives 95 % ranges
for σ, κ and N* (`Spread`) from its covariance: curve_fit's pcov with those uncertainties taken
as absolute, widened by the reduced χ² when the points scatter more than their uncertainties
say (with more points than parameters). N* = √((1−σ)/κ) is far from linear near κ = 0, so its
range comes from `DRAWS` parameter sets drawn from that covariance (a fixed seed: the same points
give the same range), not from a linearised formula. Where N*'s range is wider than the measured
worker counts, the data do not determine it, and the verdict says so rather than name a peak.
"""

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from loadlab.errors import LoadlabError

MIN_GAIN = 0.05  # more workers "help" when the fit predicts at least this much above the best measured
NEGLIGIBLE = 1e-4  # a σ or κ term that moves X at the largest measured N by less than this share is 0
DRAWS = 4000  # parameter sets drawn from the fit's covariance for the ranges
LEVEL = 0.95  # the ranges' coverage


def throughput(n: float | np.ndarray, lam: float, sigma: float, kappa: float) -> float | np.ndarray:
    """X(N), the USL's throughput at N workers."""
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


@dataclass(frozen=True)
class Spread:
    """95 % ranges of the fitted parameters (see the module's docstring)."""

    sigma: tuple[float, float]
    kappa: tuple[float, float]
    peak: tuple[float, float]  # N*'s; an upper end of inf: no peak (κ's range reaches 0)


UNDETERMINED = Spread((0.0, 1.0), (0.0, math.inf), (1.0, math.inf))  # a covariance the fit could not give


@dataclass(frozen=True)
class UslFit:
    lam: float  # λ: throughput of one worker, requests/s
    sigma: float  # σ: contention
    kappa: float  # κ: coherency
    best_n: float  # the measured worker count with the most throughput (mean of its points)
    best_x: float  # that throughput
    max_n: float  # the largest worker count measured
    min_gain: float = MIN_GAIN
    min_n: float = 1.0  # the smallest worker count measured
    spread: Spread | None = None  # None: fitted without the points' uncertainties

    @property
    def peak_determined(self) -> bool:
        """Whether N* is known: its range no wider than the worker counts measured (True without a spread)."""
        if self.spread is None:
            return True
        low, high = self.spread.peak
        return high - low <= self.max_n - self.min_n

    @property
    def peak_n(self) -> float | None:
        """N* = √((1−σ)/κ), where the curve peaks; None when κ is zero (the curve never turns down)."""
        if self.kappa == 0:
            return None
        return math.sqrt((1 - self.sigma) / self.kappa)

    def predict(self, n: float) -> float:
        """The fitted throughput at `n` workers."""
        return float(throughput(n, self.lam, self.sigma, self.kappa))

    @property
    def more_workers_help(self) -> bool:
        """Whether the fit predicts at least `min_gain` more throughput beyond the measured range."""
        peak = self.peak_n
        if peak is None:
            return self._ceiling() > (1 + self.min_gain) * self.best_x
        return peak > self.max_n and self.predict(peak) > (1 + self.min_gain) * self.best_x

    @property
    def fitted(self) -> str:
        """ "σ=0.05, κ=0.002", each with its range when the fit has one."""
        if self.spread is None:
            return f"σ={self.sigma:.3g}, κ={self.kappa:.3g}"
        (s0, s1), (k0, k1) = self.spread.sigma, self.spread.kappa
        return f"σ={self.sigma:.3g} ({s0:.3g} to {s1:.3g}), κ={self.kappa:.3g} ({k0:.3g} to {k1:.3g})"

    @property
    def verdict(self) -> str:
        """In plain words: would more workers than measured help?"""
        peak = self.peak_n
        fitted = self.fitted
        if not self.peak_determined:
            assert self.spread is not None
            low, high = self.spread.peak
            return (
                f"not determined: N*'s {LEVEL:.0%} range, {low:.1f} to {_end(high, ' workers')}, is wider than "
                f"the {self.min_n:g} to {self.max_n:g} workers measured ({fitted}); the best measured is "
                f"{self.best_x:.0f} rps at {self.best_n:g} workers"
            )
        if peak is None:
            if self.sigma == 0:
                return f"yes: throughput still grows linearly with workers ({fitted}): no contention measured yet"
            ceiling = self._ceiling()
            gain = ceiling / self.best_x - 1
            if self.more_workers_help:
                return (
                    f"yes: no peak ({fitted}); throughput approaches {ceiling:.0f} rps, {gain:.0%} above "
                    f"the best measured ({self.best_x:.0f} rps at {self.best_n:g} workers)"
                )
            return (
                f"no: no peak ({fitted}), but throughput levels off at {ceiling:.0f} rps, {_relative(gain)} "
                f"the best measured ({self.best_x:.0f} rps at {self.best_n:g} workers)"
            )
        at_peak = self.predict(peak)
        gain = at_peak / self.best_x - 1
        if peak <= self.max_n:
            return (
                f"no: throughput peaks at N*={peak:.1f} workers ({fitted}), within the measured range "
                f"(up to {self.max_n:g}); the best measured is {self.best_x:.0f} rps at {self.best_n:g} workers"
            )
        if self.more_workers_help:
            return (
                f"yes: throughput peaks at N*={peak:.1f} workers ({fitted}) with {at_peak:.0f} rps, {gain:.0%} "
                f"above the best measured ({self.best_x:.0f} rps at {self.best_n:g} workers)"
            )
        return (
            f"no: throughput peaks at N*={peak:.1f} workers ({fitted}), beyond the {self.max_n:g} measured, "
            f"but {_relative(gain)} the best measured ({self.best_x:.0f} rps at {self.best_n:g} workers)"
        )

    def _ceiling(self) -> float:
        """Where the curve levels off without coherency cost: λ/σ (infinite when σ is zero too)."""
        return self.lam / self.sigma if self.sigma > 0 else math.inf


def fit(
    points: Iterable[tuple[float, float]], min_gain: float = MIN_GAIN, uncertainty: Iterable[float] | None = None
) -> UslFit:
    """Fit the USL to (workers, throughput) points; repeated worker counts are fine, but at least
    three distinct ones are needed. `uncertainty`: each point's standard uncertainty (rps, above 0),
    which weighs the fit and gives it a `Spread`."""
    pairs = [(float(n), float(x)) for n, x in points]
    errors = None if uncertainty is None else np.array([float(u) for u in uncertainty])
    if errors is not None and (len(errors) != len(pairs) or not np.all(errors > 0)):
        raise LoadlabError("the USL fit needs one uncertainty above 0 per point")
    bad = [(n, x) for n, x in pairs if not (math.isfinite(n) and math.isfinite(x)) or n < 1 or x < 0]
    if bad:
        raise LoadlabError(f"cannot fit the USL to {bad[0]}: worker counts must be ≥ 1 and throughput ≥ 0")
    distinct = sorted({n for n, _ in pairs})
    if len(distinct) < 3:
        raise LoadlabError(
            f"the USL needs throughput at 3 or more distinct worker counts to fit λ, σ and κ; got "
            f"{len(distinct)} ({', '.join(f'{n:g}' for n in distinct) or 'none'})"
        )
    n, x = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    if not x.any():
        raise LoadlabError("cannot fit the USL: every throughput is 0")
    first = distinct[0]
    lam0 = float(np.mean(x[n == first])) / first or float(x.max())
    best_params, best_cov, best_cost = None, None, math.inf
    with warnings.catch_warnings():
        # with exactly 3 points the fit is exact and its covariance undefined: only the parameters are used
        warnings.simplefilter("ignore", OptimizeWarning)
        for sigma0, kappa0 in ((0.05, 0.001), (0.3, 0.05), (0.01, 0.0)):
            try:
                params, cov = curve_fit(
                    throughput,
                    n,
                    x,
                    p0=(lam0, sigma0, kappa0),
                    sigma=errors,
                    absolute_sigma=errors is not None,
                    bounds=((1e-12, 0.0, 0.0), (np.inf, 1.0, np.inf)),
                    x_scale="jac",
                    maxfev=10_000,
                )
            except (RuntimeError, ValueError):
                continue
            residuals = (throughput(n, *params) - x) / (1.0 if errors is None else errors)
            cost = float(np.sum(residuals**2))
            if cost < best_cost:
                best_params, best_cov, best_cost = params, cov, cost
    if best_params is None:
        raise LoadlabError("the USL fit did not converge on these points")
    lam, sigma, kappa = (float(v) for v in best_params)
    top = distinct[-1]
    # the optimiser lands near, not on, a bound of 0: a term too small to matter in the measured range is 0
    sigma = 0.0 if sigma * (top - 1) < NEGLIGIBLE else sigma
    kappa = 0.0 if kappa * top * (top - 1) < NEGLIGIBLE else kappa
    means = {d: float(np.mean(x[n == d])) for d in distinct}  # repeated worker counts: their mean
    best_n = max(means, key=means.__getitem__)
    spread = None
    if errors is not None:
        freedom = len(pairs) - 3  # the reduced χ² widens the covariance when the points scatter more than said
        cov = best_cov * max(1.0, best_cost / freedom) if freedom > 0 else best_cov
        spread = _spread((lam, sigma, kappa), cov)
    return UslFit(
        lam,
        sigma,
        kappa,
        best_n=best_n,
        best_x=means[best_n],
        max_n=top,
        min_gain=min_gain,
        min_n=first,
        spread=spread,
    )


def _spread(params: tuple[float, float, float], cov: np.ndarray | None) -> Spread:
    """σ's, κ's and N*'s ranges from parameter sets drawn from the fit's covariance, within the
    bounds (0 ≤ σ ≤ 1, κ ≥ 0); an N* of inf where a drawn κ is 0."""
    if cov is None or not np.all(np.isfinite(cov)):
        return UNDETERMINED
    rng = np.random.default_rng(0)
    draws = rng.multivariate_normal(np.array(params), cov, size=DRAWS, method="eigh", check_valid="ignore")
    sigma = np.clip(draws[:, 1], 0.0, 1.0)
    kappa = np.clip(draws[:, 2], 0.0, None)
    with np.errstate(divide="ignore"):
        peak = np.where(kappa > 0, np.sqrt((1 - sigma) / np.where(kappa > 0, kappa, 1.0)), np.inf)
    tail = (1 - LEVEL) / 2

    def between(values: np.ndarray) -> tuple[float, float]:
        return float(np.quantile(values, tail, method="lower")), float(np.quantile(values, 1 - tail, method="higher"))

    return Spread(between(sigma), between(kappa), between(peak))


def _end(value: float, unit: str = "") -> str:
    """A range's upper end: "no peak at all" when infinite (κ's range reaches 0)."""
    return "no peak at all" if math.isinf(value) else f"{value:.3g}{unit}"


def _relative(gain: float) -> str:
    """ "only 3% above" or "8% below": a fit may level off under a measured point."""
    return f"only {gain:.0%} above" if gain >= 0 else f"{-gain:.0%} below"
