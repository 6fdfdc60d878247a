"""Finding F1's verdict on hand-made points: holding, not holding, not judged and not measured; every
figure it states follows the points, the scenario catalogue and the model fed with them."""

from dataclasses import replace

import pytest

from loadlab import model
from loadlab.console.table import console, show
from loadlab.contract.scenarios import SCENARIOS
from loadlab.judge.findings import FINDINGS, verdicts
from loadlab.report.run_section import findings_section
from loadlab.results.point import RunSummary
from tests.unit.factories import point

# The trips suite's load: 1 worker × 4 threads, 100 ms waits (a 40 rps ceiling), 60/s offered.
LOAD = {
    "server": "uvicorn",
    "workers": 1,
    "threads": 4,
    "load_model": "open",
    "users": None,
    "rate": 60.0,
    "warmup_s": 2.0,
    "duration_s": 8.0,
    "rps": 39.0,
    "late": 0.0,
}


def trips_points(two_p50_ms: float, one_p50_ms: float, **load) -> list:
    fields = {**LOAD, **load}
    return [
        point("io-sleep", "sync", p50_ms=two_p50_ms, max_ms=8700.0, **fields),
        point("io-sleep-1trip", "sync", p50_ms=one_p50_ms, max_ms=5500.0, **fields),
    ]


def f1(points: list, scenarios=SCENARIOS) -> str:
    return dict((f.id, v) for f, v in verdicts(points, scenarios))["F1"]


def test_every_finding_has_a_verdict_even_with_no_point():
    found = verdicts([])
    assert [f.id for f, _ in found] == ["F1"]
    assert found[0][1] == (
        "not measured in this run (needs io-sleep and io-sleep-1trip on sync at the same open load "
        "above the threads ceiling: loadlab run --suite trips)"
    )


def test_the_setup_names_the_trips_the_catalogue_gives():
    assert FINDINGS[0].setup.startswith("io-sleep (2 trips) vs io-sleep-1trip (1 trip) on the sync target")


def test_f1_holds_when_the_second_trip_adds_what_the_model_predicts_and_states_the_figures():
    two = model.open_latency(60.0, 1, 4, 0.1, 2, 2.0, 8.0)
    one = model.open_latency(60.0, 1, 4, 0.1, 1, 2.0, 8.0)
    v = f1(trips_points(6200.0, 3000.0))
    assert v.startswith(
        "holds: at 60/s offered against the threads ceiling of 40 rps (1 worker × 4 threads ÷ 0.1 s), "
        "io-sleep (2 trips) took p50 6.2 s, max 8.7 s and io-sleep-1trip (1 trip) p50 3.0 s, max 5.5 s: "
        "+3.2 s at p50; the model predicts p50 "
    )
    assert f"p50 {two.p50_s:.1f} s vs {one.p50_s:.1f} s (max {two.max_s:.1f} s vs {one.max_s:.1f} s)" in v
    assert f"at least 50% of its +{two.p50_s - one.p50_s:.1f} s" in v


def test_f1_does_not_hold_when_both_routes_take_about_as_long():
    v = f1(trips_points(3300.0, 3000.0))
    assert v.startswith("does not hold: ") and "+0.3 s at p50" in v


def test_the_figures_are_the_points_own():
    v = f1(trips_points(7654.0, 2345.0))
    assert "p50 7.7 s, max 8.7 s" in v and "p50 2.3 s, max 5.5 s" in v and "+5.3 s at p50" in v


def test_the_wait_and_the_trips_come_from_the_catalogue():
    slower = {
        **SCENARIOS,
        "io-sleep": replace(SCENARIOS["io-sleep"], query="ms=50"),
        "io-sleep-1trip": replace(SCENARIOS["io-sleep-1trip"], query="ms=50"),
    }
    # 50 ms waits on 4 threads: an 80 rps ceiling, which 60/s stays within
    assert f1(trips_points(6200.0, 3000.0), slower).startswith(
        "not judged: 60/s offered is within the threads ceiling of 80 rps (1 worker × 4 threads ÷ 0.05 s)"
    )
    three = {**SCENARIOS, "io-sleep": replace(SCENARIOS["io-sleep"], sync_trips=3)}
    assert "io-sleep (3 trips) took" in f1(trips_points(9000.0, 3000.0), three)
    same = {**SCENARIOS, "io-sleep-1trip": replace(SCENARIOS["io-sleep-1trip"], sync_trips=2)}
    assert f1(trips_points(6200.0, 3000.0), same) == (
        "not judged: the catalogue gives io-sleep 2 trips and io-sleep-1trip 2 trips"
    )


def test_a_closed_loop_is_not_judged_and_says_why_with_the_models_figure():
    points = trips_points(2600.0, 2500.0, load_model="closed", users=100, rate=None)
    assert f1(points) == (
        "not judged: in a closed loop of 100 users each request queues behind the other users whatever its "
        "trips: the model gives both routes p50 2.5 s (100 × 0.1 s ÷ 1 worker × 4 threads); measured 2.6 s "
        "and 2.5 s. The second trip shows under an open load above the threads ceiling: loadlab run --suite trips"
    )


def test_points_at_different_loads_are_not_compared():
    two, one = trips_points(6200.0, 3000.0)
    differ = [two, replace(one, rate=50.0, threads=8)]
    assert f1(differ) == "not judged: the two points ran at different loads (threads, rate)"


def test_a_limiter_that_did_not_bind_is_not_judged():
    v = f1(trips_points(6200.0, 3000.0, rps=12.0))
    assert v.startswith("not judged: sync-io-sleep: measured 12 rps is 0.30 of the model's 40 rps (threads)")


def test_a_point_that_cannot_be_trusted_is_named_in_the_verdict():
    two, one = trips_points(6200.0, 3000.0)
    v = f1([replace(two, untrustworthy_reasons=["40 requests not sent on time"]), one])
    assert v.startswith("holds") and v.endswith("(note: sync-io-sleep untrustworthy: 40 requests not sent on time)")


def test_the_console_and_the_report_show_the_finding_beside_the_claims():
    points = trips_points(6200.0, 3000.0)
    out = console()
    with out.capture() as captured:
        show(RunSummary("r", "complete", 0.0, {}, points), out)
    text = captured.get()
    assert text.index("Published claims") < text.index("Measured findings") < text.index("SLOs: all")
    assert "  F1 A def endpoint with a response model crosses the threadpool twice" in text
    assert "     -> holds: at 60/s offered" in text
    section = findings_section(points)
    assert section is not None and "io-sleep (2 trips) took p50 6.2 s" in str(section)


def test_the_report_leaves_the_findings_out_of_a_run_without_their_points():
    assert findings_section([point("io-sleep", "async")]) is None


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.id)
def test_no_verdict_raises_on_a_partial_point(finding):
    points = trips_points(6200.0, 3000.0)
    points[0] = replace(points[0], p50_ms=None, max_ms=None, rps=None)
    assert isinstance(dict((f.id, v) for f, v in verdicts(points))[finding.id], str)
