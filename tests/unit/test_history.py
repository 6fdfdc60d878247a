"""`loadlab history` on results folders written through the real types (RunSummary, PointResult,
RunFolder.write_summary, SweepSummary): a 30 % throughput drop from run 8 of 12 found there by
Otava with exit 1, the same history without it exit 0, and the bad input: too few runs, damaged
summaries, usage errors."""

import json
import random
from pathlib import Path

import pytest

from loadlab import report
from loadlab.cli import main
from loadlab.results import history
from loadlab.results.folder import RunFolder
from loadlab.results.point import RunSummary
from loadlab.results.sweep import ConfigResult, Configuration, SweepFolder, SweepSummary
from loadlab.tuning.history import Options, analyse
from tests.unit.factories import point

HOUR = 3600.0
T0 = 1_795_000_000.0
RUNS = 12
DROP_FROM = 8  # the first slowed run, counting from 1


def run_id(n: int) -> str:
    return f"run-{n:02d}"


def write_run(root: Path, n: int, rps: float, scenario: str = "io-sleep", point_after_s: float = 1.0) -> None:
    """Run n: one closed-model point of the sync target, its latency following its throughput
    (a closed loop: 100 users), started n hours after T0, its point `point_after_s` later."""
    started = T0 + n * HOUR
    p50 = 100 * 1000 / rps * 0.9
    p = point(
        scenario, "sync", rps=rps, p50_ms=p50, p95_ms=p50 * 1.2, p99_ms=p50 * 1.5, started_at=started + point_after_s
    )
    folder = RunFolder.create(root, run_id(n))
    folder.write_summary(RunSummary(run_id(n), "complete", started, {"users": 100}, [p], ended_at=started + 15))


def write_series(root: Path, drop: float | None, seed: int = 8) -> None:
    """RUNS runs around 1000 rps with 3 % noise; from run DROP_FROM on, `drop` slower."""
    noise = random.Random(seed)
    for n in range(1, RUNS + 1):
        level = 1000 * (1 - drop) if drop and n >= DROP_FROM else 1000
        write_run(root, n, level * noise.gauss(1, 0.03))


def loadlab(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["history", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def dropped(tmp_path: Path) -> Path:
    write_series(tmp_path, drop=0.3)
    return tmp_path


def test_a_30_percent_drop_from_run_8_is_found_at_run_8_and_exits_1(dropped, capsys):
    status, out, err = loadlab(capsys, "--results", str(dropped))
    assert status == 1, out + err
    lines = out.splitlines()
    marks = [i for i, line in enumerate(lines) if "── change point" in line]
    assert len(marks) == 1, out
    assert f" {run_id(DROP_FROM)} " in lines[marks[0] + 1], out  # marked just above run 8's line
    assert "rps -3" in lines[marks[0]] and "regression" in lines[marks[0]], out
    assert lines[-1].startswith(f"REGRESSED: the newest run ({run_id(RUNS)})"), out
    assert f"since {run_id(DROP_FROM)}" in lines[-1], out
    [series] = analyse(history.read(dropped)).series
    rps = [c for c in series.changes if c.figure == "rps"]
    assert [c.index for c in rps] == [DROP_FROM - 1] and rps[0].regression
    assert -0.35 < rps[0].relative < -0.25
    assert [c.figure for c in series.current] == ["rps", "p50_ms", "p99_ms"]


def test_the_same_history_without_the_change_exits_0(tmp_path, capsys):
    write_series(tmp_path, drop=None)
    status, out, err = loadlab(capsys, "--results", str(tmp_path))
    assert status == 0, out + err
    assert "change point:" not in out
    assert out.splitlines()[-1].startswith(f"no regression: the newest run ({run_id(RUNS)}) is in none of 1 series")


def test_a_faster_target_is_an_improvement_and_exits_0(tmp_path, capsys):
    write_series(tmp_path, drop=-0.3)
    status, out, _ = loadlab(capsys, "--results", str(tmp_path))
    assert status == 0
    [mark] = [line for line in out.splitlines() if "── change point" in line]
    assert "rps +" in mark and "improvement" in mark and "regression" not in mark


def test_an_old_regression_does_not_fail_a_newest_run_of_another_series(dropped, capsys):
    for n in range(RUNS + 1, RUNS + 3):
        write_run(dropped, n, 500.0, scenario="hello")
    status, out, _ = loadlab(capsys, "--results", str(dropped))
    assert status == 0, out
    assert "regression" in out  # still shown in its series
    assert "hello" in out and "not enough runs (need 5)" in out


def test_runs_measured_at_once_the_newest_started_last_even_when_its_point_started_first(dropped, capsys):
    write_run(dropped, RUNS + 1, 700.0, point_after_s=-HOUR)  # started after run 12, its point before run 12's
    status, out, _ = loadlab(capsys, "--results", str(dropped))
    assert status == 1, out
    assert out.splitlines()[-1].startswith(f"REGRESSED: the newest run ({run_id(RUNS + 1)})"), out


def test_too_few_runs_is_said_for_that_series_and_the_others_are_still_shown(dropped, capsys):
    for n in (20, 21):
        write_run(dropped, n, 300.0, scenario="hello")
    write_run(dropped, 22, 700.0)  # the newest: back in the io-sleep series, still slow
    status, out, _ = loadlab(capsys, "--results", str(dropped))
    assert status == 1, out
    short = [line for line in out.splitlines() if line.startswith("sync hello")]
    assert short == [
        "sync hello, uvicorn-workers ×4, 40 threads, pool 10, closed, 100 users: 2 runs: not enough runs (need 5)"
    ]
    assert out.count("── change point") == 1
    # the number needed is the one asked for
    status, out, _ = loadlab(capsys, "--results", str(dropped), "--min-runs", "3")
    assert "not enough runs (need 3)" in out


def test_damaged_and_old_summaries_are_one_warning_each_and_the_rest_is_read(dropped, capsys):
    bad = {"truncated": '{"schema_version": 1, "run_id": "x", ', "old": json.dumps({"run_id": "old", "points": []})}
    bad["wrong-points"] = json.dumps(
        {"schema_version": 1, "run_id": "w", "status": "complete", "started_at": 1.0, "config": {}, "points": [1]}
    )
    bad["wrong-type"] = json.dumps(
        {
            "schema_version": 1,
            "run_id": "w",
            "status": "complete",
            "started_at": 1.0,
            "config": {},
            "points": [{**point().to_dict(), "rps": "fast"}],
        }
    )
    for name, text in bad.items():
        (dropped / name).mkdir()
        (dropped / name / "summary.json").write_text(text)
    (dropped / "broken-sweep").mkdir()
    SweepFolder(dropped / "broken-sweep").summary_file.write_text('{"kind": "sweep"}')
    (dropped / "notes").mkdir()  # neither a run nor a sweep: passed over
    status, out, err = loadlab(capsys, "--results", str(dropped))
    assert status == 1, out + err  # the twelve good runs still read and judged
    warnings = err.splitlines()
    assert len(warnings) == len(bad) + 1, err
    for name in [*bad, "broken-sweep"]:
        assert sum(f"/{name}/" in w for w in warnings) == 1, err
    assert all(w.startswith("warning: left out ") for w in warnings), err
    assert "older loadlab" in err and "Traceback" not in err + out


def test_usage_errors_are_one_line_and_exit_2(tmp_path, capsys):
    status, out, err = loadlab(capsys, "--results", str(tmp_path / "missing"))
    assert (status, out) == (
        2,
        "",
    ) and err.strip() == f"loadlab history: error: {tmp_path / 'missing'}: no such results folder"
    status, _, err = loadlab(capsys, "--results", str(tmp_path))
    assert status == 2 and err.strip().endswith("nothing to follow over time")
    for args in (["--window", "1"], ["--min-runs", "2"], ["--max-pvalue", "1"], ["--min-magnitude", "x"]):
        with pytest.raises(SystemExit) as exit_:
            main(["history", "--results", str(tmp_path), *args])
        assert exit_.value.code == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_repeated_point_contributes_its_median(tmp_path):
    started = T0
    reps = [
        point("io-sleep", "sync", point=f"sync-io-sleep-r{i}", repeat=i, rps=r, started_at=started + i)
        for i, r in ((1, 900.0), (2, 1000.0), (3, 2000.0))
    ]
    RunFolder.create(tmp_path, "repeated").write_summary(RunSummary("repeated", "complete", started, {}, reps))
    [entries] = history.read(tmp_path).series.values()
    assert [(e.point, e.values["rps"]) for e in entries] == [("sync-io-sleep", 1000.0)]


def test_each_configuration_of_a_sweep_is_a_capacity_series(tmp_path, capsys):
    configs = [Configuration("async", "io-sleep", "uvicorn", w, 40, 10) for w in (1, 2)]
    for n, capacity in enumerate((800, 810, 790, 805, 800, 520), start=1):
        sweep = SweepSummary(
            f"sweep-{n}",
            "complete",
            T0 + n * HOUR,
            {},
            2,
            [ConfigResult(c, capacity_rps=capacity * c.workers) for c in configs],
        )
        (tmp_path / sweep.sweep_id).mkdir()
        SweepFolder(tmp_path / sweep.sweep_id).summary_file.write_text(sweep.to_json())
    found = history.read(tmp_path)
    assert sorted(k.label for k in found.series) == [
        f"async io-sleep, uvicorn ×{w}, 40 threads, pool 10, capacity (sweep)" for w in (1, 2)
    ]
    analysis = analyse(found, Options(min_runs=5))
    assert all(s.analysed and [c.figure for c in s.current] == ["capacity_rps"] for s in analysis.series)
    status, out, _ = loadlab(capsys, "--results", str(tmp_path))
    assert status == 1 and "capacity rps" in out


def test_the_report_of_the_newest_run_has_its_history_with_the_change_marked(dropped):
    analysis = analyse(history.read(dropped))
    out = report.build(dropped / run_id(RUNS), history=analysis)
    text = out.read_text()
    assert '<section id="s-history">' in text
    assert "sync io-sleep, uvicorn-workers ×4, 40 threads, pool 10, closed, 100 users" in text
    assert text.count('id="history-1-data-') >= 4  # three figures' lines and a change point's marker
    assert f"<td>{run_id(DROP_FROM)}</td><td>rps</td>" in text
    assert "is in a regression: rps -3" in text
    assert (out.parent / "report" / "history-1.png").is_file()
