"""The figures of a run's report, one function each; a function returns None when it has nothing
to draw (the caller says why on the page)."""

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.ticker import FuncFormatter

from loadlab.contract.scenarios import TARGETS
from loadlab.report.figures import Figures, color
from loadlab.report.history import Second
from loadlab.report.prometheus_data import Distribution, PointSide, PromData
from loadlab.results.point import PointResult

PERCENTILES = (("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"))
MAX_TICKS = 12  # labelled bucket bounds on the distribution's axis
LOWEST_EDGE_S = 0.0005  # the first bucket starts at 0; on a log axis it is drawn from here


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _grouped(ax, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float], str]], plot) -> None:
    """Bars of several series side by side for each label."""
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(series))
    for i, (name, values, colour) in enumerate(series):
        bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=name, color=colour)
        plot.data(bars)
        ax.bar_label(bars, fmt="{:,.0f}", fontsize=7, padding=1)
    ax.set_xticks(x, labels)


def percentiles(
    figures: Figures,
    points: Sequence[PointResult],
    labels: Sequence[str] | None = None,
    name: str = "latency-percentiles",
    title: str = "Latency percentiles per point (client side, Locust)",
    scheduled: bool = False,
) -> str | None:
    """Grouped bars: Locust's p50, p95 and p99 of every point (named by `labels`, default their ids);
    with `scheduled`, the p99 from the schedule too, where the open model measured one."""
    if not any(p.p50_ms is not None for p in points):
        return None
    plot = figures.new(name, title)
    ax = plot.axes[0]
    series = [
        (label, [_nan(getattr(p, key)) for p in points], c)
        for (label, key), c in zip(PERCENTILES, ("#9ecae1", "#4292c6", "#08519c"), strict=True)
    ]
    caption = "Percentiles after warm-up, from Locust's stats."
    if scheduled and any(p.p99_scheduled_ms is not None for p in points):
        series.append(("p99 from schedule", [_nan(p.p99_scheduled_ms) for p in points], "#fd8d3c"))
        caption += " From schedule (open model): counted from when each request was due."
    _grouped(ax, list(labels) if labels is not None else [p.point for p in points], series, plot)
    ax.set_ylabel("latency (ms)")
    ax.margins(y=0.12)
    return figures.render(plot, caption)


def _shares(d: Distribution) -> tuple[np.ndarray, np.ndarray]:
    """Bucket edges (ms) and the percentage of requests in each bucket."""
    edges = np.array([LOWEST_EDGE_S, *d.bounds_s]) * 1000
    return edges, 100 * np.array(d.counts) / d.total


def _nonzero_range(ds: Sequence[Distribution]) -> tuple[float, float]:
    lo, hi = math.inf, 0.0
    for d in ds:
        edges = [LOWEST_EDGE_S, *d.bounds_s]
        used = [i for i, c in enumerate(d.counts) if c > 0]
        if used:
            lo, hi = min(lo, edges[max(0, used[0] - 1)]), max(hi, edges[min(len(edges) - 1, used[-1] + 2)])
    return lo * 1000, hi * 1000


def distribution(figures: Figures, scenario: str, points: Sequence[PointResult], prom: PromData) -> str | None:
    """The share of requests per latency bucket of each point of `scenario`: the target's histogram
    (solid), Locust's (dashed), and the server-side p99 (dotted)."""
    sides = [(p, side) for p in points if (side := prom.of(p)) is not None and (side.server or side.client)]
    drawn = [(p.target, color(p.target, i), side) for i, (p, side) in enumerate(sides)]
    return distributions(
        figures, f"distribution-{scenario}", f"Latency distribution: {scenario} (Prometheus histograms)", drawn
    )


def distributions(figures: Figures, name: str, title: str, drawn: Sequence[tuple[str, str, PointSide]]) -> str | None:
    """The share of requests per latency bucket of each (label, colour, what Prometheus saw)."""
    if not drawn:
        return None
    plot = figures.new(name, title)
    ax = plot.axes[0]
    beyond = []
    for label, colour, side in drawn:
        for d, kind, line in ((side.server, "server", "-"), (side.client, "client", "--")):
            if d is None:
                continue
            edges, shares = _shares(d)
            plot.data(ax.stairs(shares, edges, color=colour, linestyle=line, linewidth=1.6, label=f"{label} {kind}"))
            if d.beyond:
                beyond.append(f"{label} {kind}: {d.beyond:.0f} requests above {d.bounds_s[-1]:g} s")
        if side.server_p99_ms is not None:
            ax.axvline(side.server_p99_ms, color=colour, linestyle=":", linewidth=1, label=f"{label} server p99")
    ax.set_xscale("log")
    shown = [d for _, _, s in drawn for d in (s.server, s.client) if d is not None]
    lo, hi = _nonzero_range(shown)
    if hi > lo:
        ax.set_xlim(lo, hi)
        ticks = [b * 1000 for b in shown[0].bounds_s if lo <= b * 1000 <= hi]
        ax.minorticks_off()
        ax.set_xticks(ticks[:: max(1, math.ceil(len(ticks) / MAX_TICKS))])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("latency (ms, log scale; ticks and steps are the histogram's bucket bounds)")
    ax.set_ylabel("requests in the bucket (%)")
    caption = "Server side: the target's own histogram; client side: Locust's, which adds the network and queueing."
    if beyond:
        caption += " Beyond the last bucket: " + "; ".join(beyond) + "."
    return figures.render(plot, caption)


def server_vs_client_p99(figures: Figures, points: Sequence[PointResult], prom: PromData) -> str | None:
    """Bars per point: p99 as Locust saw it, as the target saw it, and from the schedule (open model)."""
    server = [_nan(side.server_p99_ms) if (side := prom.of(p)) else math.nan for p in points]
    if all(math.isnan(v) for v in server):
        return None
    series = [("client (Locust)", [_nan(p.p99_ms) for p in points], "#4292c6"), ("server (target)", server, "#74c476")]
    if any(p.p99_scheduled_ms is not None for p in points):
        series.append(("client, from schedule", [_nan(p.p99_scheduled_ms) for p in points], "#fd8d3c"))
    plot = figures.new("p99-server-vs-client", "p99 latency: server side next to client side")
    _grouped(plot.axes[0], [p.point for p in points], series, plot)
    plot.axes[0].set_ylabel("p99 (ms)")
    plot.axes[0].margins(y=0.12)
    caption = (
        "The gap between client and server is time outside the handler: the network, the server's accept "
        "queue, the generator. From the schedule (open model): counted from when each request was due."
    )
    return figures.render(plot, caption)


def sync_vs_async(figures: Figures, points: Sequence[PointResult]) -> str | None:
    """Per scenario run on both targets: throughput and p99 of sync beside async."""
    by = {(p.scenario, p.target): p for p in points}
    scenarios = [s for s in dict.fromkeys(p.scenario for p in points) if all((s, t) in by for t in TARGETS)]
    if not scenarios:
        return None
    plot = figures.new("sync-vs-async", "Sync vs async per scenario", ncols=2)
    for ax, key, label in ((plot.axes[0], "rps", "throughput (requests/s)"), (plot.axes[1], "p99_ms", "p99 (ms)")):
        series = [(t, [_nan(getattr(by[(s, t)], key)) for s in scenarios], color(t, 0)) for t in TARGETS]
        _grouped(ax, scenarios, series, plot)
        ax.set_ylabel(label)
        ax.margins(y=0.12)
    return figures.render(plot, "The same route and load on the def (sync) and async def (async) targets.")


def over_time(figures: Figures, points: Sequence[PointResult], seconds: dict[str, list[Second]]) -> str | None:
    """Locust's per-second throughput and p95 of each point, from the start of its load."""
    drawn = [(p, seconds[p.point]) for p in points if seconds.get(p.point)]
    if not drawn:
        return None
    plot = figures.new("over-time", "Throughput and p95 over time (Locust, per second)", ncols=2)
    for i, (p, rows) in enumerate(drawn):
        t = [r.t_s for r in rows]
        by_target = len({q.target for q, _ in drawn}) == len(drawn)  # one point per target: the target's colour
        colour = color(p.target, i) if by_target else color("", i)
        plot.data(plot.axes[0].plot(t, [r.rps for r in rows], color=colour, label=p.point))
        plot.data(plot.axes[1].plot(t, [r.p95_ms for r in rows], color=colour, label=p.point))
    warmup = drawn[0][0].warmup_s if len({p.warmup_s for p, _ in drawn}) == 1 else 0.0
    for ax, label in ((plot.axes[0], "requests completed per second"), (plot.axes[1], "rolling p95 (ms)")):
        if warmup:
            ax.axvline(warmup, color="#999", linestyle="--", linewidth=1)
        ax.set_xlabel("seconds since the point's load started")
        ax.set_ylabel(label)
    return figures.render(plot, "The dashed line ends the warm-up: the summary's figures count what follows it.")
