"""Run (or sweep) B against A (loadlab.tuning.comparison) on hand-made results folders, through
`loadlab compare` (loadlab.commands.compare) where the printed table matters."""

import json
import math
from dataclasses import replace

import pytest

from loadlab.errors import LoadlabError
from loadlab.results.calibration import Machine
from loadlab.tuning import compare as cmp
from loadlab.tuning.comparison import NO_SWEEP_SAMPLES, compare_sides, open_side
from tests.unit.comparison_folders import (
    FAST,
    STEADY,
    T0,
    compare_cli,
    config,
    rows,
    run_result,
    slower_pair,
    steady,
    write_calibration,
    write_run,
    write_sweep,
)

# ---------------------------------------------------------------- verdicts on single runs


def test_a_run_against_itself_is_noise_and_exits_0(tmp_path, capsys):
    write_calibration(tmp_path)
    write_run(tmp_path, "a", steady(), steady(target="sync", rps=10.0))
    status, out, err = compare_cli(capsys, "a", "a", "--results", str(tmp_path))
    assert (status, err) == (0, "")
    result = run_result(tmp_path, "a", "a")
    assert {r.verdict for r in result.rows} == {cmp.NOISE}
    assert {r.figure for r in result.rows} == {"rps", "mean_ms", "p50_ms", "p95_ms", "p99_ms"}
    assert len(result.rows) == 10
    assert "async io-sleep uvicorn-workers x4" in out and "noise" in out
    assert "tests: single runs: rps and mean by a circular block bootstrap" in out
    assert "Benjamini–Hochberg" in out and "noise floor from 3 A/A pairs of suite calibration" in out
    assert out.strip().splitlines()[-1].startswith("no regression: 10 figures of 2 points compared at ±10% (10 noise)")


def test_throughput_30_percent_lower_beyond_the_floor_is_a_regression_exit_1(tmp_path, capsys):
    slower_pair(tmp_path)
    status, out, err = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    assert (status, err) == (1, "")
    found = rows(run_result(tmp_path, "a", "b"))
    rps = found["rps"]
    assert rps.verdict == cmp.REGRESSION and rps.change == pytest.approx(-0.3)
    assert rps.q_value < 0.01 and -0.35 < rps.low < rps.high < -0.25
    assert rps.floor == pytest.approx(math.exp(2.571 * 0.03) - 1, rel=1e-3)  # 6 runs: t(0.975, 5 d.f.) × 3 %
    assert found["p99_ms"].verdict == cmp.NOISE
    last = out.strip().splitlines()[-1]
    assert last.startswith("REGRESSED: 1 of 5 figures") and "rps -30.0% [" in last
    assert any("rps" in line and "regression" in line and "-30.0%" in line for line in out.splitlines())
    # the other way round it is an improvement, and passes
    assert compare_cli(capsys, "b", "a", "--results", str(tmp_path))[0] == 0


def test_a_drop_within_this_machines_aa_noise_is_noise(tmp_path, capsys):
    write_run(tmp_path, "a", steady())
    write_run(tmp_path, "b", {**steady(rps=70.0), "counts": [round(c * 0.7) for c in STEADY]})
    write_calibration(tmp_path, sd=0.2)  # runs differ by ~20 % here: −30 % is within ±67 %
    rps = rows(run_result(tmp_path, "a", "b"))["rps"]
    assert rps.verdict == cmp.NOISE and "within this machine's A/A noise, ±67.2% (6 runs)" in rps.reason
    assert compare_cli(capsys, "a", "b", "--results", str(tmp_path))[0] == 0


def test_without_a_calibration_single_runs_are_not_enough_data_and_a_note_says_so(tmp_path, capsys):
    write_run(tmp_path, "a", steady())
    write_run(tmp_path, "b", {**steady(rps=70.0), "counts": [round(c * 0.7) for c in STEADY]})
    status, out, _ = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    rps = rows(run_result(tmp_path, "a", "b"))["rps"]
    assert (status, rps.verdict, rps.q_value) == (0, cmp.NOT_ENOUGH, None)
    assert "loadlab calibrate" in rps.reason and "no calibration of this machine" in out
    assert out.strip().splitlines()[-1].endswith("(4 noise, 1 not enough data)")
    # --calibration none says the same of a folder that holds one
    write_calibration(tmp_path)
    assert compare_cli(capsys, "a", "b", "--results", str(tmp_path), "--calibration", "none")[0] == 0
    assert compare_cli(capsys, "a", "b", "--results", str(tmp_path))[0] == 1


def test_a_large_difference_within_noisy_overlapping_samples_is_noise(tmp_path, capsys):
    write_calibration(tmp_path)
    noisy = [60, 50, 70, 80, 90, 100, 110, 130, 140, 150, 120, 100]  # slow swings: few independent seconds
    write_run(tmp_path, "a", {**steady(), "counts": noisy})
    write_run(tmp_path, "b", {**steady(rps=80.0), "counts": [round(c * 0.8) for c in noisy]})
    status, out, _ = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    rps = rows(run_result(tmp_path, "a", "b"))["rps"]
    assert rps.change == pytest.approx(-0.2)
    assert rps.verdict == cmp.NOISE and rps.q_value >= 0.05 and rps.low < 0 < rps.high
    assert status == 0 and "(5 noise)" in out


def test_percentiles_are_noise_while_their_intervals_overlap_and_regress_when_apart(tmp_path):
    write_calibration(tmp_path)
    # p99 110 → 130 ms from 300 requests: the intervals reach the maximum, they overlap
    write_run(tmp_path, "a", {**steady(), "requests": 300})
    write_run(tmp_path, "b", {**steady(p99_ms=130.0), "requests": 300, "pcts": {**FAST, "99%": 130, "100%": 140}})
    p99 = rows(run_result(tmp_path, "a", "b"))["p99_ms"]
    assert p99.verdict == cmp.NOISE and p99.p_value > 0.05
    # p95 100 → 400 ms from 2000 requests each: apart
    slow = {"50%": 300, "66%": 350, "95%": 400, "98%": 450, "99%": 500, "100%": 700}
    write_run(tmp_path, "c", {**steady(p50_ms=300.0, p95_ms=400.0, p99_ms=500.0), "requests": 2000, "pcts": slow})
    found = rows(run_result(tmp_path, "a", "c"))
    assert found["p95_ms"].verdict == found["p50_ms"].verdict == cmp.REGRESSION
    assert "order-statistic intervals" in found["p95_ms"].reason


def test_without_history_files_there_is_not_enough_data_and_a_note_says_so(tmp_path):
    write_calibration(tmp_path)
    write_run(tmp_path, "a", {"fields": {"rps": 100.0}})
    write_run(tmp_path, "b", {"fields": {"rps": 80.0}})
    result = run_result(tmp_path, "a", "b")
    found = rows(result)
    assert (found["rps"].verdict, found["rps"].p_value) == (cmp.NOT_ENOUGH, None)
    assert "no async-io-sleep_stats_history.csv" in found["rps"].reason
    assert "mean_ms" not in found  # it comes from the history alone
    assert result.status == 0


# ---------------------------------------------------------------- verdicts on repeated runs


def repeats(run_id: str, root, rps: list[float], counts_factor: float = 1.0, **fields):
    """A run of one point measured len(rps) times (--repeat)."""
    reps = []
    for i, value in enumerate(rps, 1):
        spec = steady(point=f"async-io-sleep-r{i}", repeat=i, rps=value, **fields)
        reps.append({**spec, "counts": [round(c * counts_factor) for c in STEADY]})
    return write_run(root, run_id, *reps)


def test_repeated_runs_are_judged_on_their_per_repeat_figures_without_a_calibration(tmp_path, capsys):
    repeats("a", tmp_path, [100.0, 102.0, 99.0])
    repeats("b", tmp_path, [80.0, 79.0, 81.5], counts_factor=0.8)
    repeats("c", tmp_path, [101.0, 98.0, 100.5])
    status, out, err = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    assert (status, err) == (1, "")
    rps = rows(run_result(tmp_path, "a", "b"))["rps"]
    assert rps.verdict == cmp.REGRESSION and rps.a == 100.0 and rps.b == 80.0  # the medians of the repetitions
    assert rps.floor is None and rps.high < -0.15 and "Welch" in rps.reason
    assert "3 repeats a side: Welch's t test on the logs of the per-repeat figures" in out
    assert "no calibration" not in out
    assert compare_cli(capsys, "a", "c", "--results", str(tmp_path))[0] == 0


def test_runs_with_different_repeat_counts_are_refused_saying_what_differs(tmp_path, capsys):
    repeats("a", tmp_path, [100.0, 102.0, 99.0])
    repeats("b", tmp_path, [100.0, 102.0])
    write_run(tmp_path, "once", steady())
    status, _, err = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    assert status == 2 and "A (a) measured each point 3 times (--repeat 3), B (b) 2 times (--repeat 2)" in err
    status, _, err = compare_cli(capsys, "once", "a", "--results", str(tmp_path))
    assert status == 2 and "A (once) measured each point once, B (a) 3 times" in err
    assert len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- the calibration refused


def test_a_calibration_of_another_machine_or_suite_is_refused_in_one_line(tmp_path, capsys):
    write_run(tmp_path, "a", steady())
    here = Machine.here()
    write_calibration(tmp_path, machine=replace(here, hostname="elsewhere", cpus=64))
    status, _, err = compare_cli(capsys, "a", "a", "--results", str(tmp_path))
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "was measured on another machine (hostname 'elsewhere' (here" in err and "CPU count 64" in err
    write_calibration(tmp_path, workers=1, duration_s=6.0)
    status, _, err = compare_cli(capsys, "a", "a", "--results", str(tmp_path))
    assert status == 2 and "calibrated another suite (calibration) than run a ran, at async io-sleep" in err
    assert "workers 1 vs 4" in err and "duration_s 6.0 vs 12.0" in err
    write_calibration(tmp_path, keys=("sync io-http",))
    status, _, err = compare_cli(capsys, "a", "a", "--results", str(tmp_path))
    assert status == 2 and "calibrated another suite (calibration: sync io-http)" in err
    (tmp_path / "calibration.json").write_text("{}")
    status, _, err = compare_cli(capsys, "a", "a", "--results", str(tmp_path))
    assert status == 2 and "not a loadlab calibration" in err
    # repeated runs need none: a wrong one is not even read
    repeats("r", tmp_path, [100.0, 101.0])
    assert compare_cli(capsys, "r", "r", "--results", str(tmp_path))[0] == 0


def test_a_point_on_one_side_only_is_listed_as_such(tmp_path, capsys):
    write_run(tmp_path, "a", steady(), steady(target="sync"))
    write_run(tmp_path, "b", steady(), steady(scenario="cpu"))
    status, out, _ = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    result = run_result(tmp_path, "a", "b")
    only = {(r.item, r.verdict) for r in result.rows if not r.figure}
    assert only == {("sync io-sleep uvicorn-workers x4", "only in A"), ("async cpu uvicorn-workers x4", "only in B")}
    assert status == 0
    assert "only in A" in out and "only in B" in out and "2 points on one side only" in out


def test_match_pairs_points_across_worker_counts_and_notes_what_differs(tmp_path, capsys):
    write_calibration(tmp_path)
    write_run(tmp_path, "a", steady(workers=4))
    write_run(tmp_path, "b", {**steady(workers=1, rps=25.0), "counts": [c // 4 for c in STEADY]})
    status, _, err = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    assert status == 2 and "no point in common" in err and "--match target,scenario" in err
    status, out, _ = compare_cli(capsys, "a", "b", "--results", str(tmp_path), "--match", "target,scenario")
    assert status == 1 and "workers A 4 B 1" in out


def test_the_threshold_is_the_users(tmp_path, capsys):
    slower_pair(tmp_path)
    assert compare_cli(capsys, "a", "b", "--results", str(tmp_path))[0] == 1
    assert compare_cli(capsys, "a", "b", "--results", str(tmp_path), "--threshold", "0.35")[0] == 0


def test_paths_work_as_well_as_run_ids(tmp_path, capsys):
    a = write_run(tmp_path, "a", steady())
    assert compare_cli(capsys, str(a), str(a), "--results", str(tmp_path / "elsewhere"))[0] == 0


# ---------------------------------------------------------------- sweeps


def test_sweeps_compare_capacity_by_the_threshold_alone(tmp_path, capsys):
    write_sweep(tmp_path, "s1", config(1, 100.0), config(2, 200.0), config(4, 400.0))
    write_sweep(tmp_path, "s2", config(1, 95.0), config(2, 150.0), config(4, None, None))
    status, out, _ = compare_cli(capsys, "s1", "s2", "--results", str(tmp_path))
    result = run_result(tmp_path, "s1", "s2")
    assert result.kind == "sweep" and status == 1
    verdicts = {(r.item.split("-")[4], r.figure): r.verdict for r in result.rows}
    assert verdicts == {
        ("w1", "capacity_rps"): cmp.NOISE,
        ("w1", "capacity_p99_ms"): cmp.NOISE,
        ("w2", "capacity_rps"): cmp.REGRESSION,
        ("w2", "capacity_p99_ms"): cmp.NOISE,
        ("w4", "capacity_rps"): cmp.REGRESSION,  # no rate B tried met the SLO
    }
    assert all(r.p_value is None for r in result.rows)
    assert NO_SWEEP_SAMPLES in result.notes and "threshold alone decides" in out
    assert out.splitlines()[1] == f"tests: {NO_SWEEP_SAMPLES}" and out.splitlines()[3].split()[0] == "configuration"
    assert compare_cli(capsys, "s1", "s1", "--results", str(tmp_path))[0] == 0


def test_an_unfinished_capacity_search_is_not_compared(tmp_path, capsys):
    write_sweep(tmp_path, "s1", config(1, 100.0), config(2, 200.0))
    write_sweep(tmp_path, "s2", config(1, 100.0), config(2, 20.0, stopped=""))  # still searching
    result = run_result(tmp_path, "s1", "s2")
    assert {r.item.split("-")[4] for r in result.rows} == {"w1"} and result.status == 0
    assert any("w2" in n and "the capacity search of B did not finish" in n for n in result.notes)
    write_sweep(tmp_path, "s3", config(1, None, None, stopped=""))
    status, _, err = compare_cli(capsys, "s1", "s3", "--results", str(tmp_path))
    assert status == 2 and "finished its capacity search" in err


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["a", "missing"], ["no run 'missing'"]),
        (["a", "empty"], ["not a loadlab results folder"]),
        (["a", "sweep"], ["cannot compare a run (a) with a sweep (sweep)"]),
        (["sweep", "a"], ["cannot compare a sweep (sweep) with a run (a)"]),
        (["a", "garbled"], ["summary.json", "is missing"]),
        (["a", "other"], ["no point in common", "A: async io-sleep", "B: async cpu"]),
        (["a", "a", "--threshold", "0"], ["--threshold", "between 0 and 1"]),
        (["a", "a", "--threshold", "1"], ["between 0 and 1"]),
        (["a", "a", "--threshold", "-0.1"], ["between 0 and 1"]),
        (["a", "a", "--threshold", "10"], ["between 0 and 1"]),
        (["a", "a", "--threshold", "nan"], ["between 0 and 1"]),
        (["a", "a", "--threshold", "ten"], ["expected a number"]),
        (["a", "a", "--match", "target,colour"], ["--match takes fields"]),
        (["a"], ["required: B"]),
    ],
)
def test_bad_input_is_one_line_and_status_2(tmp_path, capsys, argv, words):
    write_run(tmp_path, "a", steady())
    write_run(tmp_path, "other", steady(scenario="cpu"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / "summary.json").write_text(json.dumps({"schema_version": 1, "points": [{"point": "x"}]}))
    write_sweep(tmp_path, "sweep", config(1, 100.0))
    status, out, err = compare_cli(capsys, *argv, "--results", str(tmp_path))
    assert status == 2, (argv, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("loadlab compare: error: ")
    assert all(w in err for w in words), err


def test_main_refuses_a_threshold_outside_0_1_given_directly(tmp_path):
    with pytest.raises(LoadlabError, match="between 0 and 1"):
        compare_sides(
            open_side(tmp_path, str(write_run(tmp_path, "a", steady()))),
            open_side(tmp_path, "a"),
            1.5,
        )


# ---------------------------------------------------------------- HTML and JSON


def test_the_result_is_json_able_even_with_an_infinite_change(tmp_path, capsys):
    write_run(tmp_path, "a", {"fields": {"rps": 0.0}})
    write_run(tmp_path, "b", {"fields": {"rps": 5.0}})
    data = run_result(tmp_path, "a", "b").to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["rows"][0]["change"] == "+inf"
    status, out, _ = compare_cli(capsys, "a", "b", "--results", str(tmp_path), "--json")
    assert status == 0 and json.loads(out)["status"] == 0 and json.loads(out)["regressed"] is False


def _latency_log(folder, point_id: str, slow_share: float, slow_ms: float, n: int = 2000) -> None:
    """The point's HdrHistogram log: n requests at 100 ms, `slow_share` of them at `slow_ms` instead."""
    from loadlab.contract.latency import SEND, Histogram
    from loadlab.contract.latency_log import LatencyLog
    from loadlab.results.folder import RunFolder

    h = Histogram()
    slow = round(n * slow_share)
    for i in range(n):
        h.record_ms(slow_ms if i < slow else 100.0)
    path = RunFolder(folder).latency_log(point_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    LatencyLog(T0, T0 + 10, {SEND: h}).write(path)


def test_exact_percentiles_from_the_latency_logs_are_compared_where_locusts_columns_are_alike(tmp_path, capsys):
    """Locust's rounded columns say the same on both sides; the histograms say B's p99 doubled."""
    write_calibration(tmp_path)
    for run_id, p99 in (("a", 110.0), ("b", 220.0)):
        folder = write_run(tmp_path, run_id, steady(percentiles_from="hdr", p99_ms=p99))
        _latency_log(folder, "async-io-sleep", slow_share=0.02, slow_ms=p99)
    compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    rows = {r.figure: r for r in run_result(tmp_path, "a", "b").rows}
    assert rows["p99_ms"].verdict == cmp.REGRESSION
    assert rows["p50_ms"].verdict != cmp.REGRESSION  # the medians are alike: 100 ms on both sides


def test_runs_whose_percentiles_come_from_different_sources_say_so(tmp_path, capsys):
    write_calibration(tmp_path)
    write_run(tmp_path, "a", steady())  # Locust's rounded columns
    folder = write_run(tmp_path, "b", steady(percentiles_from="hdr"))
    _latency_log(folder, "async-io-sleep", slow_share=0.02, slow_ms=110.0)
    _, out, _ = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    assert "A's percentiles are Locust's, rounded, B's exact (HdrHistogram)" in out
