"""`loadlab bench`'s statistics: the median of per-round ratios, its order-statistic interval and the
verdict judged on it."""

import random
import statistics

import pytest

from loadlab.bench.stats import Comparison, Interval, Round, median_interval, table, verdict

# 2026-11-29, instrumentation overhead: what the rounds said, and what the ratio of medians printed (1.020)
ROUNDS = [1.02, 0.99, 0.93, 0.93, 0.95]


def comparison(ratios: list[float], goal: float = 0.95) -> Comparison:
    b = [1000.0 * (1 + i) for i in range(len(ratios))]  # each round at its own speed: the machine drifts
    a = [r * x for r, x in zip(ratios, b, strict=True)]
    return Comparison("instrumentation", goal, "instrumented", "plain", a, b)


def test_the_median_of_round_ratios_is_what_the_rounds_say_not_the_ratio_of_medians():
    # a drift that makes the ratio of medians disagree with every round's ratio
    c = Comparison("drift", 0.95, "a", "b", [1020, 1089, 1209, 1302, 1520], [1000, 1100, 1300, 1400, 1600])
    assert statistics.median(c.a) / statistics.median(c.b) == pytest.approx(0.930, abs=1e-3)
    assert c.ratios == pytest.approx([1.02, 0.99, 0.93, 0.93, 0.95])
    assert c.ratio == pytest.approx(0.95)


@pytest.mark.parametrize(
    ("n", "coverage"),
    [(1, 0.0), (2, 0.5), (3, 0.75), (4, 0.875), (5, 0.9375), (6, 0.96875), (7, 0.984375)],
)
def test_three_to_seven_rounds_give_min_to_max_with_its_exact_coverage(n, coverage):
    values = [float(v) for v in range(n, 0, -1)]
    assert median_interval(values) == Interval(1.0, float(n), pytest.approx(coverage))


def test_more_rounds_narrow_the_interval_while_it_keeps_its_confidence():
    # n = 8: [x(2), x(7)] covers with 1 - 2 * 9/256 = 0.930; [x(3), x(6)] only 0.711
    assert median_interval([float(v) for v in range(1, 9)]) == Interval(2.0, 7.0, pytest.approx(1 - 18 / 256))
    # n = 20: [x(6), x(15)] covers 0.959, [x(7), x(14)] 0.885 < 0.90
    i = median_interval([float(v) for v in range(1, 21)])
    assert (i.low, i.high) == (6.0, 15.0) and i.coverage == pytest.approx(0.9586, abs=1e-4)


def test_the_interval_covers_the_true_median_as_often_as_it_says():
    rng = random.Random(15)
    for n in (3, 5, 8, 12):
        trials, covered, stated = 4000, 0, None
        for _ in range(trials):
            i = median_interval([rng.lognormvariate(0, 0.3) for _ in range(n)])  # true median 1.0
            covered += i.low <= 1.0 <= i.high
            stated = i.coverage
        assert covered / trials == pytest.approx(stated, abs=0.02), n


def test_the_goal_is_judged_on_the_interval():
    assert verdict(0.95, Interval(0.96, 1.01, 0.94)) == "goal met"
    assert verdict(0.95, Interval(0.95, 1.01, 0.94)) == "goal met"  # the goal is ">= 0.95"
    assert verdict(0.95, Interval(0.90, 0.949, 0.94)) == "goal missed"
    assert verdict(0.95, Interval(0.93, 1.02, 0.94)) == "undetermined"
    assert verdict(0.95, Interval(0.99, 0.99, 0.0)) == "undetermined (one round)"


def test_the_rounds_of_2026_11_29_leave_the_instrumentation_goal_undetermined():
    c = comparison(ROUNDS)
    assert c.ratio == pytest.approx(0.95)
    assert (c.interval.low, c.interval.high) == pytest.approx((0.93, 1.02))
    assert c.verdict == "undetermined"
    line = c.report()
    assert "median of 5 round ratios 0.950 [0.930, 1.020] (93.8% interval): undetermined" in line


def test_the_table_has_one_row_per_benchmark_with_interval_confidence_and_verdict():
    text = table([("instrumentation", comparison(ROUNDS)), ("sleep", comparison([0.97, 0.98, 0.976]))])
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["benchmark", "goal", "median"]
    assert lines[1].split() == [
        "instrumentation",
        ">=",
        "0.95",
        "0.950",
        "[0.930,",
        "1.020]",
        "93.8%",
        "1.020",
        "0.990",
        "0.930",
        "0.930",
        "0.950",
        "undetermined",
    ]
    assert lines[2].split()[-1] == "met" and "75.0%" in lines[2]  # 3 rounds: [min, max] covers 75 %


def test_a_per_cpu_comparison_judges_requests_per_cpu_second_and_prints_the_wall_rps_beside():
    # the recording side spends 2 % more CPU per request; the wall rps swing by a factor of two
    a = [Round(10_000, 5.0, 2.04), Round(5_000, 5.0, 1.02), Round(8_000, 5.0, 1.632)]
    b = [Round(9_000, 5.0, 1.80), Round(11_000, 5.0, 2.20), Round(6_000, 5.0, 1.20)]
    c = Comparison.per_cpu_second("hdr", 0.97, "recording", "not", a, b, "Locust")
    assert c.ratios == pytest.approx([1 / 1.02] * 3)
    assert c.verdict == "goal met"
    line = c.report()
    assert "requests per Locust CPU-second per round 4902/5000, 4902/5000, 4902/5000" in line, line
    assert line.endswith("; wall rps per round 2000/1800, 1000/2200, 1600/1200"), line


def test_a_round_without_cpu_or_time_has_no_rate_rather_than_an_error():
    assert Round(0, 0.0, 0.0).rps == 0.0 and Round(0, 0.0, 0.0).per_cpu_s == 0.0
