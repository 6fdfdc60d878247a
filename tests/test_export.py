"""`loadlab export` as a user runs it: a run's histograms as an HdrHistogram log and as CSV; a cut log
named in one line while the rest is exported; a run made before HdrHistograms is one line, status 2."""

import csv
import io
import subprocess
import sys

from hdrh.histogram import HdrHistogram

from loadlab.results.folder import RunFolder
from tests.unit.test_report_figures import CLAIMS, write_claims_run


def export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loadlab", "export", *args], capture_output=True, text=True, timeout=60
    )


def test_hdr_and_csv(tmp_path):
    run = write_claims_run(tmp_path / "claims", open_model=True)
    hdr = export(str(run.path), "--format", "hdr")
    assert hdr.returncode == 0, hdr.stderr
    lines = [line for line in hdr.stdout.splitlines() if line.startswith("Tag=")]
    assert len(lines) == 2 * len(CLAIMS)
    assert lines[0].startswith("Tag=sync-io-sleep.send,")
    assert HdrHistogram.decode(lines[0].split(",")[-1]).get_total_count() == 3000

    out = tmp_path / "latency.csv"
    assert export(str(run.path), "--format", "csv", "--out", str(out)).returncode == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    last = [r for r in rows if r["point"] == "async-fanout" and r["kind"] == "send"][-1]
    assert (float(last["quantile"]), int(last["requests_at_or_below"])) == (1.0, 3000)


def test_a_cut_log_is_one_line_and_the_rest_is_exported(tmp_path):
    run = write_claims_run(tmp_path / "claims")
    cut = run.latency_log("async-io-sleep")
    cut.write_text(cut.read_text()[:200])
    result = export(str(run.path), "--format", "hdr")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"export: skipped {cut}: latency log cut short (no end line)"]
    assert result.stdout.count("Tag=") == len(CLAIMS) - 1


def test_a_run_made_before_hdr_recording_is_one_line(tmp_path):
    run = write_claims_run(tmp_path / "old")
    for f in run.latency_dir.iterdir():
        f.unlink()
    run.latency_dir.rmdir()
    result = export(str(RunFolder(run.path).path), "--format", "csv")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "a run made before loadlab recorded HdrHistograms" in result.stderr
    bad = export(str(run.path), "--format", "xml")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
