"""Fuzzed inputs for every reader of user or results files, and for the command line's option types:
whatever comes in is accepted or refused in one line, never with a traceback.

What "refused" means, per reader:
- durations.parse: ValueError, one line; accepted means a finite number of seconds >= 0.
- the CLI's option types: argparse.ArgumentTypeError, one line; through `loadlab run`'s parser,
  exit status 2 and one line on stderr.
- slo.toml (loadlab.judge.slo.load) and the sweep's TOML file (loadlab.sweep.settings): LoadlabError,
  one line naming the file; an accepted SLO file holds only known limits, each a number >= 0.
- a results folder's summary.json and sweep.json, and Locust's CSV files: LoadlabError, one line
  naming the file (or, where the reader is documented to, None or an empty result that says why).

Inputs: arbitrary bytes and text, structured documents of any shape (TOML tables and JSON objects
with known and unknown keys and values of every type), and valid files damaged by Hypothesis
(a key dropped, a value replaced, the text cut short, bytes changed). Every test runs a fixed set
of examples (derandomize, no example database) and checks it ran at least MIN_INPUTS of them.
"""

import argparse
import contextlib
import csv
import io
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadlab import durations
from loadlab.cli import build_parser, parse_args
from loadlab.commands import arguments
from loadlab.contract.scenarios import SCENARIOS
from loadlab.errors import LoadlabError
from loadlab.judge import slo
from loadlab.results import locust_csv
from loadlab.results.point import RunSummary
from loadlab.results.sweep import SweepSummary
from loadlab.sweep import settings as sweep_settings
from tests.unit.factories import point
from tests.unit.test_report_sweep import sweep_summary

MIN_INPUTS = 1000
PARSER_EXAMPLES = 300
FUZZ = settings(
    max_examples=MIN_INPUTS,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def run_counted(test: Callable[[], None], counter: list[int]) -> None:
    test()
    assert counter[0] >= MIN_INPUTS, f"only {counter[0]} inputs"


def one_line(message: str, names: str | None = None) -> None:
    assert message and "\n" not in message.strip(), f"not one line: {message!r}"
    assert "Traceback" not in message, message
    if names is not None:
        assert names in message, f"{message!r} does not name {names}"


@pytest.fixture
def scratch() -> Path:
    with tempfile.TemporaryDirectory(prefix="loadlab-fuzz-") as folder:
        yield Path(folder)


# ---------------------------------------------------------------- strategies

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _small_containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=2)


TOML_VALUES = st.recursive(SCALARS, _small_containers, max_leaves=5)  # a limit or a setting: rarely more
SLO_KEYS = st.sampled_from([*slo.AT_MOST, *slo.AT_LEAST, "p99", "P99_MS", "", "rps"])
SWEEP_KEYS = st.sampled_from(sorted(set(sweep_settings.SweepConfig.__dataclass_fields__) | {"own", "x", ""}))
TABLE_NAMES = st.sampled_from(["default", "scenario", "Default", "scenarios", ""])
SCENARIO_NAMES = st.one_of(st.sampled_from(sorted(SCENARIOS)), st.text(max_size=10))


def toml_value(value: Any) -> str:
    """`value` written as TOML (None has no TOML: an empty inline table stands in for it)."""
    if value is None:
        return "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_table(keys: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pairs = st.dictionaries(st.one_of(keys, keys, st.text(max_size=6)), TOML_VALUES, max_size=4)
    return pairs.map(
        lambda d: "".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}\n" for k, v in d.items())
    )


def toml_documents(body: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Bytes for a TOML file: any bytes, any text, or a structured document (a body) with damage."""
    damaged = st.tuples(body, st.integers(0, 400), st.text(max_size=3)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
    )
    return st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        body.map(str.encode),
        body.map(str.encode),
        damaged.map(str.encode),
    )


SLO_BODIES = st.one_of(
    st.tuples(toml_table(SLO_KEYS), st.lists(st.tuples(SCENARIO_NAMES, toml_table(SLO_KEYS)), max_size=2)).map(
        lambda t: (
            "[default]\n"
            + t[0]
            + "".join(f"[scenario.{json.dumps(n, ensure_ascii=False)}]\n{body}" for n, body in t[1])
        )
    ),
    st.tuples(TABLE_NAMES, toml_table(SLO_KEYS)).map(lambda t: f"[{json.dumps(t[0], ensure_ascii=False)}]\n{t[1]}"),
    toml_table(st.one_of(TABLE_NAMES, SLO_KEYS)),
)


# ---------------------------------------------------------------- durations and the CLI's option types


OPTION_TYPES: dict[str, tuple[Callable[[str], Any], Callable[[Any], bool]]] = {
    "whole": (arguments.whole, lambda v: isinstance(v, int)),
    "number": (arguments.number, lambda v: isinstance(v, float) and math.isfinite(v)),
    "duration": (arguments.duration, lambda v: isinstance(v, float) and math.isfinite(v) and v >= 0),
    "wholes": (arguments.wholes, lambda v: isinstance(v, list) and all(isinstance(x, int) for x in v)),
    "names": (arguments.names, lambda v: isinstance(v, list) and all(x and x == x.strip() for x in v)),
}
NUMBERISH = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"\A\s*[0-9.]{0,8}(h[0-9.]*)?(m[0-9.]*)?(s)?\s*\Z"),
    st.from_regex(r"\A[ +-]?[0-9_,]{0,8}(\.[0-9]*)?([eE][+-]?[0-9]{1,4})?\s?\Z"),
    st.sampled_from(["nan", "-nan", "inf", "-inf", "Infinity", "1e999", "1" * 5000, "١٢", "0x10", "1,,2", ","]),
)


def test_durations_and_every_option_type_give_a_value_or_one_line():
    """Each input goes to durations.parse and to each of the CLI's option types."""
    count = [0]

    @FUZZ
    @given(NUMBERISH)
    def fuzz(text: str) -> None:
        count[0] += 1
        try:
            seconds = durations.parse(text)
        except ValueError as exc:
            one_line(str(exc))
        else:
            assert isinstance(seconds, float) and math.isfinite(seconds) and seconds >= 0, (text, seconds)
        for kind, (convert, valid) in OPTION_TYPES.items():
            try:
                value = convert(text)
            except argparse.ArgumentTypeError as exc:
                one_line(str(exc))
            else:
                assert valid(value), (kind, text, value)

    run_counted(fuzz, count)


RUN_OPTIONS = ["--rate", "--duration", "--warmup", "--users", "--workers", "--repeat", "--scenario", "--target"]


def test_loadlab_run_refuses_any_bad_option_value_with_status_2_and_one_line():
    """The option types above, through the real parser: fewer examples, the types had theirs."""
    parser = build_parser()
    count = [0]

    @settings(FUZZ, max_examples=PARSER_EXAMPLES)
    @given(st.lists(st.tuples(st.sampled_from(RUN_OPTIONS), NUMBERISH), min_size=1, max_size=3))
    def fuzz(options: list[tuple[str, str]]) -> None:
        count[0] += 1
        argv = ["run", *(f"{option}={value}" for option, value in options)]
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                parse_args(argv, parser)
            except SystemExit as exc:
                assert exc.code == 2, (argv, exc.code, err.getvalue())
                one_line(err.getvalue())

    fuzz()
    assert count[0] >= PARSER_EXAMPLES


# ---------------------------------------------------------------- slo.toml and the sweep's file


def test_an_slo_file_is_read_as_known_limits_or_refused_in_one_line_naming_it(scratch):
    path = scratch / "slo.toml"
    count = [0]

    @FUZZ
    @given(toml_documents(SLO_BODIES))
    def fuzz(content: bytes) -> None:
        count[0] += 1
        path.write_bytes(content)
        try:
            limits = slo.load(path)
        except LoadlabError as exc:
            one_line(str(exc), names=str(path))
        else:
            for scope, values in limits.items():
                assert scope == "default" or scope in SCENARIOS, scope
                for key, value in values.items():
                    assert key in slo.AT_MOST + slo.AT_LEAST, key
                    assert not isinstance(value, bool) and math.isfinite(value) and value >= 0, (key, value)

    run_counted(fuzz, count)


SWEEP_BODIES = st.one_of(toml_table(SWEEP_KEYS), toml_table(SWEEP_KEYS).map(lambda b: "[sweep]\n" + b))


def test_a_sweep_file_is_read_or_refused_in_one_line_naming_it(scratch):
    """The reader: any file gives its keys (each one SweepConfig knows) or one line naming the file."""
    path = scratch / "sweep.toml"
    known = set(sweep_settings.SweepConfig.__dataclass_fields__) - {"own"}
    count = [0]

    @FUZZ
    @given(toml_documents(SWEEP_BODIES))
    def fuzz(content: bytes) -> None:
        count[0] += 1
        path.write_bytes(content)
        try:
            values = sweep_settings.read_toml(path)
        except LoadlabError as exc:
            one_line(str(exc), names=str(path))
        else:
            assert set(values) <= known, values

    run_counted(fuzz, count)


# ---------------------------------------------------------------- results files


def damaged_json(valid: dict) -> st.SearchStrategy[bytes]:
    """`valid` serialized, then damaged: a value anywhere replaced or dropped, the text cut or changed."""
    text = json.dumps(valid, indent=2)

    @st.composite
    def replaced(draw) -> bytes:
        document = json.loads(text)
        node = document
        while True:  # walk down to a random container
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                node = child
                continue
            if isinstance(node, dict) and draw(st.integers(0, 3)) == 0:
                del node[key]
            else:
                node[key] = draw(JSON_VALUES)
            break
        return json.dumps(document).encode()

    cut = st.integers(0, len(text)).map(lambda i: text[:i].encode())
    changed = st.tuples(st.integers(0, len(text) - 1), st.binary(min_size=1, max_size=3)).map(
        lambda t: text.encode()[: t[0]] + t[1] + text.encode()[t[0] + 1 :]
    )
    deep = st.integers(10, 100_000).map(lambda n: b"[" * n + b"]" * n)
    return st.one_of(replaced(), replaced(), replaced(), cut, changed, deep, st.binary(max_size=100))


def check_reader(path: Path, read: Callable[[], Any], documents: st.SearchStrategy[bytes]) -> None:
    count = [0]

    @FUZZ
    @given(documents)
    def fuzz(content: bytes) -> None:
        count[0] += 1
        path.write_bytes(content)
        try:
            read()
        except LoadlabError as exc:
            one_line(str(exc), names=path.name)

    run_counted(fuzz, count)


def test_a_damaged_summary_json_is_refused_in_one_line_naming_it(scratch):
    valid = RunSummary("run-x", "complete", 1_700_000_000.0, {"suite": "claims"}, [point(), point("cpu")]).to_dict()
    path = scratch / "summary.json"
    check_reader(path, lambda: RunSummary.read(path), damaged_json(valid))


def test_a_damaged_sweep_json_is_refused_in_one_line_naming_it(scratch):
    path = scratch / "sweep.json"
    valid = sweep_summary().to_dict()
    valid["configs"] = valid["configs"][:2]  # two configurations and their steps: every kind of field, less to copy
    check_reader(path, lambda: SweepSummary.read(scratch), damaged_json(valid))


STATS_HEADER = [
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
    "Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
    "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
]  # fmt: skip
HISTORY_HEADER = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", "95%"]
HISTORY_HEADER += ["Total Request Count", "Total Failure Count", "Total Average Response Time"]
CELLS = st.one_of(
    st.sampled_from(["", "N/A", "0", "1", "-1", "1.5", "nan", "inf", "Aggregated", "/io/sleep", "GET", "1e309"]),
    st.integers(-(10**6), 10**6).map(str),
    st.text(max_size=6),
)


def csv_documents(header: list[str], name_column: int) -> st.SearchStrategy[bytes]:
    row = st.lists(CELLS, min_size=len(header) - 2, max_size=len(header) + 1)

    def write(rows: list[list[str]], names: list[str], keep_header: bool) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        if keep_header:
            writer.writerow(header)
        for cells, name in zip(rows, names, strict=False):
            cells = list(cells)
            if len(cells) > name_column:
                cells[name_column] = name
            writer.writerow(cells)
        return out.getvalue().encode()

    names = st.lists(st.sampled_from(["/io/sleep", "Aggregated", "x"]), min_size=5, max_size=5)
    written = st.builds(write, st.lists(row, max_size=3), names, st.booleans())
    cut = st.tuples(written, st.integers(0, 300), st.binary(max_size=4)).map(lambda t: t[0][: t[1]] + t[2])
    return st.one_of(written, written, cut, st.binary(max_size=120))


def test_damaged_locust_stats_are_read_or_refused_in_one_line_naming_the_file(scratch):
    prefix = scratch / "point"
    path = locust_csv.stats_path(prefix)
    count = [0]

    @FUZZ
    @given(csv_documents(STATS_HEADER, 1))
    def fuzz(content: bytes) -> None:
        count[0] += 1
        path.write_bytes(content)
        try:
            row = locust_csv.read_locust_row(prefix, "/io/sleep")
        except LoadlabError as exc:
            one_line(str(exc), names=path.name)
        else:
            assert isinstance(row["requests"], int) and isinstance(row["failures"], int), row
        found = locust_csv.read_percentiles(prefix, "/io/sleep")  # documented: None when unreadable
        assert found is None or (isinstance(found[0], int) and all(isinstance(v, float) for v in found[1].values()))

    run_counted(fuzz, count)


def test_damaged_locust_history_gives_samples_or_says_which_file(scratch):
    prefix = scratch / "point"
    path = locust_csv.history_path(prefix)
    count = [0]

    @FUZZ
    @given(csv_documents(HISTORY_HEADER, 3))
    def fuzz(content: bytes) -> None:
        count[0] += 1
        path.write_bytes(content)
        found = locust_csv.read_per_second(prefix, point())
        assert found.rps or path.name in found.problem, found
        steps = locust_csv.read_ramp_steps(prefix)  # documented: [] when unreadable
        assert isinstance(steps, list)

    run_counted(fuzz, count)


def test_the_one_line_check_catches_a_traceback_and_a_second_line():
    with pytest.raises(AssertionError):
        one_line("first\nsecond")
    with pytest.raises(AssertionError):
        one_line("cannot read x", names="slo.toml")
