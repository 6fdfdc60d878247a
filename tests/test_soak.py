"""`loadlab soak` for real: a 3-minute soak of both targets over three scenarios with its verdict,
and a soak interrupted with Ctrl-C that keeps its checkpoints and prints the verdict so far."""

import json
import os
import signal
import subprocess
import time

import psutil

from loadlab.report.figures import Figures
from loadlab.report.soak_section import section
from loadlab.soak import drift
from loadlab.soak.record import SoakRecord
from tests.helpers import LOADLAB

KINDS = set(drift.TOLERANCES)
STABLE = ("fds", "threads", "error_ratio")  # flat in a healthy soak of any length


def no_process_left(proc: subprocess.Popen, before: set[int]) -> None:
    """Nothing the soak started runs on (the session's own processes, e.g. its upstream, may)."""
    mine = [p for p in psutil.Process().children(recursive=True) if p.pid != proc.pid and p.pid not in before]
    assert not [p.cmdline() for p in mine if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_three_minute_soak_of_both_targets_has_a_verdict_for_every_series(tmp_path):
    args = ["soak", "--duration", "2m50s", "--checkpoint", "20s", "--warmup", "10s", "--no-report"]
    args += ["--results", str(tmp_path), "--run-id", "soak"]
    before = _children()
    proc = subprocess.Popen([*LOADLAB, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode in (0, 1), out  # 1: a series drifts, which the verdict names
    no_process_left(proc, before)
    folder = tmp_path / "soak"
    record = SoakRecord(folder)
    checkpoints = record.checkpoints()
    assert len(checkpoints) == 8, out
    assert record.ending()["status"] == "complete"
    trends = record.trends()
    assert {t.kind for t in trends} == KINDS
    points = {f"{t}-{s}" for t in ("async", "sync") for s in ("io-sleep", "io-db", "io-http")}
    for kind in ("scrape_ms", "p99_ms", "error_ratio"):
        assert {t.key.split(" ")[1] for t in trends if t.kind == kind} == points
    # each target's supervisor and its 2 workers, and each Locust, at every checkpoint
    per_checkpoint = [sum(k.startswith("rss_mb ") and " target " in k for k in c.values) for c in checkpoints]
    assert min(per_checkpoint) >= 6 * 3
    for t in trends:
        assert t.verdict != drift.TOO_FEW or t.left_out, t  # 6 or 7 settled checkpoints each
        if t.kind in STABLE:
            assert t.verdict != drift.DRIFTS, t
    drifting = drift.failed(trends)
    assert (proc.returncode == 1) == bool(drifting), out
    assert "drift per hour" in out and "soak verdict: " in out
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "complete" and len(summary["points"]) == 6
    for p in summary["points"]:  # nothing lost on the way: what Locust sent, the target counted
        assert p["client_requests"] == p["server_requests"] > 0, p
    with Figures(tmp_path / "png", "png") as figures:
        drawn = section(record, figures)
    assert "complete: 8 checkpoints" in drawn.html
    assert len(figures.rendered) == len(KINDS)


def test_ctrl_c_keeps_every_checkpoint_and_prints_the_verdict_so_far(tmp_path):
    args = ["soak", "--target", "async", "--scenario", "io-sleep", "--duration", "3m", "--checkpoint", "5s"]
    args += ["--warmup", "2s", "--results", str(tmp_path), "--run-id", "cut"]
    before = _children()
    proc = subprocess.Popen([*LOADLAB, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checkpoints = tmp_path / "cut" / "soak" / "checkpoints.jsonl"
    deadline = time.monotonic() + 180
    while not checkpoints.exists() or len(checkpoints.read_text().splitlines()) < 5:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() else ""
        time.sleep(0.5)
    os.kill(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    no_process_left(proc, before)
    record = SoakRecord(tmp_path / "cut")
    kept = record.checkpoints()
    assert len(kept) >= 5 and record.ending()["status"] == "interrupted"
    assert f"soak interrupted: {len(kept)} checkpoints" in out
    assert "soak verdict so far: " in out
    assert "every checkpoint is in" in out
