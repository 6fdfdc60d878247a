"""`loadlab bench` end to end, with real servers and wrk: a run of one round of one second says that a
benchmark runs and reports its line and table row, nothing about speed (tests/unit/test_bench_statistics.py
checks the figures it prints)."""

import re
import subprocess
import time

import psutil

from loadlab import REPO
from loadlab.bench.own_app import MODULE
from tests.helpers import LOADLAB


def started_since(t0: float) -> list[list[str]]:
    """The processes of the benchmark's app started since `t0` that still run: its servers, either way served."""
    left = []
    for p in psutil.process_iter(["cmdline", "create_time", "status"]):
        try:
            if p.info["create_time"] < t0 or p.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmdline = p.info["cmdline"] or []
            if any(MODULE in part for part in cmdline) or p.environ().get("LOADLAB_APP") == f"{MODULE}:app":
                left.append(cmdline)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return left


def test_app_instrumentation_serves_a_user_app_both_ways_and_prints_its_ratio():
    t0 = time.time() - 1
    args = ["bench", "app-instrumentation", "--seconds", "1", "--rounds", "1"]
    done = subprocess.run([*LOADLAB, *args], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    line = next(line for line in lines if line.startswith("app instrumentation"))
    print(line)
    assert "loadlab serve --app / plain, median of 1 round ratios" in line and "(goal >= 0.98)" in line, line
    assert re.search(
        r"requests per server CPU-second per round [1-9]\d*/[1-9]\d*; wall rps per round \d+/\d+$", line
    ), line
    row = next(line for line in lines if line.startswith("app-instrumentation "))
    assert re.match(r"app-instrumentation\s+>= 0\.98\s+\d+\.\d{3}\s", row), row
    assert not started_since(t0)  # both servers stopped, their workers too


def test_hdr_cost_judges_locusts_cpu_per_request_with_the_listeners_cost_and_shows_the_whole_rounds():
    args = ["bench", "hdr-cost", "--seconds", "2", "--rounds", "1"]
    done = subprocess.run([*LOADLAB, *args], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("HdrHistogram recording"))
    print(line)
    judged = re.search(r"requests per Locust CPU-second per round (\d+)/(\d+);", line)
    added = re.search(r"the listener adds ([\d.]+) us to Locust's (\d+) us per request;", line)
    whole = re.search(r"recording/not per round: (\d+)/(\d+) \(wall rps (\d+)/(\d+)\), median ratio", line)
    assert judged and added and whole, line
    listener_us, base_us = float(added.group(1)), int(added.group(2))
    assert 0 < listener_us < 50, line  # a histogram update, not a request
    # the side without recording is Locust's measured CPU per request; the side with it adds the listener's
    assert abs(int(judged.group(2)) - int(whole.group(2))) <= 1, line
    assert abs(int(judged.group(2)) * base_us / 1e6 - 1) < 0.01, line
    assert int(judged.group(1)) < int(judged.group(2)), line  # recording adds, it never saves
    # Locust's CPU was read inside its measured window: one process cannot spend more CPU-seconds
    # than wall seconds, so it completes at least as many requests per CPU-second as per second
    for per_cpu, wall in ((whole.group(1), whole.group(3)), (whole.group(2), whole.group(4))):
        assert int(per_cpu) >= 0.95 * int(wall) > 0, line
