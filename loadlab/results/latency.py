"""A point's HdrHistograms (`latency/<point>.hlog`, written by Locust's master) as figures: the
percentiles of its result, the percentile spectrum of the report, and the rows of `loadlab export`.

Every figure is the histogram's: the value at rank max(1, round(q·N)) of the N requests of the
measured window, reported as the highest value equivalent to it at 3 significant digits, so within
+0.1 % of the exact one (+0.5 µs below 0.5 ms). Locust's own percentiles stay in its CSV.
"""

from collections.abc import Sequence
from pathlib import Path

from loadlab.contract.latency import SCHEDULE, SEND, Histogram
from loadlab.contract.latency_log import LatencyLog, LatencyLogError, read
from loadlab.results.point import FROM_HDR, Percentiles, PointResult

QUANTILES = {
    "p50_ms": 0.5,
    "p90_ms": 0.9,
    "p95_ms": 0.95,
    "p99_ms": 0.99,
    "p999_ms": 0.999,
    "p9999_ms": 0.9999,
    "max_ms": 1.0,
}
LABELS = {"p50_ms": "p50", "p90_ms": "p90", "p95_ms": "p95", "p99_ms": "p99", "p999_ms": "p99.9"}
LABELS |= {"p9999_ms": "p99.99", "max_ms": "max"}
PRECISION = "3 significant digits (HdrHistogram)"
ROUNDED = "Locust's, rounded to 2 significant digits above 100 ms"

__all__ = ["LatencyLog", "LatencyLogError", "apply", "known_quantiles", "percentiles", "read", "spectrum"]

# The quantiles `known_quantiles` gives: every 0.1 % and the tail to 99.99 %, fine enough that an
# order-statistic interval built from them (loadlab.tuning.compare.quantile_interval) is the exact one
# to within 0.1 % of the requests
_GRID = [i / 1000 for i in range(1, 1000)] + [0.9995, 0.9999, 1.0]


def percentiles(h: Histogram) -> Percentiles:
    values = h.values_ms(list(QUANTILES.values()))
    return Percentiles(h.total, **dict(zip(QUANTILES, values, strict=True)))


def apply(result: PointResult, path: Path) -> None:
    """Replace `result`'s percentiles and max by those of its latency log at `path` (and, for the open
    model, fill those from the schedule); when it cannot be read, keep Locust's and say why."""
    try:
        log = read(path)
    except LatencyLogError as exc:
        result.latency_problem = str(exc)
        return
    send = percentiles(log.histograms[SEND]) if SEND in log.histograms else None
    if send is None:
        result.latency_problem = f"{path}: no histogram of latency from sending"
        return
    for name in QUANTILES:
        setattr(result, name, getattr(send, name))
    result.percentiles_from = FROM_HDR
    if SCHEDULE in log.histograms:
        result.scheduled = percentiles(log.histograms[SCHEDULE])
        result.p99_scheduled_ms = result.scheduled.p99_ms


def spectrum(h: Histogram, points: int = 160) -> tuple[list[float], list[float]]:
    """The percentile spectrum, HdrHistogram's way: ([1/(1−q)], [latency ms at q]) for q from 0 up to
    1 − 1/N on a logarithmic grid of 1/(1−q), then the maximum at 1/(1−q) = N."""
    n = h.total
    if n == 0:
        return [], []
    import numpy as np

    x = [float(v) for v in np.geomspace(1, max(n, 2), points)]
    qs: Sequence[float] = [1 - 1 / v for v in x[:-1]] + [1.0]
    return x, [v or 0.0 for v in h.values_ms(qs)]


def known_quantiles(path: Path) -> tuple[int, dict[float, float]] | None:
    """(requests, {quantile: ms}) of the latency from sending in the log at `path`, on a fine grid; None
    when the log cannot be read (the caller falls back to Locust's rounded percentiles)."""
    try:
        log = read(path)
    except LatencyLogError:
        return None
    h = log.histograms.get(SEND)
    if h is None or not h.total:
        return None
    values = h.values_ms(_GRID)
    return h.total, {q: v for q, v in zip(_GRID, values, strict=True) if v is not None}
