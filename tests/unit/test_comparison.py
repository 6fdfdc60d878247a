"""`loadlab compare` on hand-made results folders: summary.json plus Locust's stats and history CSVs."""

import json
import math
from pathlib import Path

import pytest

from loadlab import cli, comparison
from loadlab.commands.arguments import Parser
from loadlab.errors import LoadlabError
from loadlab.results.point import RunSummary
from loadlab.results.sweep import ConfigResult, Configuration, SweepSummary
from loadlab.tuning import compare as cmp
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
        prefix = folder / "locust" / p.point
        if "counts" in spec:
            history(Path(f"{prefix}_stats_history.csv"), spec["counts"], spec.get("means"))
        if "pcts" in spec:
            stats(Path(f"{prefix}_stats.csv"), p.route, spec.get("requests", 1000), spec["pcts"])
    (folder / "summary.json").write_text(RunSummary(run_id, "complete", T0, {}, results).to_json())
    return folder


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
    comparison.add_parser(sub)
    try:
        status = comparison.main(parser.parse_args(["compare", *argv]))
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


def rows(result: comparison.Result, item_part: str = "") -> dict[str, comparison.Row]:
    return {r.figure: r for r in result.rows if item_part in r.item}


def run_result(root: Path, a: str, b: str, **kw) -> comparison.Result:
    return comparison.compare_sides(
        comparison.open_side(root, a), comparison.open_side(root, b), kw.pop("threshold", 0.1), **kw
    )


# ---------------------------------------------------------------- per-second samples


def test_samples_are_whole_seconds_after_the_warm_up_and_before_the_stop(tmp_path):
    folder = write_run(tmp_path, "r", {**steady(), "means": [100.0 + i for i in range(len(STEADY))]})
    p = RunSummary.read(folder / "summary.json").points[0]
    found = comparison.per_second(folder / "locust" / p.point, p)
    assert found.rps == STEADY[1:]  # no warm-up second (48/s at 500 ms), no partial first or stopping second
    assert found.mean_ms == pytest.approx([101.0 + i for i in range(len(STEADY) - 1)])
    assert found.whole_mean_ms > 100  # the whole window, the stopping second's requests included
    assert not found.problem


def test_a_missing_or_foreign_history_gives_no_samples_and_says_why(tmp_path):
    p = point()
    assert comparison.per_second(tmp_path / "none", p).problem == "no none_stats_history.csv"
    (tmp_path / "x_stats_history.csv").write_text("a,b\n1,2\n")
    assert comparison.per_second(tmp_path / "x", p).rps == []
    (tmp_path / "y_stats_history.csv").write_text(HISTORY_HEADER + "\nsoon,1,,Aggregated\n")
    assert "not Locust's stats history" in comparison.per_second(tmp_path / "y", p).problem


def test_final_percentiles_are_read_with_the_minimum(tmp_path):
    stats(tmp_path / "p_stats.csv", "/io/sleep", 500, FAST)
    n, known = comparison.final_percentiles(tmp_path / "p", point())
    assert n == 500 and known[0.0] == 100 and known[0.99] == 110 and known[1.0] == 130
    assert comparison.final_percentiles(tmp_path / "missing", point()) is None


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


def write_sweep(root: Path, sweep_id: str, *configs: ConfigResult) -> Path:
    folder = root / sweep_id
    folder.mkdir(parents=True)
    (folder / "sweep.json").write_text(SweepSummary(sweep_id, "complete", T0, {}, 2, list(configs)).to_json())
    return folder


def config(workers: int, capacity: float | None, p99: float | None = 150.0, stopped: str = "bisected") -> ConfigResult:
    c = Configuration("sync", "io-sleep", "uvicorn", workers, 40, 10)
    return ConfigResult(c, capacity_rps=capacity, capacity_p99_ms=p99, stopped=stopped)


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
    assert comparison.NO_SWEEP_SAMPLES in result.notes and "threshold alone decides" in out
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
        comparison.compare_sides(
            comparison.open_side(tmp_path, str(write_run(tmp_path, "a", steady()))),
            comparison.open_side(tmp_path, "a"),
            1.5,
        )


# ---------------------------------------------------------------- HTML and JSON


def test_html_section_is_a_table_with_escaped_text(tmp_path):
    result = comparison.Result("run", "<a>", "b&c", 0.1, comparison.RUN_MATCH, notes=['say "<b>"'])
    result.rows.append(comparison.Row("<script>x</script>", "rps", 1.0, 0.5, -0.5, 0.001, cmp.REGRESSED, "<why>"))
    result.rows.append(comparison.Row("p<2", "", None, None, None, None, comparison.ONLY_B, "only"))
    text = comparison.html_section(result)
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    assert "<code>&lt;a&gt;</code>" in text and "b&amp;c" in text and "&lt;why&gt;" in text
    assert text.count("<table") == 1 and text.count("<tr") == 3  # the header and two rows
    assert 'class="verdict-only-in-B"' in text
    assert "<th>p-value</th>" in text and "<td>-50.0%</td>" in text and "<td>0.001</td>" in text
    assert "REGRESSED: 1 of 1 figures" in text
    # the verdict comes first, in the report's colours
    assert text.index('<p class="summary bad"><strong>REGRESSED: 1 of 1 figures') < text.index("<table")
    assert 'class="verdict-regressed bad"' in text


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


# ---------------------------------------------------------------- the comparison as a section of B's report


def loadlab_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`loadlab ARGV` as the command runs it: cli.main, its one-line errors and statuses."""
    status = cli.main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def slower_pair(root: Path) -> None:
    """Run "a" and run "b", B with 30 % less throughput: a regression, not noise."""
    write_run(root, "a", steady())
    write_run(root, "b", {**steady(rps=70.0), "counts": [round(c * 0.7) for c in STEADY]})


def test_report_compare_adds_the_comparison_as_a_section_and_exits_0_on_a_regression(tmp_path, capsys):
    slower_pair(tmp_path)
    status, out, err = loadlab_cli(capsys, "report", "b", "--compare", "a", "--results", str(tmp_path))
    assert (status, err) == (0, "")
    report_file = tmp_path / "b" / "report.html"
    assert out.splitlines()[0].startswith(f"report: {report_file}")
    assert out.splitlines()[1].startswith("compared with a: REGRESSED: 1 of 5 figures")
    text = report_file.read_text()
    assert '<li><a href="#s-comparison-with-a">Comparison with a</a></li>' in text  # in the contents
    section = text[text.index('<section id="s-comparison-with-a"><h2>Comparison with a</h2>') :]
    assert section.index('<p class="summary bad"><strong>REGRESSED: 1 of 5 figures') < section.index("<table")
    assert "rps -30.0%" in section
    table = section[section.index('<table class="compare">') : section.index("</table>")]
    assert "<th>point</th><th>figure</th><th>A</th><th>B</th><th>change</th><th>p-value</th><th>verdict</th>" in table
    body = table.split("<tr")[2:]
    assert len(body) == 5 and all("async io-sleep uvicorn-workers x4" in r for r in body)
    (rps,) = [r for r in body if "<td>rps</td>" in r]
    assert 'class="verdict-regressed bad"' in rps and "<td>100.0</td><td>70.0</td><td>-30.0%</td>" in rps
    assert "<script" not in text and "http" not in text.replace("http_", "")
    # the same run against itself: no regression, the same section says so
    status, out, _ = loadlab_cli(
        capsys, "report", str(tmp_path / "a"), "--compare", str(tmp_path / "a"), "--out", str(tmp_path / "self.html")
    )
    assert status == 0 and "no regression: 5 figures of 1 points" in out
    assert '<p class="summary good"><strong>no regression: 5 figures' in (tmp_path / "self.html").read_text()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["a", "--compare", "missing"], ["no run 'missing'"]),
        (["a", "--compare", "empty"], ["not a loadlab results folder"]),
        (["a", "--compare", "sweep"], ["cannot compare a sweep (sweep) with a run (a)"]),
        (["sweep", "--compare", "a"], ["cannot compare a run (a) with a sweep (sweep)"]),
        (["a", "--compare", "other"], ["no point in common", "A: async cpu", "B: async io-sleep"]),
        (["empty", "--compare", "a"], ["not a loadlab results folder"]),
        (["a", "--compare", "a", "--threshold", "2"], ["between 0 and 1"]),
        (["a", "--compare", "a", "--match", "colour"], ["--match takes fields"]),
        (["a", "--threshold", "0.2"], ["--threshold and --match go with --compare"]),
        (["a", "--compare"], ["expected one argument"]),
    ],
)
def test_report_compare_bad_input_is_one_line_and_status_2(tmp_path, capsys, argv, words):
    write_run(tmp_path, "a", steady())
    write_run(tmp_path, "other", steady(scenario="cpu"))
    (tmp_path / "empty").mkdir()
    write_sweep(tmp_path, "sweep", config(1, 100.0))
    try:
        status, _, err = loadlab_cli(capsys, "report", *argv, "--results", str(tmp_path))
    except SystemExit as exc:  # argparse's own errors
        status, err = exc.code, capsys.readouterr().err
    assert status == 2, (argv, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err
    assert not list(tmp_path.glob("*/report.html"))  # nothing written
