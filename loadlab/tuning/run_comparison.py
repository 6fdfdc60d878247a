"""Run B against run A: each point's throughput, mean latency and p50/p95/p99/p99.9, with the test that
fits how the runs were made (loadlab.tuning.resample), all p-values adjusted together
(Benjamini–Hochberg), one verdict per figure (loadlab.tuning.compare.decide).

- Repeated runs (`--repeat N`, the same N on both sides): Welch's t test on the logs of the
  per-repeat figures: the spread between repetitions is the noise. A figure's value is the median
  of its repetitions.
- Single runs: throughput and mean latency from the per-second series of Locust's history after
  the warm-up (loadlab.results.locust_csv.read_per_second: requests completed in each second, and
  each second's mean), tested by a circular block bootstrap; the percentiles have no per-second
  samples, so each run's gets an order-statistic interval from its request count and its quantiles:
  exact from the point's HdrHistogram where it was recorded, else Locust's rounded columns.
  Within one run those say nothing of the spread between runs, so a change must also exceed this
  machine's noise floor (`loadlab calibrate`; loadlab.tuning.noise_floor): without a calibration
  of the point, a change beyond the threshold is "not enough data".
"""

import statistics

from loadlab.errors import LoadlabError
from loadlab.results.calibration import Calibration
from loadlab.results.folder import RunFolder
from loadlab.results.latency import known_quantiles
from loadlab.results.locust_csv import read_per_second, read_percentiles
from loadlab.results.point import FROM_HDR, PointResult, RunSummary
from loadlab.tuning import noise_floor, resample
from loadlab.tuning.compare import MIN_SAMPLES, THRESHOLD, Evidence, decide, percentile_estimate
from loadlab.tuning.comparison_result import RUN_FIGURES, Result, Row
from loadlab.tuning.pairing import add_only, group_points, pair, point_key, point_label

RUN_MATCH = ("target", "scenario", "server", "workers")
PERCENTILES = {"p50_ms": 0.5, "p95_ms": 0.95, "p99_ms": 0.99, "p999_ms": 0.999}


def repeat_count(summary: RunSummary) -> int:
    return max((p.repeat or 1 for p in summary.points), default=1)


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times (--repeat {n})"


def _load(p: PointResult) -> str:
    return f"{p.rate:g}/s open" if p.load_model == "open" else f"{p.users} users {p.load_model}"


def _repeated_evidence(a_folder: RunFolder, ga: list, b_folder: RunFolder, gb: list) -> dict[str, Evidence]:
    values_a = [noise_floor.figure_values(a_folder, p) for p in ga]
    values_b = [noise_floor.figure_values(b_folder, p) for p in gb]
    found = {}
    for figure, higher_is_better, _ in RUN_FIGURES:
        xs = [v[figure] for v in values_a if v[figure] is not None]
        ys = [v[figure] for v in values_b if v[figure] is not None]
        if not xs or not ys:
            continue
        estimate = resample.repeat_test(xs, ys)
        missing = "" if estimate else "fewer than 2 repetitions a side with a figure above 0"
        found[figure] = Evidence(
            statistics.median(xs), statistics.median(ys), higher_is_better, estimate, None, False, missing
        )
    return found


def _single_evidence(a_folder, pa: PointResult, b_folder, pb: PointResult, calibration, notes: list) -> dict:
    prefix_a, prefix_b = a_folder.locust_prefix(pa.point), b_folder.locust_prefix(pb.point)
    sa, sb = read_per_second(prefix_a, pa), read_per_second(prefix_b, pb)
    pct_a, pct_b = _quantiles(a_folder, pa), _quantiles(b_folder, pb)
    if pa.percentiles_from != pb.percentiles_from:
        notes.append(
            f"{point_label(pa)}: A's percentiles are {_source(pa)}, B's {_source(pb)}: a difference may be the rounding"
        )
    few = [
        f"{side}: {s.problem or f'{len(s.rps)} whole seconds'}"
        for side, s in (("A", sa), ("B", sb))
        if s.problem or len(s.rps) < MIN_SAMPLES
    ]
    values = {
        "rps": (pa.rps, pb.rps, sa.rps, sb.rps),
        "mean_ms": (sa.whole_mean_ms, sb.whole_mean_ms, sa.mean_ms, sb.mean_ms),
        **{f: (getattr(pa, f), getattr(pb, f), None, None) for f in PERCENTILES},
    }
    found, absent = {}, []
    for figure, higher_is_better, heading in RUN_FIGURES:
        va, vb, samples_a, samples_b = values[figure]
        if va is None or vb is None:
            if figure != "mean_ms" or not (sa.problem or sb.problem):
                absent.append(f"{heading} ({'A' if va is None else 'B'} has none)")
            continue
        estimate, missing = None, ""
        if figure in PERCENTILES:
            if pct_a and pct_b:
                estimate = percentile_estimate(PERCENTILES[figure], va, vb, pct_a, pct_b)
            missing = "" if estimate else "no request counts and percentiles (latency log or Locust's _stats.csv)"
        elif few:
            missing = f"fewer than {MIN_SAMPLES} per-second samples ({'; '.join(few)})"
        else:
            estimate = resample.block_bootstrap_ratio(samples_a, samples_b)
        floor = noise_floor.floor(calibration, pa.target, pa.scenario, figure)
        found[figure] = Evidence(va, vb, higher_is_better, estimate, floor, True, missing)
    if absent:
        notes.append(f"{point_label(pa)}: not compared: {', '.join(absent)}")
    return found


def _quantiles(folder: RunFolder, p: PointResult) -> tuple[int, dict[float, float]] | None:
    """(requests, {quantile: ms}) of a point: from its HdrHistogram, exact to 3 significant digits,
    where it was recorded; else Locust's rounded percentile columns."""
    if p.percentiles_from == FROM_HDR and (exact := known_quantiles(folder.latency_log(p.point))):
        return exact
    return read_percentiles(folder.locust_prefix(p.point), p.route)


def _source(p: PointResult) -> str:
    return "exact (HdrHistogram)" if p.percentiles_from == FROM_HDR else "Locust's, rounded"


def _differs(item: str, pa: PointResult, pb: PointResult, notes: list) -> None:
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
        notes.append(f"{item}: {'; '.join(differs)}")
    for side, p in (("A", pa), ("B", pb)):
        if p.partial:
            notes.append(f"{item}: {side}'s point is partial (interrupted)")
        if p.untrustworthy:
            notes.append(f"{item}: {side}'s point is untrustworthy: {'; '.join(p.untrustworthy_reasons)}")


def compare_runs(
    a: RunSummary,
    a_folder: RunFolder,
    b: RunSummary,
    b_folder: RunFolder,
    threshold: float = THRESHOLD,
    match: tuple[str, ...] = RUN_MATCH,
    names: tuple[str, str] = ("A", "B"),
    calibration: Calibration | None = None,
) -> Result:
    """Each point of B against the matching point of A; `a_folder`/`b_folder` hold Locust's files.
    `calibration`: this machine's noise floor, needed by single runs (checked by the caller)."""
    n_a, n_b = repeat_count(a), repeat_count(b)
    if n_a != n_b:
        raise LoadlabError(
            f"A ({names[0]}) measured each point {_times(n_a)}, B ({names[1]}) {_times(n_b)}: "
            "compare runs made with the same --repeat"
        )
    result = Result("run", names[0], names[1], threshold, match)
    groups_a, groups_b = group_points(a.points, match, "A"), group_points(b.points, match, "B")
    key = point_key(match)
    common, only_a, only_b = pair("point", groups_a, groups_b, lambda g: key(g[0]), lambda g: point_label(g[0]), match)
    for side, summary in (("A", a), ("B", b)):
        if summary.status != "complete":
            result.notes.append(f"{side} ({summary.run_id}) is {summary.status}: its points may be partial")
    family: list[tuple[str, str, Evidence]] = []
    for ga, gb in common:
        pa, pb = ga[0], gb[0]
        item = point_label(pa) if point_label(pb) == point_label(pa) else f"{point_label(pa)} / {point_label(pb)}"
        if n_a > 1:
            if len(ga) != len(gb):
                result.notes.append(f"{item}: {len(ga)} repetitions in A, {len(gb)} in B (interrupted?)")
            evidence = _repeated_evidence(a_folder, ga, b_folder, gb)
        else:
            evidence = _single_evidence(a_folder, pa, b_folder, pb, calibration, result.notes)
        family += [(item, figure, e) for figure, e in evidence.items()]
        _differs(item, pa, pb, result.notes)
    tested = [e.p_value for _, _, e in family if e.p_value is not None]
    q_values = iter(resample.adjust(tested))
    for item, figure, e in family:
        q = next(q_values) if e.p_value is not None else None
        verdict, reason = decide(e, q, threshold)
        low, high = (e.estimate.low - 1, e.estimate.high - 1) if e.estimate else (None, None)
        floor = e.floor.relative if e.floor and e.needs_floor else None
        result.rows.append(Row(item, figure, e.a, e.b, e.change, e.p_value, verdict, reason, low, high, floor, q))
    result.method = _method(n_a, len(tested), calibration)
    if n_a == 1 and calibration is None:
        result.notes.append(
            "no calibration of this machine: a change of single runs beyond the threshold is 'not enough data' "
            "(run `loadlab calibrate`, or repeat the runs with --repeat 3)"
        )
    add_only(result, only_a, only_b, lambda g: point_label(g[0]))
    return result


def _method(repeats: int, tests: int, calibration: Calibration | None) -> str:
    adjusted = f"p-values of {tests} figures adjusted by Benjamini–Hochberg (q < 0.05 counts)"
    if repeats > 1:
        return f"{repeats} repeats a side: {resample.WELCH}; {adjusted}"
    floor = (
        f"noise floor from {len(calibration.pairs)} A/A pairs of suite {calibration.suite} (loadlab calibrate), "
        "Student t on the spread of its runs"
        if calibration
        else "no noise floor (no calibration)"
    )
    return (
        f"single runs: rps and mean by a {resample.BOOTSTRAP}, percentiles by {resample.PERCENTILE}; "
        f"{floor}; {adjusted}"
    )
