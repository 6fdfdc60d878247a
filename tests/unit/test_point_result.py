import json

import pytest

from loadlab.errors import LoadlabError
from loadlab.results.folder import RunFolder
from loadlab.results.point import SCHEMA_VERSION, PhaseTiming, RampStep, RunSummary
from tests.unit.factories import point


def summary() -> RunSummary:
    ramp = point(load_model="ramp", steps=[RampStep(users=2, seconds=3.0, rps=19.5, p95_ms=110.0)])
    partial = point("io-db", "sync", partial=True, slo_broken=["p99_ms 150 > 100"], timing=PhaseTiming(1.5, 3, 12, 1))
    return RunSummary("r1", "interrupted", 1_700_000_000.0, {"workers": 4}, [point(), ramp, partial], 1_700_000_100.0)


def test_summary_round_trips_through_json(tmp_path):
    path = RunFolder(tmp_path).summary_file
    path.write_text(summary().to_json())
    data = json.loads(path.read_text())
    assert next(iter(data)) == "schema_version" and data["schema_version"] == SCHEMA_VERSION
    assert data["points"][0]["untrustworthy"] is False  # derived, written for readers of the JSON
    assert RunSummary.read(path) == summary()


def test_derived_verdicts():
    s = summary()
    assert s.slo_broken
    assert point(failures=5, requests=1000).error_ratio == 0.005
    assert point(untrustworthy_reasons=["x"]).untrustworthy


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d.pop("schema_version"), ["older loadlab", "no schema_version"]),
        (lambda d: d.update(schema_version=SCHEMA_VERSION + 1), ["newer loadlab", "upgrade"]),
        (lambda d: d["points"][0].pop("p99_ms"), ["point 1", "'p99_ms' is missing"]),
        (lambda d: d["points"][1].update(p99_ms="fast"), ["point 2: p99_ms should be float", "'fast'"]),
        (lambda d: d["points"][0].update(color="red"), ["unknown key 'color'"]),
        (lambda d: d.update(points={}), ["'points' is missing or not a list"]),
        (lambda d: d.update(status="paused"), ["status 'paused'"]),
    ],
)
def test_a_summary_of_another_schema_is_one_clear_line(tmp_path, edit, words):
    data = summary().to_dict()
    edit(data)
    path = RunFolder(tmp_path).summary_file
    path.write_text(json.dumps(data))
    with pytest.raises(LoadlabError) as caught:
        RunSummary.read(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert all(w in message for w in words), message


def test_a_summary_that_is_not_json_or_not_there_is_one_line(tmp_path):
    bad = RunFolder(tmp_path).summary_file
    bad.write_text("{not json")
    with pytest.raises(LoadlabError, match="not valid JSON"):
        RunSummary.read(bad)
    with pytest.raises(LoadlabError, match="cannot read"):
        RunSummary.read(tmp_path / "missing.json")
    bad.write_text("[1, 2]")
    with pytest.raises(LoadlabError, match="not a loadlab summary"):
        RunSummary.read(bad)
