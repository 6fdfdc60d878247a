"""Run (or sweep) B against A: pair their points (or configurations), judge each figure, one `Result`.

Runs: points are matched on target, scenario, server and workers (`match` picks other fields, e.g.
("target", "scenario") to compare across worker counts); a point only one side has is listed as
such. Per point: throughput (rps), mean latency and p50/p95/p99, each B against A. A difference
counts as a regression only when it is beyond the threshold (default 10 %) and, where both runs
have per-second samples, a Mann–Whitney U test says it is not noise (loadlab.tuning.compare). The
samples come from Locust's history file, after the warm-up and until the users stop
(loadlab.results.locust_csv.read_per_second):
- throughput: requests completed in each second (the file's own `Requests/s` column is Locust's
  moving average over ~10 s, not a per-second figure);
- mean latency: each second's mean, from the running totals (count × average);
- p50/p95/p99: none. Locust writes the history's percentiles over everything since the warm-up
  (per-second ones only with --csv-full-history, and those are overlapping 10-s windows, not
  independent samples). Instead, each run's percentile gets a distribution-free 95 % confidence
  interval from its request count and the percentiles Locust reports in `<point>_stats.csv`
  (loadlab.tuning.compare.quantile_interval): a difference beyond the threshold whose intervals
  overlap is noise. The p-value column then says "—" (no test statistic); with no stats file
  the threshold decides alone.

Sweeps: configurations are compared on capacity_rps and capacity_p99_ms; there are no per-second
samples of a capacity, so the threshold alone decides.

Bad input (a missing run, a run against a sweep, no point in common, a threshold outside (0, 1))
is a LoadlabError of one line. SciPy is imported only when a test is made.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadlab.errors import LoadlabError
from loadlab.results.folder import RunFolder
from loadlab.results.locust_csv import read_per_second, read_percentiles
from loadlab.results.point import PointResult, RunSummary
from loadlab.results.sweep import ConfigResult, SweepFolder, SweepSummary
from loadlab.tuning.compare import (
    IMPROVED,
    MIN_SAMPLES,
    REGRESSED,
    THRESHOLD,
    UNCHANGED,
    judge,
    judge_intervals,
    quantile_interval,
)
from loadlab.tuning.comparison_result import ONLY_A, ONLY_B, RUN_FIGURES, SWEEP_FIGURES, Result, Row

MATCH_FIELDS = ("target", "scenario", "server", "workers", "threads", "db_pool")
RUN_MATCH = ("target", "scenario", "server", "workers")

NO_SWEEP_SAMPLES = "sweeps: a capacity has no per-second samples, so the threshold alone decides"


# ---------------------------------------------------------------- reading the two sides


@dataclass
class Side:
    name: str
    path: Path
    run: RunSummary | None = None
    sweep: SweepSummary | None = None

    @property
    def kind(self) -> str:
        return "run" if self.run is not None else "sweep"


def open_side(root: Path, name: str) -> Side:
    """A run id under `root` or a path: a sweep when the folder holds sweep.json, else a run."""
    for path in (Path(name), root / name):
        if SweepFolder.holds_sweep(path):
            return Side(name, path, sweep=SweepSummary.read(path))
    folder = RunFolder.open(root, name)
    return Side(name, folder.path, run=folder.summary())


def check_threshold(value: float) -> float:
    if not 0 < value < 1:  # NaN fails too
        raise LoadlabError(f"--threshold must be between 0 and 1 (0.1 is 10 %), got {value:g}")
    return value


def parse_match(text: str) -> tuple[str, ...]:
    fields = tuple(f.strip().replace("-", "_") for f in text.split(",") if f.strip())
    unknown = [f for f in fields if f not in MATCH_FIELDS]
    if unknown or not fields:
        raise LoadlabError(f"--match takes fields among {','.join(MATCH_FIELDS)}, got {text!r}")
    return tuple(dict.fromkeys(fields))


def compare_sides(a: Side, b: Side, threshold: float, match: tuple[str, ...] | None = None) -> Result:
    check_threshold(threshold)
    if a.kind != b.kind:
        raise LoadlabError(
            f"cannot compare a {a.kind} ({a.name}) with a {b.kind} ({b.name}): give two runs or two sweeps"
        )
    names = (a.name, b.name)
    if a.run is not None and b.run is not None:
        return compare_runs(a.run, RunFolder(a.path), b.run, RunFolder(b.path), threshold, match or RUN_MATCH, names)
    assert a.sweep is not None and b.sweep is not None
    return compare_sweeps(a.sweep, b.sweep, threshold, match or MATCH_FIELDS, names)


# ---------------------------------------------------------------- pairing


def _index(items: list, key: Callable, label: Callable, side: str, unit: str, match: tuple[str, ...]) -> dict:
    found: dict = {}
    for item in items:
        k = key(item)
        if k in found:
            raise LoadlabError(
                f"{side} has two {unit}s matching {label(found[k])} on {', '.join(match)}: "
                "cannot tell which to compare; match on more fields (--match)"
            )
        found[k] = item
    return found


def _pair(kind: str, a: list, b: list, match: tuple[str, ...], label: Callable) -> tuple[list, list, list]:
    """(common pairs, only in A, only in B) of `a` and `b` matched on `match`; refuses none in common."""

    def key(x: Any) -> tuple:
        return tuple(getattr(x if kind == "run" else x.config, f) for f in match)

    unit = "point" if kind == "run" else "configuration"
    index_a = _index(a, key, label, "A", unit, match)
    index_b = _index(b, key, label, "B", unit, match)
    common = [(index_a[k], index_b[k]) for k in index_a if k in index_b]
    if not common:
        listed_a = ", ".join(label(x) for x in a) or "none"
        listed_b = ", ".join(label(x) for x in b) or "none"
        hint = "; --match target,scenario compares across servers and worker counts" if len(match) > 2 else ""
        raise LoadlabError(
            f"A and B have no {unit} in common when matched on {', '.join(match)} (A: {listed_a}; B: {listed_b}){hint}"
        )
    only_a = [index_a[k] for k in index_a if k not in index_b]
    only_b = [index_b[k] for k in index_b if k not in index_a]
    return common, only_a, only_b


def _add_only(result: Result, only_a: list, only_b: list, label: Callable) -> None:
    for verdict, items in ((ONLY_A, only_a), (ONLY_B, only_b)):
        for x in items:
            result.rows.append(Row(label(x), "", None, None, None, None, verdict, f"{verdict}: not compared"))


# ---------------------------------------------------------------- comparing


def _judge(a, b, samples_a: Sequence[float], samples_b: Sequence[float], higher_is_better: bool, threshold: float):
    return judge(a, b, samples_a, samples_b, higher_is_better=higher_is_better, threshold=threshold)


def _judge_percentile(figure: str, a: float, b: float, pct_a, pct_b, threshold: float):
    q = float(figure[1:3]) / 100  # p50_ms → 0.5
    intervals = [quantile_interval(q, *pct) if pct else None for pct in (pct_a, pct_b)]
    return judge_intervals(a, b, *intervals, higher_is_better=False, threshold=threshold)


def _point_label(p: PointResult) -> str:
    return f"{p.target} {p.scenario} {p.server} x{p.workers}"


def _load(p: PointResult) -> str:
    return f"{p.rate:g}/s open" if p.load_model == "open" else f"{p.users} users {p.load_model}"


def compare_runs(
    a: RunSummary,
    a_folder: RunFolder,
    b: RunSummary,
    b_folder: RunFolder,
    threshold: float = THRESHOLD,
    match: tuple[str, ...] = RUN_MATCH,
    names: tuple[str, str] = ("A", "B"),
) -> Result:
    """Each point of B against the matching point of A; `a_folder`/`b_folder` hold Locust's files."""
    result = Result("run", names[0], names[1], threshold, match)
    common, only_a, only_b = _pair("run", a.points, b.points, match, _point_label)
    for side, summary in (("A", a), ("B", b)):
        if summary.status != "complete":
            result.notes.append(f"{side} ({summary.run_id}) is {summary.status}: its points may be partial")
    no_samples = []
    for pa, pb in common:
        item = _point_label(pa)
        if pa.point != pb.point or _point_label(pb) != item:
            item = f"{item} / {_point_label(pb)}"
        prefix_a, prefix_b = a_folder.locust_prefix(pa.point), b_folder.locust_prefix(pb.point)
        sa, sb = read_per_second(prefix_a, pa), read_per_second(prefix_b, pb)
        pct_a, pct_b = read_percentiles(prefix_a, pa.route), read_percentiles(prefix_b, pb.route)
        for side, s in (("A", sa), ("B", sb)):
            if s.problem:
                no_samples.append(f"{item} {side}: {s.problem}")
            elif len(s.rps) < MIN_SAMPLES:
                no_samples.append(f"{item} {side}: {len(s.rps)} whole seconds, fewer than {MIN_SAMPLES}")
        values = {
            "rps": (pa.rps, pb.rps, sa.rps, sb.rps),
            "mean_ms": (sa.whole_mean_ms, sb.whole_mean_ms, sa.mean_ms, sb.mean_ms),
            "p50_ms": (pa.p50_ms, pb.p50_ms, (), ()),
            "p95_ms": (pa.p95_ms, pb.p95_ms, (), ()),
            "p99_ms": (pa.p99_ms, pb.p99_ms, (), ()),
        }
        missing = []
        for figure, higher_is_better, heading in RUN_FIGURES:
            va, vb, samples_a, samples_b = values[figure]
            if va is None or vb is None:
                if figure != "mean_ms" or not (sa.problem or sb.problem):
                    missing.append(f"{heading} ({'A' if va is None else 'B'} has none)")
                continue
            if figure in ("rps", "mean_ms"):
                c = _judge(va, vb, samples_a, samples_b, higher_is_better, threshold)
            else:
                c = _judge_percentile(figure, va, vb, pct_a, pct_b, threshold)
            result.rows.append(Row(item, figure, c.a, c.b, c.change, c.p_value, c.verdict, c.reason))
        if missing:
            result.notes.append(f"{item}: not compared: {', '.join(missing)}")
        differs = [
            f"{name} A {x} B {y}"
            for name, x, y in (
                ("load", _load(pa), _load(pb)),
                ("threads", pa.threads, pb.threads),
                ("db pool", pa.db_pool, pb.db_pool),
                ("server", pa.server, pb.server),
                ("workers", pa.workers, pb.workers),
            )
            if x != y
        ]
        if differs:
            result.notes.append(f"{item}: {'; '.join(differs)}")
        for side, p in (("A", pa), ("B", pb)):
            if p.partial:
                result.notes.append(f"{item}: {side}'s point is partial (interrupted)")
            if p.untrustworthy:
                result.notes.append(f"{item}: {side}'s point is untrustworthy: {'; '.join(p.untrustworthy_reasons)}")
    if no_samples:
        result.notes.append(
            f"fewer than {MIN_SAMPLES} per-second samples a side, so the threshold alone decides throughput "
            "and mean latency: " + "; ".join(no_samples)
        )
    result.notes.append(
        "p50/p95/p99: no per-second samples; a change beyond the threshold is noise while the two runs' "
        "95 % intervals (from request counts and Locust's percentiles) overlap"
    )
    _add_only(result, only_a, only_b, _point_label)
    return result


def compare_sweeps(
    a: SweepSummary,
    b: SweepSummary,
    threshold: float = THRESHOLD,
    match: tuple[str, ...] = MATCH_FIELDS,
    names: tuple[str, str] = ("A", "B"),
) -> Result:
    """Each configuration of sweep B against the matching one of A, on capacity and its p99."""
    result = Result("sweep", names[0], names[1], threshold, match)

    def label(c: ConfigResult) -> str:
        return c.config.id

    common, only_a, only_b = _pair("sweep", a.configs, b.configs, match, label)
    for side, sweep in (("A", a), ("B", b)):
        if sweep.status != "complete":
            result.notes.append(f"{side} ({sweep.sweep_id}) is {sweep.status}")
    for ca, cb in common:
        item = label(ca) if ca.config == cb.config else f"{label(ca)} / {label(cb)}"
        unfinished = [side for side, c in (("A", ca), ("B", cb)) if not c.done]
        if unfinished:  # a capacity still being searched is a lower bound at most: not compared
            result.notes.append(
                f"{item}: not compared: the capacity search of {' and '.join(unfinished)} did not finish"
            )
            continue
        for figure, higher_is_better, _ in SWEEP_FIGURES:
            va, vb = getattr(ca, figure), getattr(cb, figure)
            if va is not None and vb is not None:
                c = _judge(va, vb, (), (), higher_is_better, threshold)
                result.rows.append(Row(item, figure, c.a, c.b, c.change, None, c.verdict, c.reason))
            elif figure == "capacity_rps":
                if va is None and vb is None:
                    verdict, reason = UNCHANGED, "no rate tried met the SLO in either sweep"
                elif vb is None:
                    verdict, reason = REGRESSED, f"{va:.4g} → none: no rate B tried met the SLO"
                else:
                    verdict, reason = IMPROVED, f"none → {vb:.4g}: no rate A tried met the SLO"
                result.rows.append(Row(item, figure, va, vb, None, None, verdict, reason))
        for side, c in (("A", ca), ("B", cb)):
            if c.generator_saturated:
                result.notes.append(f"{item}: {side}'s generator saturated before the target")
    if not result.rows:
        raise LoadlabError(
            "no configuration the two sweeps share has finished its capacity search in both: nothing to compare yet"
        )
    result.notes.append(NO_SWEEP_SAMPLES)
    _add_only(result, only_a, only_b, label)
    return result
