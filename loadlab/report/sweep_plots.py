"""The figures of a sweep's report, one function each; None when there is nothing to draw."""

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from loadlab.model import HIDDEN_LIMIT_RATIO
from loadlab.report import run_plots
from loadlab.report.capacity_steps import AtCapacity
from loadlab.report.figures import Figures, color
from loadlab.report.prometheus_data import PointSide
from loadlab.results.sweep import ConfigResult, UslCurve
from loadlab.tuning.usl import throughput

HIDDEN = "#d62728"
MEASURED = "#4292c6"
CURVE_MARGIN = 1.15  # the USL curve runs this far past max(N*, the most workers measured)
LOG_SPREAD = 20.0  # highest ÷ lowest value beyond which the model figure uses a log scale
PEAK_CAP = 4.0  # ... but a peak far beyond what was measured is not drawn past this many times it


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def line_key(c: ConfigResult, varied: bool) -> str:
    """One line per server × target; threads and pool join the name when they vary between configurations."""
    key = f"{c.config.server} · {c.config.target}"
    return f"{key} · {c.config.threads} threads · pool {c.config.db_pool}" if varied else key


def _attempt(c: ConfigResult) -> tuple[float, float]:
    """Where a configuration got to: its capacity and p99 there, or its highest passing step's (a
    configuration whose generator saturated has no capacity of its own); 0 and NaN when none passed."""
    if c.capacity_rps is not None:
        return c.capacity_rps, _nan(c.capacity_p99_ms)
    passed = [s for s in c.steps if s.passed]
    if not passed:
        return 0.0, math.nan
    best = max(passed, key=lambda s: s.rate)
    return best.rate, _nan(best.p99_ms)


def capacity(figures: Figures, scenario: str, configs: Sequence[ConfigResult]) -> str | None:
    """Capacity and p99 at capacity against workers: one line per server × target."""
    if all(c.capacity_rps is None for c in configs):
        return None
    varied = len({(c.config.threads, c.config.db_pool) for c in configs}) > 1
    lines: dict[str, list[ConfigResult]] = {}
    for c in sorted(configs, key=lambda c: c.config.workers):
        lines.setdefault(line_key(c, varied), []).append(c)
    plot = figures.new(f"capacity-{scenario}", f"Capacity against workers: {scenario}", ncols=2)
    saturated_label = "generator saturated (not used)"
    for i, (key, group) in enumerate(lines.items()):
        workers = [c.config.workers for c in group]
        colour = color("", i)
        for ax, values, attempt in (
            (plot.axes[0], [_nan(c.capacity_rps) for c in group], [_attempt(c)[0] for c in group]),
            (plot.axes[1], [_nan(c.capacity_p99_ms) for c in group], [_attempt(c)[1] for c in group]),
        ):
            plot.data(ax.plot(workers, values, marker="o", color=colour, label=key))
            if ax is plot.axes[0]:  # each capacity's interval: from the rate held every time to the one that broke
                ends = [(w, c.capacity_rps, c.broke_rps) for w, c in zip(workers, group, strict=True)]
                ends = [e for e in ends if e[1] is not None and e[2] is not None]
                if ends:
                    plot.data(ax.vlines(*zip(*ends, strict=True), color=colour, linewidth=4, alpha=0.35))
            bad = [(w, v) for c, w, v in zip(group, workers, attempt, strict=True) if c.generator_saturated]
            if bad:
                plot.data(
                    ax.scatter(*zip(*bad, strict=True), marker="x", s=80, color=HIDDEN, zorder=3, label=saturated_label)
                )
                saturated_label = "_nolegend_"
    handles, labels = plot.axes[0].get_legend_handles_labels()
    plot.fig.legend(handles, labels, loc="outside right upper", fontsize=8)
    workers = sorted({c.config.workers for c in configs})
    for ax, label in ((plot.axes[0], "capacity (requests/s under the SLO)"), (plot.axes[1], "p99 at capacity (ms)")):
        ax.set_xticks(workers)
        ax.set_xlabel("workers")
        ax.set_ylabel(label)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.05)
    return figures.render(
        plot,
        "Capacity: the highest arrival rate that met the SLO in every measurement of it; the bar above "
        "each point runs to the lowest rate that broke it in any: the capacity lies in between.",
    )


def model_vs_measured(figures: Figures, scenario: str, configs: Sequence[ConfigResult]) -> str | None:
    """Measured capacity per configuration as bars, the model's ceiling as a line over each bar."""
    shown = sorted(
        (c for c in configs if c.model is not None or c.capacity_rps is not None),
        key=lambda c: (c.config.target, c.config.server, c.config.workers, c.config.threads),
    )
    if not shown:
        return None
    width = max(9.0, 0.45 * len(shown) + 2)
    plot = figures.new(f"model-{scenario}", f"Model vs measured: {scenario}", width=width, height=4.2)
    ax = plot.axes[0]
    x = np.arange(len(shown))
    measured = [_nan(c.capacity_rps) for c in shown]
    hidden = [bool(c.model and c.model.hidden_limit and not c.generator_saturated) for c in shown]
    bars = ax.bar(x, np.nan_to_num(measured), 0.7, color=[HIDDEN if h else MEASURED for h in hidden])
    plot.data(bars)
    for bar, h in zip(bars, hidden, strict=True):
        if h:
            bar.set_hatch("//")
    ceilings = [(i, c.model.ceiling_rps) for i, c in enumerate(shown) if c.model]
    if ceilings:
        plot.data(
            ax.hlines(
                [v for _, v in ceilings],
                [i - 0.45 for i, _ in ceilings],
                [i + 0.45 for i, _ in ceilings],
                colors="black",
                linewidth=2,
            )
        )
    values = [v for v in measured if v > 0] + [v for _, v in ceilings if v > 0]
    top, bottom = max(values, default=1.0), min(values, default=1.0)
    log = top / bottom > LOG_SPREAD  # a ceiling far above the bars: on a linear axis the bars vanish
    for i, c in enumerate(shown):
        said = "none met\nthe SLO" if c.capacity_rps is None else (f"{c.model.ratio:.2f}" if c.model else "")
        if c.generator_saturated:
            said = "generator\nsaturated"  # measured the generator, not the target
        elif c.model and c.model.hidden_limit:
            said += "\nhidden limit"
        y = max(np.nan_to_num(measured[i]), c.model.ceiling_rps if c.model else 0)
        ax.text(i, y * 1.08 if log else y + 0.02 * top, said, ha="center", va="bottom", fontsize=7)
    handles = [
        Patch(color=MEASURED, label="measured capacity"),
        Line2D([], [], color="black", lw=2, label="model ceiling"),
    ]
    if any(hidden):
        handles.append(
            Patch(facecolor=HIDDEN, hatch="//", label=f"below {HIDDEN_LIMIT_RATIO} of the model: hidden limit")
        )
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_xticks(x, [f"×{c.config.workers}" for c in shown], fontsize=8)
    _group_labels(ax, [f"{c.config.target}\n{c.config.server}" for c in shown])
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom / 2, top * 4)
        ax.set_ylabel("requests/s (log scale)")
    else:
        ax.set_ylim(0, top * 1.2)
        ax.set_ylabel("requests/s")
    return figures.render(plot, "Above each bar: measured ÷ model. The binding limit of each ceiling is in the table.")


def _group_labels(ax, groups: Sequence[str]) -> None:
    """Under the bars' tick labels: one label per run of equal group names, and a line between groups."""
    start = 0
    for i in range(1, len(groups) + 1):
        if i == len(groups) or groups[i] != groups[start]:
            ax.annotate(
                groups[start],
                xy=((start + i - 1) / 2, 0),
                xycoords=("data", "axes fraction"),
                xytext=(0, -22),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=8,
            )
            if i < len(groups):
                ax.axvline(i - 0.5, color="#bbb", linewidth=0.8)
            start = i
    ax.set_xlabel("workers, per target and server", labelpad=26)


def usl_range(curve: UslCurve) -> float:
    """The most workers the fitted curve is drawn to: past the peak and the measurements, but not endlessly."""
    most = max(curve.workers, default=1)
    peak = curve.peak_workers or 0.0
    return max(most, min(peak, PEAK_CAP * most)) * CURVE_MARGIN


def usl(figures: Figures, curve: UslCurve) -> str | None:
    """The fitted USL curve through the measured capacities of one server × target × scenario."""
    if not curve.workers:
        return None
    name = f"usl-{curve.scenario}-{curve.target}-{curve.server}"
    plot = figures.new(name, f"USL: {curve.target} {curve.scenario} on {curve.server}", height=3.6, width=7.5)
    ax = plot.axes[0]
    n = np.linspace(1, usl_range(curve), 200)
    fitted = f"fit: λ={curve.lam:.3g}, σ={curve.sigma:.3g}, κ={curve.kappa:.3g}"
    fitted_x = throughput(n, curve.lam, curve.sigma, curve.kappa)
    plot.data(ax.plot(n, fitted_x, color="#555", label=fitted))
    plot.data(ax.scatter(curve.workers, curve.capacity_rps, color=color(curve.target, 0), zorder=3, label="measured"))
    if curve.peak_workers is not None and curve.peak_workers <= n[-1]:
        ax.axvline(curve.peak_workers, color="#999", linestyle=":", label=f"N* = {curve.peak_workers:.1f}")
    ax.set_xlabel("workers")
    ax.set_ylabel("capacity (requests/s)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max([*curve.capacity_rps, float(np.max(fitted_x))]) * 1.15)
    return figures.render(plot, curve.verdict)


def _short_labels(items: Sequence[AtCapacity], with_target: bool) -> list[str]:
    """`sync ×2`: what varies between the configurations drawn together, and nothing else."""
    configs = [a.config.config for a in items]
    servers = len({c.server for c in configs}) > 1
    sizes = len({(c.threads, c.db_pool) for c in configs}) > 1
    return [
        " ".join(
            part
            for part in (
                c.target if with_target else "",
                c.server if servers else "",
                f"×{c.workers}",
                f"{c.threads}t p{c.db_pool}" if sizes else "",
            )
            if part
        )
        for c in configs
    ]


def latency_at_capacity(figures: Figures, scenario: str, items: Sequence[AtCapacity]) -> str | None:
    """Locust's p50, p95, p99 and p99 from the schedule at each configuration's capacity."""
    if not items:
        return None
    return run_plots.percentiles(
        figures,
        [a.point for a in items],
        _short_labels(items, with_target=True),
        name=f"latency-at-capacity-{scenario}",
        title=f"Latency at capacity: {scenario} (client side, Locust)",
        scheduled=True,
    )


def distribution_at_capacity(figures: Figures, scenario: str, target: str, items: Sequence[AtCapacity]) -> str | None:
    """The share of requests per latency bucket (Locust's histogram) of each configuration of `target`
    at its capacity."""
    shown = [a for a in items if a.config.config.target == target and a.side is not None and a.side.client]
    drawn = [
        (label, color("", i), PointSide(None, None, None, a.side.client))
        for i, (label, a) in enumerate(zip(_short_labels(shown, with_target=False), shown, strict=True))
        if a.side is not None
    ]
    return run_plots.distributions(
        figures,
        f"distribution-at-capacity-{scenario}-{target}",
        f"Latency distribution at capacity: {target} {scenario} (Locust's histogram)",
        drawn,
    )
