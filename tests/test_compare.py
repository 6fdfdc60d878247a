"""`loadlab compare` on real runs: three short open-model runs of one point made with `loadlab run`
(127.0.0.1 only), two at the same rate and one at a third of it, compared as a user would."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import LOADLAB

COMPARE = [*LOADLAB, "compare"]
POINT = ["--scenario", "io-sleep", "--target", "async", "--model", "open", "--duration", "8s", "--warmup", "2s"]
RUNS = {"a": "30", "a2": "30", "slow": "10"}  # run id: arrival rate (requests/s)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare")
    for run_id, rate in RUNS.items():
        cmd = [*LOADLAB, "run", *POINT, "--rate", rate, "--run-id", run_id, "--results", str(root)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=root)
        assert done.returncode == 0, done.stderr + done.stdout
    return root


def compare(results: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*COMPARE, *args, "--results", str(results)], capture_output=True, text=True, timeout=120, cwd=results
    )


def test_a_run_against_itself_says_no_regression(results):
    done = compare(results, "a", "a")
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("no regression: 5 figures of 1 points")


def test_the_same_configuration_twice_is_not_a_regression(results):
    done = compare(results, "a", "a2", "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    data = json.loads(done.stdout)
    rps = next(r for r in data["rows"] if r["figure"] == "rps")
    assert rps["verdict"] == "unchanged" and abs(rps["change"]) < 0.1, rps  # the schedule sets it: 30/s
    assert not data["regressed"], data["summary"]


def test_a_third_of_the_throughput_is_named_a_regression_with_exit_1(results):
    done = compare(results, "a", "slow")
    assert done.returncode == 1, done.stderr + done.stdout
    rps = next(line for line in done.stdout.splitlines() if " rps " in line)
    assert "regressed" in rps, done.stdout
    p_value = float(rps.split()[-2])  # the samples are per second: at least 5 each side
    assert p_value < 0.05, done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("REGRESSED:") and "async io-sleep uvicorn-workers x4 rps -" in last
    assert "load A 30/s open B 10/s open" in done.stdout
    # the other way round it is an improvement: status 0
    assert compare(results, "slow", "a").returncode == 0


def test_the_report_of_the_slow_run_has_the_comparison_with_its_regression_and_exits_0(results):
    slow, fast = results / "slow", results / "a"
    cmd = [*LOADLAB, "report", str(slow), "--compare", str(fast)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=results)
    assert done.returncode == 0, done.stderr + done.stdout  # a regression is the section's news, not a failure
    out = slow / "report.html"
    assert done.stdout.startswith(f"report: {out}") and "REGRESSED:" in done.stdout, done.stdout
    text = out.read_text()
    section = text[text.index(f"<h2>Comparison with {fast}</h2>") :]
    assert '<p class="summary bad"><strong>REGRESSED:' in section
    rows = section[: section.index("</table>")].split("<tr")
    (rps,) = [r for r in rows if "<td>rps</td>" in r]
    assert "regressed" in rps and 'class="verdict-regressed bad"' in rps, rps
    assert "<script" not in text


def test_a_run_folder_that_is_not_one_is_one_line_and_status_2(results, tmp_path):
    done = compare(results, "a", str(tmp_path))
    assert done.returncode == 2 and "not a loadlab results folder" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_the_command_does_not_import_scipy_until_it_compares():
    modules = "loadlab.cli, loadlab.commands.compare, loadlab.tuning.comparison, loadlab.console.compare_table"
    code = f"import sys, {modules}, loadlab.report.compare_section; print('scipy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
