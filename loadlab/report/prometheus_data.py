"""What a finished run's own Prometheus stored about each point, read back for the report.

The run's TSDB is reopened read-only the way `loadlab prometheus` does it (`scrape=False`: nothing
is added), queried with the PromQL of `loadlab.queries` (the dashboards' heatmap and quantile
expressions), and stopped before the report is written. Each point is read over its measured window,
from the end of its warm-up to a few seconds after its load stopped (when its last counts had been
scraped), so the figures cover what the summary's figures cover.

Without Prometheus (not installed, no data, a TSDB in use) the report goes on from summary.json
alone; `PromData.missing` says why the server-side figures are not there.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

from loadlab import queries
from loadlab.config.run_config import run_label
from loadlab.contract import metrics as m
from loadlab.errors import LoadlabError
from loadlab.results.folder import RunFolder
from loadlab.results.point import PointResult, RunSummary
from loadlab.stack.prometheus import Prometheus

SETTLE_S = 5.0  # after a point's load stopped: its final scrape is in by then (the run waited for it)


@dataclass(frozen=True)
class Distribution:
    """A latency histogram over a point's measured window: observations between consecutive bounds."""

    bounds_s: list[float]  # the buckets' upper bounds (finite ones)
    counts: list[float]  # observations in (previous bound, this bound]; the first from 0
    beyond: float  # observations above the last finite bound

    @property
    def total(self) -> float:
        return sum(self.counts) + self.beyond

    @classmethod
    def from_cumulative(cls, buckets: dict[float, float]) -> "Distribution | None":
        """From Prometheus's cumulative buckets {le: count} (le may be inf); None when it counted nothing."""
        bounds = sorted(b for b in buckets if math.isfinite(b))
        cumulative = [buckets[b] for b in bounds]
        last = cumulative[-1] if cumulative else 0.0
        counts = [max(0.0, c - p) for p, c in zip([0.0, *cumulative[:-1]], cumulative, strict=True)]
        beyond = max(0.0, buckets.get(math.inf, last) - last)
        found = cls(bounds, counts, beyond)
        return found if found.total > 0 else None


@dataclass(frozen=True)
class PointSide:
    """What Prometheus saw of one point: the target's latency (server side) and Locust's (client side)."""

    server_p50_ms: float | None
    server_p99_ms: float | None
    server: Distribution | None
    client: Distribution | None


@dataclass
class PromData:
    points: dict[str, PointSide] = field(default_factory=dict)  # by PointResult.point
    missing: str | None = None  # why there is nothing, or None when the TSDB was read

    def of(self, point: PointResult) -> PointSide | None:
        return self.points.get(point.point)


def read(folder: Path, summary: RunSummary, points: list[PointResult] | None = None) -> PromData:
    """The server and client latency of the run's points (default: all of them) from the run's TSDB;
    PromData.missing says why not."""
    directory = RunFolder(folder).prometheus_dir
    points = summary.points if points is None else points
    if not points:
        return PromData(missing="the run has no measured point")
    try:
        prometheus = Prometheus(directory, scrape=False)
    except LoadlabError as exc:  # not installed
        return PromData(missing=str(exc))
    if not (prometheus.data_dir.is_dir() and any(prometheus.data_dir.iterdir())):
        return PromData(missing=f"the run kept no Prometheus data ({prometheus.data_dir} is missing or empty)")
    try:
        with prometheus:
            return PromData({p.point: _point(prometheus, run_label(summary.run_id, p.point), p) for p in points})
    except LoadlabError as exc:
        return PromData(missing=f"the run's Prometheus data could not be read: {exc}")


def _point(prometheus: Prometheus, run_id: str, point: PointResult) -> PointSide:
    at = point.ended_at + SETTLE_S
    seconds = max(1, math.ceil(at - (point.started_at + point.warmup_s)))
    window = f"{seconds}s"
    sel = queries.selector(run_id=run_id, target=point.target, scenario=point.scenario)
    server_sel = queries.selector(run_id=run_id, target=point.target, scenario=point.scenario, route=point.route)

    def quantile_ms(q: float) -> float | None:
        value = prometheus.scalar(queries.server_latency_quantile(q, server_sel, window), at)
        return None if value is None else 1000 * value

    def distribution(histogram: str, selector: str) -> Distribution | None:
        # the dashboards' heatmap expression: per-bucket rates; × the window's length, observations
        samples = prometheus.query(queries.latency_heatmap(histogram, selector, window), at)
        buckets = {float(s.labels["le"]): s.value * seconds for s in samples if "le" in s.labels}
        finite = {le: v for le, v in buckets.items() if math.isfinite(v)}
        return Distribution.from_cumulative(finite) if finite else None

    return PointSide(
        server_p50_ms=quantile_ms(0.5),
        server_p99_ms=quantile_ms(0.99),
        server=distribution(m.HTTP_REQUEST_DURATION, server_sel),
        client=distribution(m.LOCUST_REQUEST_DURATION, sel),
    )
