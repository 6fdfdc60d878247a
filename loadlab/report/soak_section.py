"""A soak's section of the report: the verdict, every series' trend in a table, and one figure per
kind of series (RSS, file descriptors, threads, scrape time, p99, error ratio, head series), a panel
per point, each series drawn with its fitted Theil-Sen line."""

from loadlab.report.figures import Figures, color
from loadlab.report.html import Section, cell, esc, paragraph, table
from loadlab.soak import drift
from loadlab.soak.record import SoakRecord, late_notes, series

TITLES = {
    "rss_mb": ("Resident memory", "MB"),
    "fds": ("Open file descriptors", "fds"),
    "threads": ("Threads", "threads"),
    "scrape_ms": ("/metrics scrape time (Prometheus's scrape_duration_seconds)", "ms"),
    "p99_ms": ("p99 latency per window (Locust)", "ms"),
    "error_ratio": ("Error ratio per window (Locust)", "ratio"),
    "head_series": ("Prometheus head series", "series"),
}
PANELS_PER_ROW = 3


def _slope(t: drift.Trend) -> str:
    if t.slope is None:
        return "—"
    unit = "%" if t.tolerance.relative and t.median else t.tolerance.unit
    return f"{t.slope:+.3g} [{t.low:+.3g}, {t.high:+.3g}] {unit}/h"


def _panel_of(key: str) -> str:
    """The panel a series is drawn in: its point (`async-io-sleep`), or the key's owner."""
    return key.split(" ")[1]


def _figure(figures: Figures, kind: str, trends: dict[str, drift.Trend], values: dict) -> str | None:
    keys = sorted(k for k in values if drift.kind_of(k) == kind)
    if not keys:
        return None
    panels = sorted({_panel_of(k) for k in keys})
    cols = min(len(panels), PANELS_PER_ROW)
    rows = -(-len(panels) // cols)
    title, unit = TITLES[kind]
    plot = figures.new(f"soak-{kind}", title, ncols=cols, nrows=rows, height=2.4 * rows + 0.6)
    for ax, panel in zip(plot.axes, panels, strict=False):
        ax.set_title(panel, fontsize=9)
        ax.set_xlabel("minutes")
        ax.set_ylabel(unit)
        for i, key in enumerate(k for k in keys if _panel_of(k) == panel):
            points = [(t / 60, v) for t, v in values[key] if v is not None]
            if not points:
                continue
            c = color("", i)
            plot.data(ax.plot([p[0] for p in points], [p[1] for p in points], "o-", ms=3, lw=1, color=c))
            t = trends[key]
            if t.slope_unit_per_h is not None:
                xs = [points[0][0], points[-1][0]]
                ys = [t.intercept + t.slope_unit_per_h * x / 60 for x in xs]
                plot.data(ax.plot(xs, ys, "--", lw=1, color=c))
    for ax in plot.axes[len(panels) :]:
        ax.set_visible(False)
    caption = f"dots: checkpoints; dashed: the Theil-Sen fit. Tolerance {drift.TOLERANCES[kind].describe()}."
    return figures.render(plot, caption)


def section(record: SoakRecord, figures: Figures) -> Section:
    checkpoints = record.checkpoints()
    settings, ending = record.settings(), record.ending()
    trends = record.trends()
    values, _ = series(checkpoints)
    by_key = {t.key: t for t in trends}
    drifting = drift.failed(trends)
    judged = sum(1 for t in trends if t.verdict != drift.TOO_FEW)
    verdict = (
        f"{len(drifting)} of {judged} series drift beyond their tolerance"
        if drifting
        else f"none of {judged} series drifts beyond its tolerance"
    )
    parts = [
        paragraph(
            f"{ending['status']}: {len(checkpoints)} checkpoints every {settings.checkpoint_s:g} s over "
            f"{settings.duration_s / 60:g} min; {', '.join(settings.scenarios)} on {', '.join(settings.targets)} "
            f"({settings.server} x{settings.workers}) at {settings.rate:g} rps each. Verdict: {verdict}."
        ),
        *(paragraph(n, "note") for n in [*late_notes(checkpoints), *ending.get("notes", [])]),
    ]
    rows, classes = [], []
    for t in trends:
        rows.append(
            [
                cell(t.key),
                cell(t.n, num=True),
                cell("—" if t.median is None else f"{t.median:.4g}", num=True),
                cell(_slope(t)),
                cell(t.tolerance.describe()),
                cell(t.verdict + (f" ({t.left_out} left out: generator behind)" if t.left_out else "")),
            ]
        )
        classes.append("bad" if t.verdict == drift.DRIFTS else "")
    for kind in drift.TOLERANCES:
        drawn = _figure(figures, kind, by_key, values)
        if drawn:
            parts.append(drawn)
    headers = ("series", "checkpoints", "median", "slope per hour [95 % interval]", "tolerance", "verdict")
    every = f"<summary>every series ({esc(len(trends))})</summary>{table(headers, rows, classes)}"
    parts.append(f"<details>{every}</details>")
    return Section("Soak: drift by trend", "".join(parts))
