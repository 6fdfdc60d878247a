"""`loadlab compare A B`: did run (or sweep) B regress against A? One verdict per point and figure.

    loadlab compare <run A> <run B> [--threshold 0.1] [--match target,scenario] [--results DIR] [--json]

A and B are run ids under --results (default results/) or paths of results folders; two runs or
two sweeps (a folder with sweep.json), not one of each.

Runs: points are matched on target, scenario, server and workers (`--match` picks other fields,
e.g. `--match target,scenario` to compare across worker counts); a point only one side has is
listed as such. Per point: throughput (rps), mean latency and p50/p95/p99, each B against A. A
difference counts as a regression only when it is beyond the threshold (default 10 %) and, where
both runs have per-second samples, a Mann–Whitney U test says it is not noise (see
loadlab.tuning.compare). The samples come from Locust's `locust/<point>_stats_history.csv`, after
the warm-up (where Locust's counts restart) and until the users stop:
- throughput: requests completed in each second (the file's own `Requests/s` column is Locust's
  moving average over ~10 s, not a per-second figure);
- mean latency: each second's mean, from the running totals (count × average);
- p50/p95/p99: none. Locust writes the history's percentiles over everything since the warm-up
  (per-second ones only with --csv-full-history, and those are overlapping 10-s windows, not
  independent samples). Instead, each run's percentile gets a distribution-free 95 % confidence
  interval from its request count and the percentiles Locust reports in `<point>_stats.csv` (see
  loadlab.tuning.compare.quantile_interval): a difference beyond the threshold whose intervals
  overlap is noise. The p-value column then says "—" (no test statistic); with no stats file
  the threshold decides alone.

Sweeps: configurations are compared on capacity_rps and capacity_p99_ms; there are no per-second
samples of a capacity, so the threshold alone decides.

Exit status, for CI: 0 when nothing regressed (improved, unchanged and noise all pass), 1 when B
regressed beyond the threshold on at least one figure, 2 for bad input (a missing run, a folder
that is not one, a run against a sweep, no point in common, a threshold outside (0, 1)), with one
line on stderr. E.g. in a pipeline:

    loadlab run --scenario io-sleep --run-id candidate ...
    loadlab compare baseline candidate --threshold 0.15   # fails the job on status 1 or 2

`html_section(result)` gives the same comparison as an HTML fragment for the report, and
`Result.to_dict()` as JSON-able data (`--json` prints it). `report_section(result)` is that fragment
titled "Comparison with A", as `loadlab.report.build(..., extra_sections=...)` takes it:
`loadlab report B --compare A` writes B's report with it, and exits 0 whatever the verdict (the
section says it). This module does not import the report: the report imports it.
"""

import argparse
import csv
import html
import itertools
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadlab.errors import FAILED, LoadlabError
from loadlab.results.folder import DEFAULT_ROOT, RunFolder
from loadlab.results.point import PointResult, RunSummary
from loadlab.results.sweep import SWEEP_FILE, ConfigResult, SweepSummary
from loadlab.tuning.compare import (  # SciPy is imported only when a test is made
    IMPROVED,
    MIN_SAMPLES,
    NOISE,
    REGRESSED,
    THRESHOLD,
    UNCHANGED,
    judge,
    judge_intervals,
    quantile_interval,
)

MATCH_FIELDS = ("target", "scenario", "server", "workers", "threads", "db_pool")
RUN_MATCH = ("target", "scenario", "server", "workers")

ONLY_A, ONLY_B = "only in A", "only in B"

# (figure, higher is better, heading): what is compared per point of a run, per configuration of a sweep
RUN_FIGURES = (
    ("rps", True, "rps"),
    ("mean_ms", False, "mean ms"),
    ("p50_ms", False, "p50 ms"),
    ("p95_ms", False, "p95 ms"),
    ("p99_ms", False, "p99 ms"),
)
SWEEP_FIGURES = (("capacity_rps", True, "capacity rps"), ("capacity_p99_ms", False, "capacity p99 ms"))
NO_SWEEP_SAMPLES = "sweeps: a capacity has no per-second samples, so the threshold alone decides"


@dataclass
class Row:
    item: str  # the point or configuration
    figure: str  # e.g. rps, p99_ms, capacity_rps; "" for a point only one side has
    a: float | None
    b: float | None
    change: float | None  # (b − a) ÷ a; ±inf when a is 0
    p_value: float | None  # None: no test (too few or no samples)
    verdict: str  # regressed, improved, unchanged, noise, only in A, only in B
    reason: str


@dataclass
class Result:
    kind: str  # "run" or "sweep"
    a: str  # as given on the command line
    b: str
    threshold: float
    match: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == REGRESSED]

    @property
    def status(self) -> int:
        return FAILED if self.regressions else 0

    def summary_line(self) -> str:
        figures = [r for r in self.rows if r.figure]
        items = len({r.item for r in figures})
        unit = "points" if self.kind == "run" else "configurations"
        only = [r for r in self.rows if not r.figure]
        tail = f"; {len(only)} {unit} on one side only" if only else ""
        if self.regressions:
            what = "; ".join(f"{r.item} {_heading(r.figure)} {_moved(r)}" for r in self.regressions)
            return (
                f"REGRESSED: {len(self.regressions)} of {len(figures)} figures beyond ±{self.threshold:.0%} "
                f"and not noise: {what}{tail}"
            )
        counts = {v: sum(r.verdict == v for r in figures) for v in (IMPROVED, NOISE)}
        said = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        return (
            f"no regression: {len(figures)} figures of {items} {unit} compared at ±{self.threshold:.0%}"
            + (f" ({said})" if said else "")
            + tail
        )

    def to_dict(self) -> dict[str, Any]:
        def number(x: float | None) -> float | str | None:
            return x if x is None or math.isfinite(x) else ("+inf" if x > 0 else "-inf")

        return {
            "kind": self.kind,
            "a": self.a,
            "b": self.b,
            "threshold": self.threshold,
            "match": list(self.match),
            "regressed": bool(self.regressions),
            "status": self.status,
            "summary": self.summary_line(),
            "rows": [{**r.__dict__, "a": number(r.a), "b": number(r.b), "change": number(r.change)} for r in self.rows],
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------- per-second samples of a run's point


@dataclass
class PerSecond:
    """A point's per-second samples from Locust's history file, after the warm-up."""

    rps: list[float] = field(default_factory=list)  # requests completed in each second
    mean_ms: list[float] = field(default_factory=list)  # mean latency of each second's requests
    whole_mean_ms: float | None = None  # mean latency of the whole measured window
    problem: str = ""  # why there are none, when there are none


def per_second(prefix: Path, point: PointResult) -> PerSecond:
    """Samples from `<prefix>_stats_history.csv` (Locust's `--csv`: an `Aggregated` row every
    CSV_STATS_INTERVAL_SEC, with running totals since the stats were last reset)."""
    path = Path(f"{prefix}_stats_history.csv")
    try:
        with path.open(newline="") as f:
            raw = [r for r in csv.DictReader(f) if r.get("Name") == "Aggregated"]
        rows = [
            (
                int(r["Timestamp"]),
                int(r["User Count"]),
                int(r["Total Request Count"]),
                float(r["Total Average Response Time"]),
            )
            for r in raw
        ]
    except FileNotFoundError:
        return PerSecond(problem=f"no {path.name}")
    except OSError as exc:
        return PerSecond(problem=f"cannot read {path.name}: {exc.strerror}")
    except (KeyError, TypeError, ValueError, csv.Error):
        return PerSecond(problem=f"{path.name} is not Locust's stats history")
    # the warm-up ends with a reset of Locust's stats: the running count drops; keep what follows
    start = max((i for i in range(1, len(rows)) if rows[i][2] < rows[i - 1][2]), default=0)
    begin = math.floor(point.started_at + point.warmup_s) if point.warmup_s and not start else -math.inf
    rows = [r for r in rows[start:] if r[0] >= begin]
    # ...until the users stop: a second in which the user count fell to 0 after being above it is not whole
    ran = False
    stop = math.inf
    for t, users, _, _ in rows:
        ran = ran or users > 0
        if ran and users == 0:
            stop = t
            break
    found = PerSecond()
    if rows and rows[-1][2]:
        found.whole_mean_ms = rows[-1][3]  # the running average over everything since the reset
    last: dict[int, tuple[int, float]] = {}  # second → (count, total latency) of its last row
    for t, _, count, mean in rows:
        if t < stop:
            last[t] = (count, count * mean)
    seconds = sorted(last)
    for before, now in itertools.pairwise(seconds):
        n = last[now][0] - last[before][0]
        found.rps.append(n / (now - before))
        if n > 0:
            found.mean_ms.append((last[now][1] - last[before][1]) / n)
    if not found.rps:
        found.problem = f"{path.name} has no whole second after the warm-up"
    return found


def final_percentiles(prefix: Path, point: PointResult) -> tuple[int, dict[float, float]] | None:
    """(requests, {quantile: ms}) of the point's route from Locust's `<prefix>_stats.csv` (after the
    warm-up), with 0 for the minimum; None when the file or the row is missing or unreadable."""
    try:
        with Path(f"{prefix}_stats.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        row = next((r for r in rows if r.get("Name") == point.route), None) or next(
            (r for r in rows if r.get("Name") == "Aggregated"), None
        )
        if row is None or not int(row["Request Count"]):
            return None
        known = {
            float(k[:-1]) / 100: float(v) for k, v in row.items() if k and k.endswith("%") and v not in ("N/A", "")
        }
        if not known:
            return None
        known[0.0] = min(float(row["Min Response Time"]), min(known.values()))
        return int(row["Request Count"]), known
    except (OSError, KeyError, TypeError, ValueError, csv.Error):
        return None


# ---------------------------------------------------------------- comparing


def _judge(a, b, samples_a: Sequence[float], samples_b: Sequence[float], higher_is_better: bool, threshold: float):
    return judge(a, b, samples_a, samples_b, higher_is_better=higher_is_better, threshold=threshold)


def _judge_percentile(figure: str, a: float, b: float, pct_a, pct_b, threshold: float):
    q = float(figure[1:3]) / 100  # p50_ms → 0.5
    intervals = [quantile_interval(q, *pct) if pct else None for pct in (pct_a, pct_b)]
    return judge_intervals(a, b, *intervals, higher_is_better=False, threshold=threshold)


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


def _point_label(p: PointResult) -> str:
    return f"{p.target} {p.scenario} {p.server} x{p.workers}"


def _load(p: PointResult) -> str:
    return f"{p.rate:g}/s open" if p.load_model == "open" else f"{p.users} users {p.load_model}"


def compare_runs(
    a: RunSummary,
    a_path: Path,
    b: RunSummary,
    b_path: Path,
    threshold: float = THRESHOLD,
    match: tuple[str, ...] = RUN_MATCH,
    names: tuple[str, str] = ("A", "B"),
) -> Result:
    """Each point of B against the matching point of A; `a_path`/`b_path` are the run folders (for
    Locust's history files)."""
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
        sa = per_second(a_path / "locust" / pa.point, pa)
        sb = per_second(b_path / "locust" / pb.point, pb)
        pct_a = final_percentiles(a_path / "locust" / pa.point, pa)
        pct_b = final_percentiles(b_path / "locust" / pb.point, pb)
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


def _add_only(result: Result, only_a: list, only_b: list, label: Callable) -> None:
    for verdict, items in ((ONLY_A, only_a), (ONLY_B, only_b)):
        for x in items:
            result.rows.append(Row(label(x), "", None, None, None, None, verdict, f"{verdict}: not compared"))


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
        if (path / SWEEP_FILE).is_file():
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
        return compare_runs(a.run, a.path, b.run, b.path, threshold, match or RUN_MATCH, names)
    assert a.sweep is not None and b.sweep is not None
    return compare_sweeps(a.sweep, b.sweep, threshold, match or MATCH_FIELDS, names)


# ---------------------------------------------------------------- output


def _heading(figure: str) -> str:
    return dict((f, h) for f, _, h in (*RUN_FIGURES, *SWEEP_FIGURES)).get(figure, figure)


def _num(x: float | None, figure: str = "") -> str:
    if x is None:
        return "—"
    return f"{x:.1f}" if figure.endswith("rps") or abs(x) < 10 else f"{x:.0f}"


def _moved(r: Row) -> str:
    """How a figure moved, for the summary line: its change, or its values when one side has none."""
    if r.change is not None:
        return _change(r.change)
    return (
        f"{_num(r.a, r.figure) if r.a is not None else 'none'} → {_num(r.b, r.figure) if r.b is not None else 'none'}"
    )


def _change(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:+.1%}" if math.isfinite(x) else ("+inf" if x > 0 else "-inf")


def _p(x: float | None) -> str:
    return "—" if x is None else f"{x:.2g}"


HEADERS = ("point", "figure", "A", "B", "change", "p-value", "verdict")


def cells(result: Result) -> list[tuple[str, ...]]:
    return [
        (
            r.item,
            _heading(r.figure),
            _num(r.a, r.figure),
            _num(r.b, r.figure),
            _change(r.change),
            _p(r.p_value),
            r.verdict,
        )
        for r in result.rows
    ]


def table(result: Result):
    from rich.table import Table

    t = Table(box=None, pad_edge=False, header_style="bold")
    headers = HEADERS if result.kind == "run" else ("configuration", *HEADERS[1:])
    for header in headers:
        t.add_column(
            header,
            justify="left" if header in ("point", "configuration", "figure", "verdict") else "right",
            no_wrap=True,
        )
    styles = {REGRESSED: "red", NOISE: "yellow", IMPROVED: "green"}
    for row, texts in zip(result.rows, cells(result), strict=True):
        t.add_row(*texts, style=styles.get(row.verdict))
    return t


def show(result: Result, out) -> None:
    out.print(f"compare {result.kind}s: A = {result.a}, B = {result.b}; threshold ±{result.threshold:.0%}")
    out.print()
    out.print(table(result))
    if result.notes:
        out.print()
        for note in result.notes:
            out.print(f"  {note}", soft_wrap=True)
    out.print()
    out.print(result.summary_line(), soft_wrap=True)


# the report's own classes (loadlab.report.html's CSS) beside the verdict's, so a verdict shows in colour
VERDICT_CSS = {REGRESSED: "bad", IMPROVED: "good"}


def html_section(result: Result, heading: bool = True) -> str:
    """The comparison as an HTML fragment: a <section> with the summary (the verdict), the table and
    the notes; every text escaped. Verdicts are classes (`verdict-regressed`, ...) and the report's
    `bad`/`good`. `heading=False` leaves out the <h2>, for a page that titles the section itself."""
    e = html.escape
    headers = HEADERS if result.kind == "run" else ("configuration", *HEADERS[1:])
    verdict_css = "bad" if result.regressions else "good"
    lines = [
        '<section class="loadlab-compare">',
        *([f"<h2>{e(result.kind.capitalize())} B against A</h2>"] if heading else []),
        f"<p>A: <code>{e(result.a)}</code>, B: <code>{e(result.b)}</code>, threshold ±{result.threshold:.0%}</p>",
        f'<p class="summary {verdict_css}"><strong>{e(result.summary_line())}</strong></p>',
        '<table class="compare">',
        "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr></thead>",
        "<tbody>",
    ]
    for row, texts in zip(result.rows, cells(result), strict=True):
        css = " ".join(c for c in ("verdict-" + row.verdict.replace(" ", "-"), VERDICT_CSS.get(row.verdict)) if c)
        tds = "".join(f"<td>{e(t)}</td>" for t in texts)
        lines.append(f'<tr class="{e(css)}" title="{e(row.reason)}">{tds}</tr>')
    lines += ["</tbody>", "</table>"]
    if result.notes:
        lines.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in result.notes) + "</ul>")
    lines.append("</section>")
    return "\n".join(lines) + "\n"


def report_section(result: Result) -> tuple[str, str]:
    """(title, html) of the comparison for `loadlab.report.build(..., extra_sections=[...])`."""
    return f"Comparison with {result.a}", html_section(result, heading=False)


# ---------------------------------------------------------------- the command


def threshold_arg(text: str) -> float:
    try:
        return check_threshold(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    except LoadlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def match_arg(text: str) -> tuple[str, ...]:
    try:
        return parse_match(text)
    except LoadlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register `compare` on the CLI's subparsers (made with the CLI's one-line-error parser class)."""
    p = subparsers.add_parser(
        "compare",
        help="did run (or sweep) B regress against A? exit 1 when it did (for CI)",
        description="Each point's throughput and latency, B against A; exit 0 no regression, 1 regressed, 2 bad input.",
    )
    p.add_argument("a", metavar="A", help="the baseline: a run id under --results, or a run or sweep folder")
    p.add_argument("b", metavar="B", help="the candidate, as A")
    p.add_argument("--results", type=Path, default=DEFAULT_ROOT, help="results folder (default results/)")
    p.add_argument(
        "--threshold",
        type=threshold_arg,
        default=THRESHOLD,
        help="relative change beyond which a difference may count (default 0.1: 10 %%)",
    )
    p.add_argument(
        "--match",
        type=match_arg,
        help=f"fields that pair points (default {','.join(RUN_MATCH)}; sweeps: the whole configuration)",
    )
    p.add_argument("--json", action="store_true", help="print the comparison as JSON instead of a table")
    return p


def main(args: argparse.Namespace) -> int:
    """0: nothing regressed; 1: B regressed beyond the threshold; 2: bad input, one line on stderr."""
    try:
        a, b = open_side(args.results, args.a), open_side(args.results, args.b)
        result = compare_sides(a, b, args.threshold, args.match)
    except LoadlabError as exc:
        print(f"loadlab compare: error: {exc}", file=sys.stderr)
        return exc.status
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        from loadlab.console.table import console

        show(result, console())
    return result.status
