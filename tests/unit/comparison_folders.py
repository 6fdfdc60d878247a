"""Hand-made results folders for the comparison's tests: summary.json plus Locust's stats and history
CSVs written as Locust writes them, sweeps, and `loadlab compare` / `loadlab ARGV` run in the test."""

import math
from pathlib import Path

from loadlab import cli
from loadlab.commands import compare as compare_command
from loadlab.commands.arguments import Parser
from loadlab.results.calibration import Calibration, Machine, settings_of
from loadlab.results.folder import RunFolder
from loadlab.results.locust_csv import history_path, stats_path
from loadlab.results.point import RunSummary
from loadlab.results.sweep import ConfigResult, Configuration, SweepSummary
from loadlab.tuning.comparison import compare_sides, open_side
from loadlab.tuning.comparison_result import RUN_FIGURES, Result, Row
from tests.unit.factories import point

T0 = 1_700_000_000  # Locust starts half a second after it
WARMUP_S = 3
PCT_COLUMNS = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%")
HISTORY_HEADER = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s," + ",".join(PCT_COLUMNS) + ",Total Request Count,"
    "Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,"
    "Total Max Response Time,Total Average Content Size"
)
STATS_HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s," + ",".join(PCT_COLUMNS)
)
STEADY = [100, 101, 99, 100, 102, 98, 100, 101, 99, 100, 100]  # requests per second, the first one partial
FAST = {"50%": 100, "95%": 100, "98%": 110, "99%": 110, "100%": 130}  # ms; missing columns: the one below


def history(path: Path, counts: list[float], means: list[float] | None = None) -> None:
    """Locust's `_stats_history.csv` as loadlab runs it: a row every 0.25 s with running totals, a
    warm-up at 500 ms whose totals are reset, `counts[i]` requests at `means[i]` ms in second i
    after the reset (the first second partial), then the users stopping."""
    means = means or [100.0] * len(counts)
    lines = [HISTORY_HEADER]

    def row(t: int, users: int, n: int, total_ms: float) -> None:
        pcts = ",".join(["N/A"] * len(PCT_COLUMNS)) if not n else ",".join(["100"] * len(PCT_COLUMNS))
        avg = total_ms / n if n else 0.0
        lines.append(f"{t},{users},,Aggregated,0.0,0.0,{pcts},{n},0,100,{avg!r},100,130,16.0")

    row(T0, 0, 0, 0.0)
    n, total = 0, 0.0
    for t in range(T0, T0 + WARMUP_S):
        for _ in range(4):
            n, total = n + 12, total + 12 * 500.0
            row(t, 1, n, total)
    t = T0 + WARMUP_S
    row(t, 1, 0, 0.0)  # the reset as the warm-up ends
    n, total = 0, 0.0
    for i, (count, mean) in enumerate(zip(counts, means, strict=True)):
        for quarter in range(4):
            part = round(count * (quarter + 1) / 4) - round(count * quarter / 4)
            n, total = n + part, total + part * mean
            row(t + i, 1, n, total)
    end = t + len(counts)
    n, total = n + 5, total + 5 * 900.0  # the stopping second: partial, slow, not a sample
    row(end, 1, n, total)
    row(end, 0, n, total)
    row(end + 1, 0, n, total)
    path.write_text("\n".join(lines) + "\n")


def stats(path: Path, route: str, requests: int, pcts: dict[str, float]) -> None:
    """Locust's `_stats.csv`: the route's row and the aggregate, with percentile columns."""
    values, last = [], pcts["50%"]
    for column in PCT_COLUMNS:
        last = pcts.get(column, last)
        values.append(f"{last:g}")
    tail = f"{requests},0,100,101.5,100.4,{pcts['100%']},16.0,10.0,0.0," + ",".join(values)
    path.write_text(f"{STATS_HEADER}\nGET,{route},{tail}\n,Aggregated,{tail}\n")


def write_run(root: Path, run_id: str, *points: dict) -> Path:
    """A run folder: each entry holds `fields` for the PointResult and optionally `counts` (history),
    `means`, `requests` and `pcts` (stats)."""
    folder = root / run_id
    (folder / "locust").mkdir(parents=True)
    results = []
    for spec in points:
        fields = {"started_at": T0 + 0.5, "warmup_s": float(WARMUP_S), **spec.get("fields", {})}
        p = point(**fields)
        results.append(p)
        prefix = RunFolder(folder).locust_prefix(p.point)
        if "counts" in spec:
            history(history_path(prefix), spec["counts"], spec.get("means"))
        if "pcts" in spec:
            stats(stats_path(prefix), p.route, spec.get("requests", 1000), spec["pcts"])
    (folder / "summary.json").write_text(RunSummary(run_id, "complete", T0, {}, results).to_json())
    return folder


def write_calibration(
    root: Path,
    keys: tuple[str, ...] = ("async io-sleep", "sync io-sleep"),
    sd: float = 0.03,
    pairs: int = 3,
    machine: Machine | None = None,
    **fields,
) -> Path:
    """<root>/calibration.json as `loadlab calibrate` writes it, for the hand-made points (`fields`
    override their settings): every figure's runs alternate around 100 so that the spread of an
    A/A change, ln(B ÷ A), is `sd`."""
    settings = {}
    for key in keys:
        target, scenario = key.split(" ", 1)
        settings[key] = settings_of(point(scenario, target, warmup_s=float(WARMUP_S), **fields))
    n = 2 * pairs
    d = sd / math.sqrt(2) / math.sqrt(n / (n - 1))  # ±d alternating: a standard deviation of d √(n ÷ (n − 1))
    values = {key: {f: [100 * math.exp(d * (-1) ** i) for i in range(n)] for f, _, _ in RUN_FIGURES} for key in keys}
    path = root / "calibration.json"
    runs = [[f"p{i}a", f"p{i}b"] for i in range(pairs)]
    Calibration(machine or Machine.here(), "calibration", settings, runs, values).write(path)
    return path


def steady(**fields) -> dict:
    return {
        "fields": {"rps": 100.0, "p50_ms": 100.0, "p95_ms": 100.0, "p99_ms": 110.0, **fields},
        "counts": STEADY,
        "pcts": FAST,
    }


def compare_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`loadlab compare ARGV` as cli.py will run it: the CLI's parser class, then main()."""
    parser = Parser(prog="loadlab")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    compare_command.register(sub)
    try:
        status = compare_command.main(parser.parse_args(["compare", *argv]))
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


def rows(result: Result, item_part: str = "") -> dict[str, Row]:
    return {r.figure: r for r in result.rows if item_part in r.item}


def run_result(root: Path, a: str, b: str, **kw) -> Result:
    return compare_sides(open_side(root, a), open_side(root, b), kw.pop("threshold", 0.1), **kw)


def write_sweep(root: Path, sweep_id: str, *configs: ConfigResult) -> Path:
    folder = root / sweep_id
    folder.mkdir(parents=True)
    (folder / "sweep.json").write_text(SweepSummary(sweep_id, "complete", T0, {}, 2, list(configs)).to_json())
    return folder


def config(workers: int, capacity: float | None, p99: float | None = 150.0, stopped: str = "bisected") -> ConfigResult:
    c = Configuration("sync", "io-sleep", "uvicorn", workers, 40, 10)
    return ConfigResult(c, capacity_rps=capacity, capacity_p99_ms=p99, stopped=stopped)


def loadlab_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`loadlab ARGV` as the command runs it: cli.main, its one-line errors and statuses."""
    status = cli.main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def slower_pair(root: Path) -> None:
    """Run "a" and run "b", B with 30 % less throughput: a regression, not noise, on this machine's
    calibration of 3 % between runs."""
    write_calibration(root)
    write_run(root, "a", steady())
    write_run(root, "b", {**steady(rps=70.0), "counts": [round(c * 0.7) for c in STEADY]})
