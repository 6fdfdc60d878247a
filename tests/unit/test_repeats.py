"""`loadlab run --repeat N`: the points interleaved, each repetition apart, medians and intervals."""

import json

import pytest

from loadlab.config.run_config import RunConfig, plan, run_label
from loadlab.errors import LoadlabError
from loadlab.results.folder import RunFolder
from loadlab.results.point import RunSummary
from loadlab.results.repeats import confidence, repeated, typical
from tests.unit.factories import point


def _rep(scenario: str, target: str, n: int, **fields):
    return point(scenario, target, point=f"{target}-{scenario}-r{n}", repeat=n, **fields)


def test_repetitions_are_interleaved_and_each_has_its_own_id_and_series():
    config = RunConfig(points=[("io-sleep", "sync"), ("io-sleep", "async")], repeat=3)
    ids = [p.id for p in plan(config)]
    assert ids == [f"{t}-io-sleep-r{n}" for n in (1, 2, 3) for t in ("sync", "async")]  # A B A B A B
    assert run_label("run1", "async-io-sleep-r2") == "run1-r2"
    assert run_label("run1", "async-io-sleep-s4") == "run1-s4"
    assert run_label("run1", "async-io-sleep") == "run1"


def test_one_repetition_is_the_plain_run():
    config = RunConfig(points=[("io-sleep", "async")])
    assert [p.id for p in plan(config)] == ["async-io-sleep"]


def test_a_repeat_below_one_is_refused():
    with pytest.raises(LoadlabError, match="--repeat must be at least 1"):
        plan(RunConfig(points=[("io-sleep", "async")], repeat=0))


def test_median_and_range_of_each_repeated_point():
    results = [
        _rep("io-sleep", "async", n, rps=rps, p99_ms=p99)
        for n, (rps, p99) in enumerate([(900, 150), (800, 400), (1000, 160)], 1)
    ]
    (g,) = repeated(results)
    assert (g.point, g.n) == ("async-io-sleep", 3)
    assert (g.figures["rps"].median, g.figures["rps"].low, g.figures["rps"].high) == (900, 800, 1000)
    assert (g.figures["p99_ms"].median, g.figures["p99_ms"].low, g.figures["p99_ms"].high) == (160, 150, 400)


def test_the_interval_states_its_confidence():
    assert confidence(3) == pytest.approx(0.75)
    assert confidence(5) == pytest.approx(0.9375)


def test_the_typical_point_carries_medians_summed_counts_and_every_doubt():
    results = [
        _rep("io-sleep", "async", 1, rps=900, requests=100, slo_broken=["p99 over"]),
        _rep("io-sleep", "async", 2, rps=700, requests=110, untrustworthy_reasons=["generator at 95 %"]),
        _rep("io-sleep", "async", 3, rps=800, requests=120),
        point("cpu", "async"),  # measured once: as it is
    ]
    once, merged = typical(results)
    assert once.point == "async-cpu"
    assert (merged.point, merged.repeat, merged.rps, merged.requests) == ("async-io-sleep", None, 800, 330)
    assert merged.slo_broken == ["p99 over"] and merged.untrustworthy_reasons == ["generator at 95 %"]


def test_summary_json_holds_the_repeated_figures_and_reads_back(tmp_path):
    folder = RunFolder.create(tmp_path, "r")
    summary = RunSummary("r", "complete", 0.0, {}, [_rep("io-sleep", "async", n, rps=100.0 * n) for n in (1, 2, 3)])
    folder.write_summary(summary)
    stored = json.loads(folder.summary_file.read_text())
    (entry,) = stored["repeated"]
    assert entry["figures"]["rps"] == {"median": 200.0, "low": 100.0, "high": 300.0}
    assert "75 %" in entry["interval"]
    assert [p.repeat for p in folder.summary().points] == [1, 2, 3]
