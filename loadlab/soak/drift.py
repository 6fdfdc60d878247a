"""The soak's verdict by trend, not by end value: for each series a Theil-Sen slope with its 95 %
confidence interval (SciPy's `theilslopes`), per hour; a series drifts when its interval lies wholly
above its kind's tolerance. A slope whose interval straddles the tolerance is "undetermined", not a
failure: a longer soak narrows it.

TOLERANCES is the one place the limits live (docs/soak.md quotes them). Relative ones are in % of
the series' median per hour; absolute ones in the series' unit per hour.

The first checkpoints, up to SETTLE_SHARE of the soak (at most SETTLE_MAX_S), are left out of every
trend: processes fill caches and pools as load starts, which is growth that levels off, not a leak.

A checkpoint at which a point's generator fell behind its schedule (late sends above LATE_SHARE) says
nothing about the target: that point's p99 and error ratio at that checkpoint are left out of their
trends, and the verdict says so.
"""

import math
from dataclasses import dataclass

LATE_SHARE = 0.01  # of a window's requests sent late: the generator, not the target, set that window's latency
MIN_POINTS = 4  # a slope from fewer checkpoints is not judged
SETTLE_SHARE = 0.2  # of the soak's length, at its start: left out of the trends
SETTLE_MAX_S = 300.0
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Tolerance:
    limit: float  # per hour
    relative: bool  # % of the series' median per hour, else the series' unit per hour
    unit: str  # the series' unit

    def describe(self) -> str:
        return f"{self.limit:g} %/h" if self.relative else f"{self.limit:g} {self.unit}/h"


TOLERANCES = {
    "rss_mb": Tolerance(5.0, True, "MB"),
    "fds": Tolerance(5.0, True, "fds"),
    "threads": Tolerance(5.0, True, "threads"),
    "scrape_ms": Tolerance(1.0, False, "ms"),
    "p99_ms": Tolerance(5.0, True, "ms"),
    "error_ratio": Tolerance(0.01, False, "ratio"),
    "head_series": Tolerance(5.0, True, "series"),
}
LATENCY_KINDS = ("p99_ms", "error_ratio")  # what a late generator spoils
DRIFTS, OK, UNDETERMINED, TOO_FEW = "drifts", "ok", "undetermined", "too few checkpoints"


@dataclass(frozen=True)
class Trend:
    key: str
    kind: str
    n: int  # checkpoints used
    median: float | None
    slope: float | None  # per hour, in the tolerance's terms (% of the median, or the unit)
    low: float | None
    high: float | None
    intercept: float | None  # of the fit in the series' unit, at elapsed 0 (for plots)
    slope_unit_per_h: float | None  # the fit's slope in the series' unit per hour (for plots)
    verdict: str
    left_out: int = 0  # checkpoints left out: the generator was behind

    @property
    def tolerance(self) -> Tolerance:
        return TOLERANCES[self.kind]


def kind_of(key: str) -> str:
    return key.split(" ", 1)[0]


def trend(key: str, points: list[tuple[float, float]], left_out: int = 0) -> Trend:
    """The trend of one series: points are (elapsed seconds, value); None values already dropped."""
    from scipy.stats import theilslopes

    kind = kind_of(key)
    tol = TOLERANCES[kind]
    points = [(t, v) for t, v in points if v is not None and math.isfinite(v)]
    if len(points) < MIN_POINTS:
        median = sorted(v for _, v in points)[len(points) // 2] if points else None
        return Trend(key, kind, len(points), median, None, None, None, None, None, TOO_FEW, left_out)
    hours = [t / 3600 for t, _ in points]
    values = [v for _, v in points]
    median = sorted(values)[len(values) // 2]
    if len(set(values)) == 1:  # flat: theilslopes' interval is [0, 0] too, without its warning
        slope, intercept, low, high = 0.0, values[0], 0.0, 0.0
    else:
        slope, intercept, low, high = theilslopes(values, hours, alpha=CONFIDENCE)
    scale = 100 / abs(median) if tol.relative and median else 1.0
    if tol.relative and not median:  # relative to zero: judged on the unit instead
        scale = 1.0
    s, lo, hi = slope * scale, low * scale, high * scale
    verdict = DRIFTS if lo > tol.limit else OK if hi <= tol.limit else UNDETERMINED
    return Trend(key, kind, len(points), median, s, lo, hi, intercept, slope, verdict, left_out)


def trends(series: dict[str, list[tuple[float, float | None]]], late: dict[str, list[bool]]) -> list[Trend]:
    """Every series' trend. `late[point]` flags, per checkpoint of the series, a generator behind its
    schedule; a latency series is keyed `<kind> <point>`."""
    found = []
    for key, points in sorted(series.items()):
        settled = settle_s(points)
        flags = late.get(key.split(" ", 1)[1], []) if kind_of(key) in LATENCY_KINDS else []
        behind = [i < len(flags) and flags[i] for i in range(len(points))]
        judged = [(p, b) for p, b in zip(points, behind, strict=True) if p[0] > settled and p[1] is not None]
        found.append(trend(key, [p for p, b in judged if not b], sum(b for _, b in judged)))
    return found


def settle_s(points: list[tuple[float, float | None]]) -> float:
    """Checkpoints up to this elapsed time are the settling start, left out (see the module)."""
    return min(SETTLE_MAX_S, SETTLE_SHARE * max((t for t, _ in points), default=0.0))


def failed(found: list[Trend]) -> list[Trend]:
    return [t for t in found if t.verdict == DRIFTS]
