"""`loadlab sweep` for real: a capacity search on a target whose limit is known, then resumed.

The sync target with one worker and 2 threads waiting 100 ms per request can serve at most
1 x 2 / 0.1 s = 20 requests/s (the queueing model's threads limit). The search must step up past
it, bisect, and land near it, then measure its highest held and lowest broken rate CONFIRM more
times each; the model beside it must say the threads bind.
"""

import json
import re
import subprocess

import pytest

from loadlab.results.sweep import SweepFolder
from tests.chromium import assert_drawn, open_in_chromium
from tests.helpers import LOADLAB

SWEEP = [
    "sweep",
    "--target", "sync",
    "--scenario", "io-sleep",
    "--workers", "1",
    "--threads", "2",
    "--start-rate", "8",
    "--precision", "0.25",
    "--max-rate", "64",
    "--p99-ms", "600",
    "--duration", "4s",
    "--warmup", "1s",
    "--confirm", "2",
    "--sweep-id", "s",
]  # fmt: skip
CONFIRM = 2


def sweep(root, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*LOADLAB, *SWEEP, "--results", str(root), *extra], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    result = sweep(root)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root, result


def test_the_search_finds_the_capacity_the_threads_allow(swept):
    root, result = swept
    stored = json.loads(SweepFolder(root / "s").summary_file.read_text())
    assert stored["status"] == "complete"
    (config,) = stored["configs"]
    steps = config["steps"]
    rates = [s["rate"] for s in steps]
    assert rates[:2] == [8, 16]  # geometric from the start rate
    assert any(not s["passed"] for s in steps)  # it went past the limit...
    assert config["capacity_rps"] is not None  # ...and bisected back under it
    # the threads allow 20 rps: the capacity found is near it (wide margins: a shared, noisy machine)
    assert 10 <= config["capacity_rps"] <= 26
    # the search's highest held and lowest broken rate, each measured CONFIRM more times, interleaved
    searched, confirmations = steps[: -2 * CONFIRM], [s["rate"] for s in steps[-2 * CONFIRM :]]
    held = max(s["rate"] for s in searched if s["passed"])
    broke = min(s["rate"] for s in searched if not s["passed"])
    assert held < broke and (broke - held) / held <= 0.25
    assert confirmations == [held, broke] * CONFIRM
    assert rates.count(held) == rates.count(broke) == CONFIRM + 1
    # the interval: the highest rate that held every time, the lowest that broke in any measurement
    every_time = max(r for r in set(rates) if all(s["passed"] for s in steps if s["rate"] == r))
    any_time = min(s["rate"] for s in steps if not s["passed"])
    assert (config["capacity_rps"], config["broke_rps"]) == (every_time, any_time)
    assert f"[{every_time:.0f}, {any_time:.0f}]" in result.stdout
    assert "capacity under the SLO, [held every time, broke] rps" in result.stdout
    # a step far over the limit is stopped early: it served well under the rate offered
    (over,) = [s for s in steps if s["rate"] == 32]  # not an end of the interval: measured once
    assert not over["passed"]
    assert any(w.startswith("stopped early: served") for w in over["why"]), over["why"]
    run_summary = json.loads(SweepFolder(root / "s").step_run(over["run_id"]).summary_file.read_text())
    (point,) = [p for p in run_summary["points"] if p["point"] == over["point"]]
    assert point["cut_short"] and point["timing"]["load_s"] < 3.5  # of the 4 s asked for
    assert config["model"]["binding"] == "threads"
    assert config["model"]["ceiling_rps"] == pytest.approx(20.0)
    # every step is an ordinary run folder
    for step in steps:
        assert SweepFolder(root / "s").step_run(step["run_id"]).summary_file.is_file()
    assert "capacity under the SLO" in result.stdout
    assert "recommended for sync io-sleep" in result.stdout


def test_the_same_sweep_again_resumes_and_measures_nothing_twice(swept):
    root, _ = swept
    before = sorted(p.name for p in SweepFolder(root / "s").steps_dir.iterdir())
    again = sweep(root)
    assert again.returncode == 0, again.stderr
    assert "done before" in again.stdout
    assert sorted(p.name for p in SweepFolder(root / "s").steps_dir.iterdir()) == before


def test_a_negative_confirm_is_refused_in_one_line(tmp_path):
    bad = sweep(tmp_path, "--confirm", "-1")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "loadlab sweep: error: the search's confirmations must be 0 or more, got confirm=-1"
    ]
    assert not (tmp_path / "s").exists()


def test_resuming_with_other_settings_is_refused_in_one_line(swept):
    root, _ = swept
    other = sweep(root, "--precision", "0.1")
    assert other.returncode == 2
    assert other.stderr.strip().splitlines() == [
        f"loadlab sweep: error: {root / 's'} holds a sweep with other settings (precision): "
        "resume it with the same options, or pick another --sweep-id"
    ]


def test_the_sweep_report_shows_the_latency_at_its_capacity_from_the_steps_own_data(swept):
    root, result = swept
    out = root / "s" / "report.html"
    assert f"report: {out}" in result.stdout
    page = out.read_text()
    # percentiles from the capacity step's summary, its distribution from that run's Prometheus
    assert 'id="fig-latency-at-capacity-io-sleep"' in page
    assert 'id="fig-distribution-at-capacity-io-sleep-sync"' in page
    assert "latency at capacity," not in page  # nothing reported missing
    # capacity, model, latency at capacity and its distribution; no USL fit: it needs several worker counts
    figures = sorted(re.findall(r'<figure id="fig-([^"]+)"', page))
    assert figures == [
        "capacity-io-sleep",
        "distribution-at-capacity-io-sleep-sync",
        "latency-at-capacity-io-sleep",
        "model-io-sleep",
    ]
    assert_drawn(open_in_chromium(out), len(figures))  # each figure of the page is a plot Chromium drew, with data
