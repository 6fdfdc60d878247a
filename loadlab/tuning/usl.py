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


def throughput(n: float | np.ndarray, lam: float, sigma: float, kappa: float) -> float | np.ndarray:
    """X(N), the USL's throughput at N workers."""
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


@dataclass(frozen=True)
class UslFit:
    lam: float  # λ: throughput of one worker, requests/s
    sigma: float  # σ: contention
    kappa: float  # κ: coherency
    best_n: float  # the measured worker count with the most throughput (mean of its points)
    best_x: float  # that throughput
    max_n: float  # the largest worker count measured
    min_gain: float = MIN_GAIN

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
    def verdict(self) -> str:
        """In plain words: would more workers than measured help?"""
        peak = self.peak_n
        fitted = f"σ={self.sigma:.3g}, κ={self.kappa:.3g}"
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


def fit(points: Iterable[tuple[float, float]], min_gain: float = MIN_GAIN) -> UslFit:
    """Fit the USL to (workers, throughput) points; repeated worker counts are fine, but at least
    three distinct ones are needed."""
    pairs = [(float(n), float(x)) for n, x in points]
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
    best_params, best_cost = None, math.inf
    with warnings.catch_warnings():
        # with exactly 3 points the fit is exact and its covariance undefined: only the parameters are used
        warnings.simplefilter("ignore", OptimizeWarning)
        for sigma0, kappa0 in ((0.05, 0.001), (0.3, 0.05), (0.01, 0.0)):
            try:
                params, _ = curve_fit(
                    throughput,
                    n,
                    x,
                    p0=(lam0, sigma0, kappa0),
                    bounds=((1e-12, 0.0, 0.0), (np.inf, 1.0, np.inf)),
                    x_scale="jac",
                    maxfev=10_000,
                )
            except (RuntimeError, ValueError):
                continue
            cost = float(np.sum((throughput(n, *params) - x) ** 2))
            if cost < best_cost:
                best_params, best_cost = params, cost
    if best_params is None:
        raise LoadlabError("the USL fit did not converge on these points")
    lam, sigma, kappa = (float(v) for v in best_params)
    top = distinct[-1]
    # the optimiser lands near, not on, a bound of 0: a term too small to matter in the measured range is 0
    sigma = 0.0 if sigma * (top - 1) < NEGLIGIBLE else sigma
    kappa = 0.0 if kappa * top * (top - 1) < NEGLIGIBLE else kappa
    means = {d: float(np.mean(x[n == d])) for d in distinct}  # repeated worker counts: their mean
    best_n = max(means, key=means.__getitem__)
    return UslFit(lam, sigma, kappa, best_n=best_n, best_x=means[best_n], max_n=top, min_gain=min_gain)


def _relative(gain: float) -> str:
    """ "only 3% above" or "8% below": a fit may level off under a measured point."""
    return f"only {gain:.0%} above" if gain >= 0 else f"{-gain:.0%} below"
