"""`loadlab report` end to end: the report of a short real run (its own Prometheus reopened for the
server-side figures) and of a hand-made sweep, each opened in headless Chromium.

Chromium is Debian's (`apt-get install chromium`), driven by Playwright's Python package through
`executable_path`: no browser is downloaded. In the browser: no console error, no request beyond the
file itself (the report is self-contained), and every plot drawn with a size and with data in it.
A screenshot is saved beside each report (report.png).
"""

import fcntl
import json
import os
import subprocess
from pathlib import Path

import psutil
import pytest

from loadlab import report
from loadlab.results.folder import RunFolder
from tests.chromium import assert_drawn, open_in_chromium
from tests.helpers import LOADLAB
from tests.unit.test_report_sweep import write_sweep

RUN_ID = "report"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short real open-model run of io-sleep on both targets, kept with its Prometheus data."""
    root = tmp_path_factory.mktemp("report")
    args = ["--run-id", RUN_ID, "--results", str(root), "--scenario", "io-sleep", "--model", "open", "--rate", "20"]
    args += ["--duration", "4s", "--warmup", "2s", "--server", "uvicorn-workers", "--workers", "2"]
    run = subprocess.run([*LOADLAB, "run", *args], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr + run.stdout
    return root / RUN_ID


@pytest.fixture(scope="module")
def run_report(run_folder: Path) -> Path:
    return report.build(run_folder)


def test_the_run_report_draws_the_server_side_from_the_runs_prometheus(run_folder, run_report):
    text = run_report.read_text()
    assert run_report == run_folder / "report.html"
    assert "Figures not drawn" not in text
    pngs = sorted(p.name for p in (run_folder / "report").glob("*.png"))
    assert pngs == [
        "distribution-io-sleep.png",
        "latency-percentiles.png",
        "over-time-p95.png",  # small multiples per scenario: throughput and p95 over time, one figure each
        "over-time.png",
        "p99-server-vs-client.png",
        "percentile-spectrum.png",  # from the HdrHistograms
        "sync-vs-async.png",
    ]
    assert text.count("<svg ") == len(pngs)
    assert "sync server" in text and "async client" in text  # both sides of the histogram
    assert "Published claims" in text and "C1: Sync endpoints serialise" in text
    for banned in ("<script", "<link", "http:", "https:", "@import"):
        assert banned not in text


def test_the_reopened_prometheus_is_stopped_after_the_report(run_folder, run_report):
    assert (RunFolder(run_folder).prometheus_dir / "reopened.yml").is_file()  # it was reopened...
    fd = os.open(RunFolder(run_folder).prometheus_dir / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ...and let go of its TSDB: the lock is free
    finally:
        os.close(fd)
    assert not [p for p in psutil.Process().children(recursive=True) if "prometheus" in p.name()]


def test_the_run_report_renders_in_chromium(run_report):
    assert_drawn(open_in_chromium(run_report), 7)


def test_the_sweep_report_renders_in_chromium(tmp_path):
    out = report.build(write_sweep(tmp_path / "sweep-demo"))
    assert_drawn(open_in_chromium(out), 6)
    assert (tmp_path / "sweep-demo" / "report.png").is_file()


def test_a_first_point_loaded_before_prometheus_scraped_it_counts_exactly(run_folder):
    # with a 2 s warm-up, the first point's load begins before its Prometheus's first discovery (5 s
    # after its start) and must still be scraped before its measured window
    assert "into the measured window" not in RunFolder(run_folder).log("run").read_text()
    first = json.loads(RunFolder(run_folder).summary_file.read_text())["points"][0]
    assert first["client_requests"] == first["server_requests"] > 0
    assert first["server_cpu_ms_per_request"] > 0
