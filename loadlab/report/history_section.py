"""The report's "History" section (`loadlab report <run> --history`): every series the reported run
or sweep measured, over all the runs and sweeps stored beside it, with the change points Apache
Otava found (loadlab.tuning.history) marked on one figure per series and listed in a table.

A figure has the series' throughput (a sweep's: its capacity) on the left and, for runs, its p50
and p99 on the right, against the runs in time order (labelled by run id; the reported run's
points are ringed). A change point is a dashed line just before the first run after it: red for a
regression, green for an improvement, labelled with the change of each figure.
"""

from loadlab.report import html
from loadlab.report.figures import Figures
from loadlab.tuning.history import HistoryAnalysis, SeriesHistory

REGRESSION = "#d62728"
IMPROVEMENT = "#2ca02c"
LINES = {"rps": "#1f77b4", "capacity_rps": "#1f77b4", "p50_ms": "#9ecae1", "p99_ms": "#08519c"}
MAX_LABELS = 14  # run ids written under the axis at most; every n-th beyond that
TITLE = "History"


def section(analysis: HistoryAnalysis, source: str, figures: Figures) -> html.Section:
    """The section for the run or sweep `source` (its id: its folder's name)."""
    mine = [s for s in analysis.series if any(e.source == source for e in s.entries)]
    parts = [
        html.paragraph(
            f"Every series {source} measured, over the {len(analysis.series)} series stored beside it; "
            f"change points by {analysis.options.describe()}."
        )
    ]
    if analysis.warnings:
        parts.append(html.bullets(analysis.warnings, "note"))
    if not mine:
        parts.append(html.paragraph(f"{source} measured no point that a history follows (all cut short?).", "note"))
    for i, s in enumerate(mine):
        parts.append(html.subsection(s.key.label, _series(s, i, source, analysis, figures)))
    return html.Section(TITLE, "".join(parts))


def _series(s: SeriesHistory, i: int, source: str, analysis: HistoryAnalysis, figures: Figures) -> str:
    need = analysis.options.min_runs
    parts = []
    if not s.analysed:
        parts.append(html.paragraph(f"{len(s.entries)} runs: not enough runs (need {need}).", "note"))
    elif not s.changes:
        parts.append(html.paragraph(f"{len(s.entries)} runs, no change point.", "good"))
    if s.current:
        named = ", ".join(f"{c.figure} {c.relative:+.0%}" for c in s.current)
        parts.append(html.paragraph(f"The newest run ({analysis.newest}) is in a regression: {named}.", "bad"))
    parts.append(figure(figures, s, i, source))
    if s.changes:
        rows = [
            [
                html.cell(s.entries[c.index].source),
                html.cell(c.figure),
                html.cell(html.number(c.before, 1), num=True),
                html.cell(html.number(c.after, 1), num=True),
                html.cell(f"{c.relative:+.0%}", num=True),
                html.cell(f"{c.pvalue:.2g}", num=True),
                html.cell("regression" if c.regression else "improvement", css="bad" if c.regression else "good"),
            ]
            for c in s.changes
        ]
        headers = ("first run after", "figure", "mean before", "mean after", "change", "p", "verdict")
        parts.append(html.table(headers, rows))
    return "".join(parts)


def figure(figures: Figures, s: SeriesHistory, i: int, source: str) -> str:
    """The series over its runs, change points marked."""
    names = list(s.key.figures)
    groups = [[n for n in names if not n.endswith("_ms")], [n for n in names if n.endswith("_ms")]]
    groups = [g for g in groups if g]
    plot = figures.new(f"history-{i + 1}", f"History: {s.key.label}", ncols=len(groups))
    x = list(range(len(s.entries)))
    ringed = [k for k, e in enumerate(s.entries) if e.source == source]
    for ax, group in zip(plot.axes, groups, strict=True):
        for name in group:
            values = [float("nan") if e.values.get(name) is None else e.values[name] for e in s.entries]
            plot.data(ax.plot(x, values, marker="o", markersize=4, color=LINES.get(name), label=name))
            ax.scatter([x[k] for k in ringed], [values[k] for k in ringed], s=90, facecolors="none", edgecolors="k")
        for index in sorted({c.index for c in s.changes}):
            changes = [c for c in s.changes_at(index) if c.figure in group]
            if not changes:
                continue
            colour = REGRESSION if any(c.regression for c in changes) else IMPROVEMENT
            plot.data(ax.axvline(index - 0.5, color=colour, linestyle="--", linewidth=1.5))
            text = "\n".join(f"{c.figure} {c.relative:+.0%}" for c in changes)
            ax.annotate(text, (index - 0.4, 1), xycoords=("data", "axes fraction"), va="top", fontsize=8, color=colour)
        ax.legend(loc="lower left", fontsize=8)
        ax.set_ylabel("requests/s" if group[0].endswith("rps") else "latency (ms)")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.1)
        step = max(1, -(-len(x) // MAX_LABELS))
        ax.set_xticks(x[::step], [s.entries[k].source for k in x[::step]], rotation=30, ha="right", fontsize=7)
        ax.set_xlim(-0.5, len(x) - 0.5)
    caption = (
        "Runs in time order; the reported run ringed; dashed: a change point (red: regression, green: improvement)."
    )
    return figures.render(plot, caption)
