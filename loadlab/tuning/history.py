"""Change points in the history of runs (loadlab.results.history), found by Apache Otava.

Otava (PyPI `apache-otava`, the successor of Hunter) runs E-divisive means over sliding windows of
`window_len` runs, tests each candidate with Student's t-test, and keeps a change point only when
its p-value is below `max_pvalue` and its relative change above `min_magnitude`. It is used here as
a library: each series becomes an `otava.series.Series` (time, one metric per figure with its
direction, the data, the run id and point of each entry as attributes), analysed with
`Series.analyze`, and its `change_points_by_time` are read back.

A change is a regression when it goes the bad way for its figure (Otava's own rule: direction ×
change < 0, so throughput down, latency up). A series is regressed now when the newest run or sweep
in the results folder measured it and, for some figure, the latest change point is a regression:
the newest run measured the series after it (runs measured at once may start their points in another
order than the runs started). That is what `loadlab history` exits 1 on.
"""

import warnings
from dataclasses import dataclass, field

from loadlab.results.history import DIRECTION, Entry, History, SeriesKey

WINDOW = 30  # runs per sliding window
MAX_PVALUE = 0.001  # Otava's own default
MIN_MAGNITUDE = 0.1  # 10 %: the threshold `loadlab compare` uses too
MIN_RUNS = 5  # fewer runs than this: no analysis


@dataclass(frozen=True)
class Options:
    window_len: int = WINDOW
    max_pvalue: float = MAX_PVALUE
    min_magnitude: float = MIN_MAGNITUDE
    min_runs: int = MIN_RUNS

    def describe(self) -> str:
        return (
            f"Apache Otava, window {self.window_len} runs, p < {self.max_pvalue:g}, "
            f"change > {self.min_magnitude:.0%}, at least {self.min_runs} runs a series"
        )


@dataclass(frozen=True)
class Change:
    """A change point of one figure: `index` is the first entry after it."""

    index: int
    figure: str
    before: float  # the mean of the runs before it (back to the previous change point), as Otava tests them
    after: float
    pvalue: float
    regression: bool

    @property
    def relative(self) -> float:
        return self.after / self.before - 1 if self.before else 0.0


@dataclass
class SeriesHistory:
    key: SeriesKey
    entries: list[Entry]
    changes: list[Change] = field(default_factory=list)  # by index, then figure
    analysed: bool = False  # False: fewer runs than Options.min_runs
    current: list[Change] = field(default_factory=list)  # the regressions the newest run is in

    def changes_at(self, index: int) -> list[Change]:
        return [c for c in self.changes if c.index == index]


@dataclass
class HistoryAnalysis:
    series: list[SeriesHistory]
    options: Options
    newest: str | None
    warnings: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> list[SeriesHistory]:
        return [s for s in self.series if s.current]

    @property
    def status(self) -> int:
        return 1 if self.regressed else 0

    def summary_line(self) -> str:
        analysed = sum(s.analysed for s in self.series)
        short = len(self.series) - analysed
        too_few = f"; {short} with too few runs (need {self.options.min_runs})" if short else ""
        if not self.regressed:
            return f"no regression: the newest run ({self.newest}) is in none of {analysed} series analysed{too_few}"
        named = "; ".join(
            f"{s.key.label}: "
            + ", ".join(f"{c.figure} {c.relative:+.0%} since {s.entries[c.index].source}" for c in s.current)
            for s in self.regressed
        )
        return f"REGRESSED: the newest run ({self.newest}) is in a regression: {named}"


def analyse(history: History, options: Options = Options()) -> HistoryAnalysis:
    """Every series of `history` analysed with Otava; series with too few runs are kept, unanalysed."""
    result = HistoryAnalysis([], options, history.newest, list(history.warnings))
    for key in sorted(history.series):
        series = SeriesHistory(key, history.series[key])
        if len(series.entries) >= options.min_runs:
            series.changes = change_points(key, series.entries, options)
            series.analysed = True
            series.current = _current(series, history.newest)
        result.series.append(series)
    return result


def change_points(key: SeriesKey, entries: list[Entry], options: Options) -> list[Change]:
    """Otava's change points of the series `key`, every figure measured in each of its entries."""
    from otava.series import AnalysisOptions, Metric, Series

    figures = [f for f in key.figures if all(e.values.get(f) is not None for e in entries)]
    if not figures:
        return []
    series = Series(
        test_name=key.label,
        branch=None,
        time=[int(e.time) for e in entries],
        metrics={f: Metric(direction=DIRECTION[f]) for f in figures},
        data={f: [float(e.values[f]) for e in entries] for f in figures},
        attributes={"run": [e.source for e in entries], "point": [e.point for e in entries]},
    )
    otava_options = AnalysisOptions()  # 0.8.0's takes no arguments: set its fields
    otava_options.window_len = options.window_len
    otava_options.max_pvalue = options.max_pvalue
    otava_options.min_magnitude = options.min_magnitude
    with warnings.catch_warnings():  # numpy's on a flat segment (a zero spread) say nothing Otava misses
        warnings.simplefilter("ignore", RuntimeWarning)
        analysed = series.analyze(otava_options)
    changes = []
    for group in analysed.change_points_by_time:
        for cp in group.changes:
            direction = series.metrics[cp.metric].direction
            changes.append(
                Change(
                    index=int(group.index),
                    figure=cp.metric,
                    before=float(cp.mean_before()),
                    after=float(cp.mean_after()),
                    pvalue=float(cp.pvalue()),
                    regression=direction * cp.forward_change_percent() < 0,
                )
            )
    return sorted(changes, key=lambda c: (c.index, figures.index(c.figure)))


def _current(series: SeriesHistory, newest: str | None) -> list[Change]:
    """The regressions the newest run is in: for each figure, its latest change point when that is a
    regression and the newest run measured the series after it."""
    latest: dict[str, Change] = {}
    for c in series.changes:
        latest[c.figure] = c
    return [c for c in latest.values() if c.regression and any(e.source == newest for e in series.entries[c.index :])]
