from pathlib import Path

import pytest

from loadlab.errors import USAGE, LoadlabError
from loadlab.judge import slo
from tests.unit.factories import point


def limits(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "slo.toml"
    path.write_text(text)
    return slo.load(path)


def test_the_projects_slo_file_loads():
    assert slo.load(slo.DEFAULT_FILE)["default"]["error_ratio"] == 0.01


@pytest.mark.parametrize(
    ("rule", "fields", "message"),
    [
        ("p50_ms = 90", {"p50_ms": 100.0}, "p50_ms 100 > 90"),
        ("p95_ms = 110", {"p95_ms": 120.0}, "p95_ms 120 > 110"),
        ("p99_ms = 149", {"p99_ms": 150.0}, "p99_ms 150 > 149"),
        ("max_ms = 150", {"max_ms": 200.0}, "max_ms 200 > 150"),
        ("p99_scheduled_ms = 500", {"p99_scheduled_ms": 900.0}, "p99_scheduled_ms 900 > 500"),
        ("error_ratio = 0.01", {"failures": 20, "requests": 1000}, "error_ratio 0.02 > 0.01"),
        ("rps_min = 1000", {"rps": 900.0}, "rps_min 900 < 1000"),
    ],
)
def test_each_rule_breaks_with_its_message_and_holds_at_its_limit(tmp_path, rule, fields, message):
    scoped = limits(tmp_path, f"[scenario.io-sleep]\n{rule}\n")
    assert slo.check(point(**fields), scoped) == [message]
    key, value = rule.split(" = ")
    at_limit = {**fields}
    measured = next(iter(fields))
    if key == "error_ratio":
        at_limit = {"failures": 10, "requests": 1000}
    elif measured not in ("failures",):
        at_limit[measured] = float(value)
    assert slo.check(point(**at_limit), scoped) == []


def test_default_limits_apply_to_every_scenario_and_scenario_limits_override_them(tmp_path):
    scoped = limits(tmp_path, "[default]\np99_ms = 100\n[scenario.io-sleep]\np99_ms = 1000\n")
    assert slo.check(point("io-sleep", p99_ms=150.0), scoped) == []
    assert slo.check(point("io-db", p99_ms=150.0), scoped) == ["p99_ms 150 > 100"]


def test_a_point_with_no_request_breaks_the_slo(tmp_path):
    assert "no request completed" in slo.check(point(requests=0, failures=0), limits(tmp_path, ""))


def test_an_unmeasured_figure_is_not_judged(tmp_path):
    assert slo.check(point(p99_scheduled_ms=None), limits(tmp_path, "[default]\np99_scheduled_ms = 1\n")) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[scenario.io-sleep]\np99 = 5\n", ["[io-sleep] p99", "p99_ms"]),
        ("[scenario.io-sleep]\np99_ms = 'fast'\n", ["[io-sleep] p99_ms", "'fast'"]),
        ("[scenario.io-sleep]\np99_ms = true\n", ["[io-sleep] p99_ms"]),
        ("[scenario.io-sleeep]\np99_ms = 5\n", ["unknown scenario 'io-sleeep'", "io-sleep"]),
        ("[defaults]\np99_ms = 5\n", ["unknown table [defaults]", "[default]"]),
        ("p99_ms = 5\n", ["unknown table", "p99_ms"]),
        ("[scenario]\nio-sleep = 5\n", ["[scenario.io-sleep] should be a table"]),
        ("[default\n", ["cannot read"]),
    ],
)
def test_a_bad_slo_file_is_one_line_naming_the_file_and_key(tmp_path, text, words):
    with pytest.raises(LoadlabError) as caught:
        limits(tmp_path, text)
    message = str(caught.value)
    assert caught.value.status == USAGE
    assert "\n" not in message and str(tmp_path / "slo.toml") in message
    assert all(w in message for w in words), message


def test_a_missing_slo_file_is_one_line(tmp_path):
    with pytest.raises(LoadlabError, match="cannot read SLO file"):
        slo.load(tmp_path / "nope.toml")
