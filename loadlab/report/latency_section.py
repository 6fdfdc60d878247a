"""What a run's HdrHistograms add to its report: the percentile spectrum of every point, and, for the
open model, what coordinated omission hides (latency from sending beside latency from the schedule).

A point whose latency log cannot be read is named in one line (the caller lists it under "Figures
not drawn"); the others are drawn all the same.
"""

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from loadlab.contract.latency import SCHEDULE, SEND
from loadlab.report.figures import Figures, color
from loadlab.report.html import Section, cell, number, paragraph, table
from loadlab.report.run_plots import grid, legend_below, ms_axis, target_handles
from loadlab.results import latency
from loadlab.results.folder import RunFolder
from loadlab.results.point import PointResult

STYLES = {SEND: "-", SCHEDULE: "--"}
NAMES = {SEND: "from sending", SCHEDULE: "from the schedule"}
TITLE = "What coordinated omission hides"


def _nines(v: float, _pos: object = None) -> str:
    """A 1/(1−q) tick as its percentile: 1 → 0%, 10 → 90%, 1000 → 99.9%."""
    if v <= 1:
        return "0%"
    q = 100 * (1 - 1 / v)
    return f"{q:.{max(0, round(math.log10(v)) - 2)}f}%"


def spectrum(figures: Figures, folder: Path, points: Sequence[PointResult]) -> tuple[str | None, list[str]]:
    """The percentile spectrum of every point with a latency log, a panel per scenario, latency
    against 1/(1−q) on log axes (HdrHistogram's plot); (its figure or None, a line per unreadable log)."""
    run = RunFolder(folder)
    problems: list[str] = []
    logs: list[tuple[PointResult, latency.LatencyLog]] = []
    for p in points:
        path = run.latency_log(p.point)
        if not path.exists():
            continue  # a run made before HdrHistogram recording: the table's note says so
        try:
            logs.append((p, latency.read(path)))
        except latency.LatencyLogError as exc:
            problems.append(f"Percentile spectrum of {p.point}: {exc}")
    logs = [(p, log) for p, log in logs if any(h.total for h in log.histograms.values())]
    if not logs:
        return None, problems
    scenarios = list(dict.fromkeys(p.scenario for p, _ in logs))
    rows, cols = grid(len(scenarios))
    plot = figures.new(
        "percentile-spectrum", "Percentile spectrum (every request, HdrHistogram)", cols, 1.4 + 2.3 * rows, nrows=rows
    )
    most = 1
    for ax, scenario in zip(plot.axes, scenarios, strict=False):
        for i, (p, log) in enumerate(lg for lg in logs if lg[0].scenario == scenario):
            for kind, h in log.histograms.items():
                x, y = latency.spectrum(h)
                most = max(most, h.total)
                style = STYLES[kind] if p.repeat is None else (":" if kind == SCHEDULE else "-")
                plot.data(ax.plot(x, y, color=color(p.target, i), linestyle=style, linewidth=1.4))
        ax.set_title(scenario, fontsize=9)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ms_axis(ax.yaxis)
    ticks = [10.0**k for k in range(math.floor(math.log10(most)) + 1)]
    for ax in plot.axes[: len(scenarios)]:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(_nines))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.tick_params(axis="x", labelsize=7)
    for ax in plot.axes[len(scenarios) :]:
        ax.set_visible(False)
    for ax in plot.axes[(rows - 1) * cols :]:
        ax.set_xlabel("percentile (log of 1/(1−q))")
    for ax in plot.axes[::cols]:
        ax.set_ylabel("latency (ms, log)")
    kinds = dict.fromkeys(k for _, log in logs for k in log.histograms)
    styles = [Line2D([], [], color="#444", linestyle=STYLES[k], label=NAMES[k]) for k in kinds]
    legend_below(plot, [*styles, *target_handles([p.target for p, _ in logs])])
    caption = (
        "Each line is one point's latency at every percentile, up to its maximum; the further right, the rarer. "
        "From the schedule (open model, dashed): counted from when each request was due, so a stall shows "
        "as the whole backlog it held up."
    )
    return figures.render(plot, caption), problems


def omission_section(points: Sequence[PointResult]) -> Section | None:
    """The open model's points measured both ways: the same requests' latency from sending and from
    their scheduled time, and how much the first understates."""
    both = [p for p in points if p.scheduled is not None and p.p99_ms]
    if not both:
        return None
    rows = []
    for p in both:
        s = p.scheduled
        assert s is not None
        ratio = s.p99_ms / p.p99_ms if s.p99_ms and p.p99_ms else None
        rows.append(
            [
                cell(p.point),
                cell(f"{number(p.rate, 1)}/s, {number(p.late)} late"),
                *(cell(number(v, 1), num=True) for v in (p.p50_ms, p.p99_ms, p.p999_ms, p.max_ms)),
                *(cell(number(v, 1), num=True) for v in (s.p50_ms, s.p99_ms, s.p999_ms, s.max_ms)),
                cell("—" if ratio is None else f"×{ratio:.1f}", num=True, css="bad" if ratio and ratio >= 2 else ""),
            ]
        )
    headers = ("point", "rate, sent late", "send p50", "send p99", "send p99.9", "send max")
    headers += ("schedule p50", "schedule p99", "schedule p99.9", "schedule max", "p99 understated")
    intro = paragraph(
        "The same requests, timed two ways (ms). From sending is what a closed-loop tool reports: a request "
        "that waited for a free connection, or sat behind a stalled server, starts its clock only when it "
        "finally goes out, so the wait is omitted — and the requests that would have shown it are the ones "
        "never sent on time. From the schedule counts that wait: it is the latency a user arriving at that "
        "moment saw."
    )
    return Section(TITLE, intro + table(headers, rows))
