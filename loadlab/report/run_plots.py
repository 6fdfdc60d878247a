"""The figures of a run's report, one function each; a function returns None when it has nothing
to draw (the caller says why on the page)."""

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from loadlab.contract.scenarios import TARGETS
from loadlab.report.figures import Figures, color
from loadlab.report.history import Second
from loadlab.report.prometheus_data import Distribution, PointSide, PromData
from loadlab.results.point import FROM_HDR, PointResult

PERCENTILES = (("p50", "p50_ms", "o"), ("p90", "p90_ms", "s"), ("p99", "p99_ms", "D"), ("p99.9", "p999_ms", "^"))
PERCENTILES += (("max", "max_ms", "x"),)
MAX_TICKS = 12  # labelled bucket bounds on the distribution's axis
LOWEST_EDGE_S = 0.0005  # the first bucket starts at 0; on a log axis it is drawn from here
LINESTYLES = ("-", "--", ":", "-.")  # repetitions of one point, in its target's colour
ROW_IN = 0.28  # height of one point's row in a figure with a row per point
PANELS_PER_ROW = 4  # small multiples: panels side by side


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


class _MsLocator(LogLocator):
    """Ticks at 1, 2 and 5 of each decade over a short range, at decades over a long one, so they never crowd."""

    def tick_values(self, vmin: float, vmax: float):
        decades = math.log10(vmax / vmin) if vmin > 0 and vmax > vmin else math.inf
        self.set_params(subs=(1.0, 2.0, 5.0) if decades <= 2.2 else (1.0,), numticks=6)
        return super().tick_values(vmin, vmax)


def ms_axis(axis) -> None:
    """A logarithmic latency axis labelled in plain numbers (1, 2, 5, 10, 20, 50, ... ms), without the
    unlabelled minor ticks: they carry no number, and a third of a report's drawing time went to them."""
    axis.set_major_locator(_MsLocator())
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())


def rows_height(n: int) -> float:
    return max(2.2, ROW_IN * n + 1.5)


def grid(n: int) -> tuple[int, int]:
    """(rows, columns) of small multiples for `n` panels."""
    cols = min(n, PANELS_PER_ROW)
    return math.ceil(n / cols), cols


def legend_below(plot, handles: Sequence[Artist]) -> None:
    plot.fig.legend(handles=list(handles), loc="outside lower center", ncols=min(len(handles), 6), fontsize=8)


def target_handles(targets: Sequence[str]) -> list[Artist]:
    return [Patch(color=color(t, i), label=t) for i, t in enumerate(dict.fromkeys(targets))]


def _dot_rows(plot, labels: Sequence[str], points: Sequence[PointResult], series) -> None:
    """One row per point (the first on top), its figures as markers on a log latency axis in its
    target's colour, a line from its lowest to its highest; `series` is [(name, values, marker)]."""
    ax = plot.axes[0]
    y = np.arange(len(points))[::-1]
    colours = [color(p.target, i) for i, p in enumerate(points)]
    for row, colour in zip(range(len(points)), colours, strict=True):
        values = [v[row] for _, v, _ in series if not math.isnan(v[row])]
        if values:
            ax.plot([min(values), max(values)], [y[row]] * 2, color=colour, linewidth=1, alpha=0.6)
    for _name, values, marker in series:
        plot.data(ax.scatter(values, y, c=colours, marker=marker, s=28, zorder=3))
    ax.set_yticks(y, labels)
    for tick, colour in zip(ax.get_yticklabels(), colours, strict=True):
        tick.set_color(colour)
    ax.set_ylim(-0.7, len(points) - 0.3)
    ax.set_xscale("log")
    ms_axis(ax.xaxis)
    ax.set_xlabel("latency (ms, log scale)")
    markers = [Line2D([], [], color="#444", marker=m, linestyle="", label=name) for name, _, m in series]
    legend_below(plot, [*markers, *target_handles([p.target for p in points])])


def percentiles(
    figures: Figures,
    points: Sequence[PointResult],
    labels: Sequence[str] | None = None,
    name: str = "latency-percentiles",
    title: str = "Latency percentiles per point (client side)",
    scheduled: bool = False,
) -> str | None:
    """A row per point (named by `labels`, default their ids): its p50, p90, p99, p99.9 and max on a log
    axis, in its target's colour; with `scheduled`, the p99 from the schedule too, where the open
    model measured one."""
    if not any(p.p50_ms is not None for p in points):
        return None
    series = [
        (label, [_nan(getattr(p, key)) for p in points], marker)
        for label, key, marker in PERCENTILES
        if any(getattr(p, key) is not None for p in points)
    ]
    caption = "Client-side percentiles after warm-up: " + (
        "every request's latency (HdrHistogram, 3 significant digits)."
        if all(p.percentiles_from == FROM_HDR for p in points)
        else "HdrHistogram figures where the run kept them, else Locust's (rounded to 2 significant digits)."
    )
    if scheduled and any(p.p99_scheduled_ms is not None for p in points):
        series.append(("p99 from schedule", [_nan(p.p99_scheduled_ms) for p in points], "*"))
        caption += " From schedule (open model): counted from when each request was due."
    plot = figures.new(name, title, height=rows_height(len(points)))
    _dot_rows(plot, list(labels) if labels is not None else [p.point for p in points], points, series)
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
    handles, _ = ax.get_legend_handles_labels()
    legend_below(plot, handles)
    caption = "Server side: the target's own histogram; client side: Locust's, which adds the network and queueing."
    if beyond:
        caption += " Beyond the last bucket: " + "; ".join(beyond) + "."
    return figures.render(plot, caption)


def server_vs_client_p99(figures: Figures, points: Sequence[PointResult], prom: PromData) -> str | None:
    """A row per point: p99 as Locust saw it, as the target saw it, and from the schedule (open model)."""
    server = [_nan(side.server_p99_ms) if (side := prom.of(p)) else math.nan for p in points]
    if all(math.isnan(v) for v in server):
        return None
    series = [("client", [_nan(p.p99_ms) for p in points], "o"), ("server (target)", server, "s")]
    if any(p.p99_scheduled_ms is not None for p in points):
        series.append(("client, from schedule", [_nan(p.p99_scheduled_ms) for p in points], "*"))
    plot = figures.new(
        "p99-server-vs-client", "p99 latency: server side next to client side", height=rows_height(len(points))
    )
    _dot_rows(plot, [p.point for p in points], points, series)
    caption = (
        "The gap between client and server is time outside the handler: the network, the server's accept "
        "queue, the generator. From schedule (open model): counted from when each request was due."
    )
    return figures.render(plot, caption)


def sync_vs_async(figures: Figures, points: Sequence[PointResult]) -> str | None:
    """Per scenario run on both targets: throughput and p99 of sync beside async, a row per scenario."""
    by = {(p.scenario, p.target): p for p in points}
    scenarios = [s for s in dict.fromkeys(p.scenario for p in points) if all((s, t) in by for t in TARGETS)]
    if not scenarios:
        return None
    plot = figures.new("sync-vs-async", "Sync vs async per scenario", ncols=2, height=rows_height(2 * len(scenarios)))
    y = np.arange(len(scenarios))[::-1]
    height = 0.8 / len(TARGETS)
    for ax, key, label in (
        (plot.axes[0], "rps", "throughput (requests/s)"),
        (plot.axes[1], "p99_ms", "p99 (ms, log scale)"),
    ):
        for i, t in enumerate(TARGETS):
            values = [_nan(getattr(by[(s, t)], key)) for s in scenarios]
            offset = (len(TARGETS) - 1) / 2 - i
            if key == "rps":
                plot.data(ax.barh(y + offset * height, values, height, color=color(t, i), label=t))
            else:  # a bar's length means nothing on a log axis: a dot per target
                plot.data(ax.scatter(values, y + offset * height, color=color(t, i), s=36, zorder=3))
        ax.set_yticks(y, scenarios)
        ax.set_xlabel(label)
    plot.axes[1].set_xscale("log")
    ms_axis(plot.axes[1].xaxis)
    plot.axes[1].tick_params(labelleft=False)
    legend_below(plot, target_handles(TARGETS))
    return figures.render(plot, "The same route and load on the def (sync) and async def (async) targets.")


def over_time(figures: Figures, points: Sequence[PointResult], seconds: dict[str, list[Second]]) -> str | None:
    """Locust's per-second throughput and rolling p95 of each point, from the start of its load: small
    multiples, a panel per scenario, a line per point in its target's colour."""
    drawn = [(p, seconds[p.point]) for p in points if seconds.get(p.point)]
    if not drawn:
        return None
    scenarios = list(dict.fromkeys(p.scenario for p, _ in drawn))
    warmups = {p.warmup_s for p, _ in drawn}
    warmup = warmups.pop() if len(warmups) == 1 else 0.0
    html = []
    for key, name, ylabel, title in (
        ("rps", "over-time", "requests/s", "Throughput over time (Locust, per second)"),
        ("p95_ms", "over-time-p95", "rolling p95 (ms, log)", "Rolling p95 over time (Locust, per second)"),
    ):
        rows, cols = grid(len(scenarios))
        plot = figures.new(name, title, ncols=cols, nrows=rows, height=1.2 + 2.0 * rows)
        for ax, scenario in zip(plot.axes, scenarios, strict=False):
            mine = [(p, r) for p, r in drawn if p.scenario == scenario]
            for i, (p, r) in enumerate(mine):
                style = LINESTYLES[((p.repeat or 1) - 1) % len(LINESTYLES)]
                plot.data(
                    ax.plot([s.t_s for s in r], [getattr(s, key) for s in r], color=color(p.target, i), linestyle=style)
                )
            if warmup:
                ax.axvline(warmup, color="#999", linestyle="--", linewidth=1)
            ax.set_title(scenario, fontsize=9)
            if key == "p95_ms":
                ax.set_yscale("log")
                ms_axis(ax.yaxis)
        for ax in plot.axes[len(scenarios) :]:
            ax.set_visible(False)
        for ax in plot.axes[(rows - 1) * cols :]:
            ax.set_xlabel("s since load started")
        for ax in plot.axes[::cols]:
            ax.set_ylabel(ylabel)
        legend_below(plot, target_handles([p.target for p, _ in drawn]))
        caption = "A panel per scenario. The dashed line ends the warm-up: the summary's figures count what follows it."
        html.append(figures.render(plot, caption))
    return "".join(html)
