"""What fuzzing found (tests/test_fuzz_inputs.py), each failing example kept as a test: bad input is
refused in one line that names the file, never with a traceback."""

import argparse

import pytest

from loadlab.commands import arguments
from loadlab.errors import LoadlabError
from loadlab.judge import slo
from loadlab.results import locust_csv
from loadlab.results.point import RunSummary
from loadlab.sweep import settings as sweep_settings
from tests.unit.factories import point

NOT_UTF8 = b"\x80"


def refused(read, path) -> str:
    with pytest.raises(LoadlabError) as caught:
        read()
    message = str(caught.value)
    assert "\n" not in message and str(path.name) in message, message
    return message


@pytest.mark.parametrize("text", ["NAN", "nan", "inf", "-Infinity", "1e999"])
def test_a_number_option_refuses_nan_and_infinity(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected a number"):
        arguments.number(text)


def test_an_slo_file_that_is_not_utf8_is_refused_naming_it(tmp_path):
    path = tmp_path / "slo.toml"
    path.write_bytes(NOT_UTF8)
    assert "cannot read SLO file" in refused(lambda: slo.load(path), path)


@pytest.mark.parametrize("value", ["nan", "-1", "-inf", "inf"])
def test_an_slo_limit_must_be_a_number_of_0_or_more(tmp_path, value):
    path = tmp_path / "slo.toml"
    path.write_text(f"[default]\np99_ms = {value}\n")
    assert "p99_ms" in refused(lambda: slo.load(path), path)


def test_an_slo_key_with_a_line_break_is_named_on_one_line(tmp_path):
    path = tmp_path / "slo.toml"
    path.write_text('[default]\n"p99\\nms" = 1\n')
    assert r"'p99\nms'" in refused(lambda: slo.load(path), path)
    path.write_text('["de\\nfault"]\n')
    assert r"'de\nfault'" in refused(lambda: slo.load(path), path)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b'{"schema_version": 1, "run_id": "r", "status": "complete", "started_at": 1, "config": {}, "points": [null]}',
         "point 1: expected an object, got NoneType"),
        (b"[" * 1989 + b"]" * 1989, "nested too deeply"),
    ],
)  # fmt: skip
def test_a_damaged_summary_is_refused_naming_it(tmp_path, content, why):
    path = tmp_path / "summary.json"
    path.write_bytes(content)
    assert why in refused(lambda: RunSummary.read(path), path)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"a,b\n1,2\n", "KeyError: 'Name'"),
        (b"Name,Request Count,Failure Count\n/io/sleep,,0\n", "ValueError"),
        (b"Name,Request Count\n/io/sleep,1\n", "KeyError: 'Failure Count'"),
        (NOT_UTF8, "is not Locust's stats"),
    ],
)
def test_damaged_locust_stats_are_refused_naming_the_file(tmp_path, content, why):
    path = locust_csv.stats_path(tmp_path / "p")
    path.write_bytes(content)
    assert why in refused(lambda: locust_csv.read_locust_row(tmp_path / "p", "/io/sleep"), path)


def test_a_locust_history_that_is_not_text_gives_no_ramp_steps_and_says_why(tmp_path):
    locust_csv.history_path(tmp_path / "p").write_bytes(NOT_UTF8)
    assert locust_csv.read_ramp_steps(tmp_path / "p") == []
    assert "not Locust's stats history" in locust_csv.read_per_second(tmp_path / "p", point()).problem


def test_a_sweep_file_that_is_not_utf8_is_refused_naming_it(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_bytes(NOT_UTF8)
    refused(lambda: sweep_settings.read_toml(path), path)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('start_rate = "fast"', "start_rate must be a number, got 'fast'"),
        ('targets = "sync"', "targets must be a list of texts, got 'sync'"),
        ("max_steps = 2.5", "max_steps must be a whole number, got 2.5"),
        ("confirm = true", "confirm must be a whole number, got True"),
        ('workers = [1, "x"]', "workers must be a list of whole numbers, got [1, 'x']"),
    ],
)
def test_a_sweep_file_value_of_the_wrong_kind_is_refused_naming_the_key(tmp_path, body, said):
    """Such values used to reach SweepConfig and end in a traceback when compared with numbers."""
    path = tmp_path / "sweep.toml"
    path.write_text(body + "\n")
    assert said in refused(lambda: sweep_settings.read_toml(path), path)
