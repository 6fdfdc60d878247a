"""Reading Locust's CSV files (loadlab.results.locust_csv): a point's per-second samples after the
warm-up, and its final percentiles."""

import pytest

from loadlab.results.folder import RunFolder
from loadlab.results.locust_csv import read_per_second, read_percentiles
from tests.unit.comparison_folders import FAST, HISTORY_HEADER, STEADY, stats, steady, write_run
from tests.unit.factories import point

# ---------------------------------------------------------------- per-second samples


def test_samples_are_whole_seconds_after_the_warm_up_and_before_the_stop(tmp_path):
    folder = write_run(tmp_path, "r", {**steady(), "means": [100.0 + i for i in range(len(STEADY))]})
    p = RunFolder(folder).summary().points[0]
    found = read_per_second(RunFolder(folder).locust_prefix(p.point), p)
    assert found.rps == STEADY[1:]  # no warm-up second (48/s at 500 ms), no partial first or stopping second
    assert found.mean_ms == pytest.approx([101.0 + i for i in range(len(STEADY) - 1)])
    assert found.whole_mean_ms > 100  # the whole window, the stopping second's requests included
    assert not found.problem


def test_a_missing_or_foreign_history_gives_no_samples_and_says_why(tmp_path):
    p = point()
    assert read_per_second(tmp_path / "none", p).problem == "no none_stats_history.csv"
    (tmp_path / "x_stats_history.csv").write_text("a,b\n1,2\n")
    assert read_per_second(tmp_path / "x", p).rps == []
    (tmp_path / "y_stats_history.csv").write_text(HISTORY_HEADER + "\nsoon,1,,Aggregated\n")
    assert "not Locust's stats history" in read_per_second(tmp_path / "y", p).problem


def test_final_percentiles_are_read_with_the_minimum(tmp_path):
    stats(tmp_path / "p_stats.csv", "/io/sleep", 500, FAST)
    n, known = read_percentiles(tmp_path / "p", point().route)
    assert n == 500 and known[0.0] == 100 and known[0.99] == 110 and known[1.0] == 130
    assert read_percentiles(tmp_path / "missing", point().route) is None
