"""What `loadlab history` prints: each series over time, a line above the run where Otava found a
change point, "not enough runs" for a series too short to analyse, and the summary line last (the
one a CI log shows)."""

import time

from rich.console import Console

from loadlab.tuning.history import Change, HistoryAnalysis, SeriesHistory

HEADERS = {"rps": "rps", "p50_ms": "p50 ms", "p99_ms": "p99 ms", "capacity_rps": "capacity rps"}
WIDTH = 12  # of a figure's column


def figure(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def change_text(c: Change) -> str:
    verdict = "regression" if c.regression else "improvement"
    return f"{c.figure} {c.relative:+.0%} ({figure(c.before)} → {figure(c.after)}, p = {c.pvalue:.2g}) {verdict}"


def series_lines(s: SeriesHistory, need: int) -> list[tuple[str, str | None]]:
    """The series' lines, each with its style (a change point's: red for a regression, else green)."""
    runs = len(s.entries)
    head = f"{s.key.label}: {runs} run{'s' if runs != 1 else ''}"
    lines: list[tuple[str, str | None]] = [(head if s.analysed else f"{head}: not enough runs (need {need})", None)]
    names = list(s.key.figures)
    run_width = max(len("run"), *(len(e.source) for e in s.entries))
    lines.append((f"  {'started':16}  {'run':{run_width}}" + "".join(f"{HEADERS[n]:>{WIDTH}}" for n in names), None))
    for i, e in enumerate(s.entries):
        changes = s.changes_at(i)
        if changes:
            style = "red" if any(c.regression for c in changes) else "green"
            lines.append((f"  ── change point: {'; '.join(change_text(c) for c in changes)}", style))
        row = f"  {when(e.time):16}  {e.source:{run_width}}" + "".join(
            f"{figure(e.values.get(n)):>{WIDTH}}" for n in names
        )
        lines.append((row, None))
    if s.current:
        lines.append((f"  the newest run is in this regression ({', '.join(c.figure for c in s.current)})", "red"))
    return lines


def show(analysis: HistoryAnalysis, out: Console) -> None:
    """Every series, then the summary line (the warnings are the command's to print, on stderr)."""
    out.print(f"history of {len(analysis.series)} series; change points by {analysis.options.describe()}")
    for s in analysis.series:
        out.print()
        for line, style in series_lines(s, analysis.options.min_runs):
            out.print(line, soft_wrap=True, style=style)
    out.print()
    out.print(analysis.summary_line(), soft_wrap=True, style="red" if analysis.regressed else None)
