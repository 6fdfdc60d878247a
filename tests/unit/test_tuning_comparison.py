"""Run (or sweep) B against A (loadlab.tuning.comparison) on hand-made results folders, through
`loadlab compare` (loadlab.commands.compare) where the printed table matters."""

import json
import math

import pytest

from loadlab.errors import LoadlabError
from loadlab.tuning import compare as cmp
from loadlab.tuning.comparison import NO_SWEEP_SAMPLES, compare_sides, open_side
from tests.unit.comparison_folders import (
    FAST,
    STEADY,
    compare_cli,
    config,
    rows,
    run_result,
    steady,
    write_run,
    write_sweep,
)

# ---------------------------------------------------------------- verdicts on runs


def test_a_run_against_itself_is_unchanged_and_exits_0(tmp_path, capsys):
    write_run(tmp_path, "a", steady(), steady(target="sync", rps=10.0))
    status, out, err = compare_cli(capsys, "a", "a", "--results", str(tmp_path))
    assert (status, err) == (0, "")
    result = run_result(tmp_path, "a", "a")
    assert {r.verdict for r in result.rows} == {cmp.UNCHANGED}
    assert {r.figure for r in result.rows} == {"rps", "mean_ms", "p50_ms", "p95_ms", "p99_ms"}
    assert len(result.rows) == 10
    assert "async io-sleep uvicorn-workers x4" in out and "unchanged" in out
    assert out.strip().splitlines()[-1].startswith("no regression: 10 figures of 2 points")


def test_throughput_30_percent_lower_with_consistent_samples_is_a_regression_exit_1(tmp_path, capsys):
    write_run(tmp_path, "a", steady())
    write_run(tmp_path, "b", {**steady(rps=70.0), "counts": [round(c * 0.7) for c in STEADY]})
    status, out, err = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    assert (status, err) == (1, "")
    found = rows(run_result(tmp_path, "a", "b"))
    assert found["rps"].verdict == cmp.REGRESSED
    assert found["rps"].change == pytest.approx(-0.3)
    assert found["rps"].p_value < 0.001
    assert found["p99_ms"].verdict == cmp.UNCHANGED
    last = out.strip().splitlines()[-1]
    assert last.startswith("REGRESSED: 1 of 5 figures") and "rps -30.0%" in last
    assert any("rps" in line and "regressed" in line and "-30.0%" in line for line in out.splitlines())
    # the other way round it is an improvement, and passes
    assert compare_cli(capsys, "b", "a", "--results", str(tmp_path))[0] == 0


def test_a_large_difference_within_noisy_overlapping_samples_is_noise(tmp_path, capsys):
    noisy = [100, 60, 140, 80, 130, 90, 120, 70, 110, 100, 150, 50]
    write_run(tmp_path, "a", {**steady(), "counts": noisy})
    write_run(tmp_path, "b", {**steady(rps=80.0), "counts": [round(c * 0.8) for c in noisy]})
    status, out, _ = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    rps = rows(run_result(tmp_path, "a", "b"))["rps"]
    assert rps.change == pytest.approx(-0.2)
    assert rps.verdict == cmp.NOISE and rps.p_value >= 0.05
    assert status == 0 and "(1 noise)" in out


def test_percentiles_are_noise_while_their_intervals_overlap_and_regress_when_apart(tmp_path):
    # p99 110 → 130 ms from 300 requests: the intervals reach the maximum, they overlap
    write_run(tmp_path, "a", {**steady(), "requests": 300})
    write_run(tmp_path, "b", {**steady(p99_ms=130.0), "requests": 300, "pcts": {**FAST, "99%": 130, "100%": 140}})
    p99 = rows(run_result(tmp_path, "a", "b"))["p99_ms"]
    assert (p99.verdict, p99.p_value) == (cmp.NOISE, None)
    assert "overlap" in p99.reason
    # p95 100 → 400 ms from 2000 requests each: apart
    slow = {"50%": 300, "66%": 350, "95%": 400, "98%": 450, "99%": 500, "100%": 700}
    write_run(tmp_path, "c", {**steady(p50_ms=300.0, p95_ms=400.0, p99_ms=500.0), "requests": 2000, "pcts": slow})
    found = rows(run_result(tmp_path, "a", "c"))
    assert found["p95_ms"].verdict == found["p50_ms"].verdict == cmp.REGRESSED
    assert "apart" in found["p95_ms"].reason


def test_without_history_files_the_threshold_decides_alone_and_a_note_says_so(tmp_path):
    write_run(tmp_path, "a", {"fields": {"rps": 100.0}})
    write_run(tmp_path, "b", {"fields": {"rps": 80.0}})
    result = run_result(tmp_path, "a", "b")
    found = rows(result)
    assert (found["rps"].verdict, found["rps"].p_value) == (cmp.REGRESSED, None)
    assert found["rps"].reason.endswith(cmp.THRESHOLD_ONLY)
    assert "mean_ms" not in found  # it comes from the history alone
    assert any("per-second samples" in n and "no async-io-sleep_stats_history.csv" in n for n in result.notes)
    assert result.status == 1


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
    write_run(tmp_path, "a", steady(workers=4))
    write_run(tmp_path, "b", {**steady(workers=1, rps=25.0), "counts": [c // 4 for c in STEADY]})
    status, _, err = compare_cli(capsys, "a", "b", "--results", str(tmp_path))
    assert status == 2 and "no point in common" in err and "--match target,scenario" in err
    status, out, _ = compare_cli(capsys, "a", "b", "--results", str(tmp_path), "--match", "target,scenario")
    assert status == 1 and "workers A 4 B 1" in out


def test_the_threshold_is_the_users(tmp_path, capsys):
    write_run(tmp_path, "a", steady())
    write_run(tmp_path, "b", {**steady(rps=70.0), "counts": [round(c * 0.7) for c in STEADY]})
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
        ("w1", "capacity_rps"): cmp.UNCHANGED,
        ("w1", "capacity_p99_ms"): cmp.UNCHANGED,
        ("w2", "capacity_rps"): cmp.REGRESSED,
        ("w2", "capacity_p99_ms"): cmp.UNCHANGED,
        ("w4", "capacity_rps"): cmp.REGRESSED,  # no rate B tried met the SLO
    }
    assert all(r.p_value is None for r in result.rows)
    assert NO_SWEEP_SAMPLES in result.notes and "threshold alone decides" in out
    assert out.splitlines()[2].split()[0] == "configuration"
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


# ---------------------------------------------------------------- the statistics added to tuning.compare


def test_judge_compares_the_figures_and_tests_the_samples():
    a, b = [30.0] * 4 + [31.0] * 4, [10.0] * 4 + [11.0] * 4
    found = cmp.judge(30.0, 10.0, a, b, higher_is_better=True)
    assert found.verdict == cmp.REGRESSED and found.p_value < 0.01 and found.reason.startswith("30 → 10 (-66.7%)")
    # significant, but the samples moved up while the figures moved down: noise
    assert cmp.judge(30.0, 10.0, b, a, higher_is_better=True).verdict == cmp.NOISE
    assert cmp.judge(30.0, 10.0, a[:4], b[:4], higher_is_better=True).reason.endswith(cmp.THRESHOLD_ONLY)


def test_quantile_intervals_narrow_with_more_requests():
    known = {0.0: 90, 0.5: 100, 0.9: 110, 0.95: 120, 0.98: 130, 0.99: 150, 0.999: 200, 1.0: 300}
    assert cmp.quantile_interval(0.5, 10, known) == (90, 110)  # the nearest known quantiles, outward
    assert cmp.quantile_interval(0.99, 100, known) == (120, 300)  # too few requests: up to the maximum
    assert cmp.quantile_interval(0.99, 100_000, known) == (130, 200)
    with pytest.raises(LoadlabError):
        cmp.quantile_interval(0.99, 0, known)


def test_judge_intervals():
    up = cmp.judge_intervals(100.0, 200.0, (90.0, 120.0), (150.0, 250.0), higher_is_better=False)
    assert up.verdict == cmp.REGRESSED and "apart" in up.reason
    overlap = cmp.judge_intervals(100.0, 200.0, (90.0, 160.0), (150.0, 250.0), higher_is_better=False)
    assert overlap.verdict == cmp.NOISE and overlap.reason.endswith("overlap: noise")
    assert cmp.judge_intervals(100.0, 105.0, None, None, higher_is_better=False).verdict == cmp.UNCHANGED
    alone = cmp.judge_intervals(100.0, 200.0, None, (1.0, 2.0), higher_is_better=False)
    assert alone.verdict == cmp.REGRESSED and alone.reason.endswith(cmp.THRESHOLD_ONLY)
    assert math.isinf(cmp.judge_intervals(0.0, 5.0, None, None, higher_is_better=False).change)
