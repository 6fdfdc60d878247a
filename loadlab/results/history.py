"""Every run and sweep stored under a results folder, as series over time: what `loadlab history`
analyses (loadlab.tuning.history) and prints.

A series is one configuration measured again and again: the same target, scenario, server, workers,
threads, database pool and load (the model with its users or rate). Its entries are in the order
they were measured. A run contributes each point (a point measured with `--repeat N` as its
medians, loadlab.results.repeats.typical); a point cut short (Ctrl-C, or stopped by a capacity
search) is left out, being measured over another span. A sweep contributes each configuration's
capacity, the highest arrival rate that held, as a series of its own ("capacity (sweep)").

A summary that cannot be read (corrupt, another schema, an older loadlab's) is one warning naming
it; the rest are still read. Folders that are neither a run nor a sweep are passed over.
"""

from dataclasses import dataclass, field
from pathlib import Path

from loadlab.errors import LoadlabError
from loadlab.results.folder import RunFolder
from loadlab.results.point import PointResult, RunSummary
from loadlab.results.repeats import typical
from loadlab.results.sweep import SweepFolder, SweepSummary

# The figures of a series and their direction, in Otava's sense: +1 higher is better, -1 lower is better.
RUN_FIGURES = {"rps": 1, "p50_ms": -1, "p99_ms": -1}
SWEEP_FIGURES = {"capacity_rps": 1}
DIRECTION = {**RUN_FIGURES, **SWEEP_FIGURES}
CAPACITY = "capacity (sweep)"  # the load of a sweep's series


@dataclass(frozen=True, order=True)
class SeriesKey:
    """What a series holds fixed."""

    target: str
    scenario: str
    server: str
    workers: int
    threads: int
    db_pool: int
    load: str  # "closed, 10 users", "open, 50/s", "ramp, up to 100 users" or CAPACITY

    @property
    def label(self) -> str:
        return (
            f"{self.target} {self.scenario}, {self.server} ×{self.workers}, {self.threads} threads, "
            f"pool {self.db_pool}, {self.load}"
        )

    @property
    def figures(self) -> dict[str, int]:
        return SWEEP_FIGURES if self.load == CAPACITY else RUN_FIGURES


def load_of(p: PointResult) -> str:
    if p.load_model == "open":
        return f"open, {p.rate:g}/s"
    if p.load_model == "ramp":
        return f"ramp, up to {p.users} users"
    return f"{p.load_model}, {p.users} users"


@dataclass(frozen=True)
class Entry:
    """One measurement of a series."""

    time: float  # Unix time it started
    source: str  # the run's or the sweep's id (its folder's name)
    point: str  # the point's id in the run, or the configuration's id in the sweep
    values: dict[str, float | None]  # figure: value (None: not measured)


@dataclass
class History:
    series: dict[SeriesKey, list[Entry]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # one line per summary that could not be read
    newest: str | None = None  # the id of the run or sweep started last
    sources: int = 0  # runs and sweeps read

    def add(self, key: SeriesKey, entry: Entry) -> None:
        self.series.setdefault(key, []).append(entry)


# What a damaged summary can raise on its way through the typed readers, besides their own one-line errors
_DAMAGED = (LoadlabError, ValueError, TypeError, KeyError, AttributeError)


def read(root: Path) -> History:
    """Every run and sweep directly under `root`, grouped into series, each in time order."""
    if not root.is_dir():
        raise LoadlabError(f"{root}: no such results folder" if not root.exists() else f"{root} is not a folder")
    history = History()
    started: dict[str, float] = {}
    for path in sorted(root.iterdir()):
        sweep, run = SweepFolder(path), RunFolder(path)
        if not (sweep.holds_sweep(path) or run.holds_run(path)):
            continue
        try:
            if sweep.holds_sweep(path):
                started[path.name] = _add_sweep(history, path.name, SweepSummary.read(path))
            else:
                started[path.name] = _add_run(history, path.name, run.summary())
        except _DAMAGED as exc:
            file = sweep.summary_file if sweep.holds_sweep(path) else run.summary_file
            why = str(exc) if isinstance(exc, LoadlabError) else f"{file}: not a loadlab summary ({exc})"
            history.warnings.append(f"warning: left out {why}".replace("\n", " "))
    for entries in history.series.values():
        entries.sort(key=lambda e: (e.time, e.source, e.point))
    history.sources = len(started)
    history.newest = max(started, key=lambda s: (started[s], s)) if started else None
    return history


def _add_run(history: History, run_id: str, summary: RunSummary) -> float:
    for p in typical(summary.points):
        if p.partial or p.cut_short:
            continue
        key = SeriesKey(p.target, p.scenario, p.server, p.workers, p.threads, p.db_pool, load_of(p))
        values = {name: getattr(p, name) for name in RUN_FIGURES}
        history.add(key, Entry(p.started_at, run_id, p.point, values))
    return summary.started_at


def _add_sweep(history: History, sweep_id: str, sweep: SweepSummary) -> float:
    for r in sweep.configs:
        if r.capacity_rps is None:  # even its first rate broke the SLO: no capacity to follow
            continue
        c = r.config
        key = SeriesKey(c.target, c.scenario, c.server, c.workers, c.threads, c.db_pool, CAPACITY)
        history.add(key, Entry(sweep.started_at, sweep_id, c.id, {"capacity_rps": r.capacity_rps}))
    return sweep.started_at
