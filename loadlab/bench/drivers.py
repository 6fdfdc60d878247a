"""What measures one side of a benchmark: wrk, the suite's Locust or a plain Locust, each returning
requests per second, or a `Round` that also has the CPU time the judged process spent on them; and
`alternate`, which runs two sides in turns so drift on the machine hits both.

Why CPU time: on this shared 2-core machine a saturated 5-second round's throughput swings by
±30 % even with nothing else of ours running (other tenants, and the generator and the target taking
CPU from each other), far more than a 2-3 % cost. The CPU seconds the judged process spends per
request are what such a cost adds to; when that process is what limits the load, its throughput is
requests per CPU-second. That figure moves less with what else runs, but not little enough: an A/A
check of Locust's moved ±20 % between 5-second rounds (2026-11-29). So hdr-cost also times the one
piece of work its cost is made of on its own (listener_added_us).
"""

import json
import math
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil
from prometheus_client.parser import text_string_to_metric_families

from loadlab import REPO
from loadlab.bench.stats import Round
from loadlab.contract import metrics as m
from loadlab.contract import routes
from loadlab.contract.scenarios import SCENARIOS
from loadlab.errors import LoadlabError
from loadlab.load.command import LoadSpec, baseline_command, command
from loadlab.results.locust_csv import read_locust_row
from loadlab.stack import ports

T = TypeVar("T")  # what one side of a round measures: rps, or a Round
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b")
_UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) spent so far by a process and its live descendants."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in tree:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _wrk_output(url: str, seconds: float, connections: int, threads: int) -> str:
    if shutil.which("wrk") is None:
        raise LoadlabError("wrk not found; install it with: apt-get install wrk")
    return subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{math.ceil(seconds)}s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout


def _read(pattern: re.Pattern, out: str) -> re.Match:
    match = pattern.search(out)
    if match is None:
        raise LoadlabError(f"could not read wrk's output: {out.strip()[:200]}")
    return match


def wrk(url: str, seconds: float, connections: int = 64, threads: int = 2) -> float:
    """Requests per second that wrk measured against `url` (bounded by `seconds`)."""
    return float(_read(_RPS, _wrk_output(url, seconds, connections, threads)).group(1))


def wrk_round(url: str, seconds: float, server_pid: int, connections: int = 64, threads: int = 2) -> Round:
    """wrk against `url`, and the CPU the server's process tree spent meanwhile (it idles otherwise)."""
    cpu0 = tree_cpu_s(server_pid)
    out = _wrk_output(url, seconds, connections, threads)
    cpu = tree_cpu_s(server_pid) - cpu0
    match = _read(_REQUESTS, out)
    return Round(int(match.group(1)), float(match.group(2)) * _UNIT_S[match.group(3)], cpu)


def alternate(a: Callable[[], T], b: Callable[[], T], rounds: int) -> tuple[list[T], list[T]]:
    """Run a and b alternately, `rounds` times each, so drift on the machine hits both alike."""
    results_a, results_b = [], []
    for i in range(rounds):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        x, y = first(), second()
        results_a.append(x if first is a else y)
        results_b.append(y if first is a else x)
    return results_a, results_b


def _locust_rps(cmd: list[str], prefix: Path, route: str, timeout: float) -> float:
    subprocess.run(cmd, cwd=REPO, capture_output=True, timeout=timeout, check=False)
    return read_locust_row(prefix, route)["rps"] or 0.0


def locust_rps(
    url: str,
    scenario: str,
    users: int,
    seconds: float,
    workdir: Path,
    warmup: float = 2,
    processes: int = 1,
) -> float:
    """Requests per second of the suite's Locust setup (closed model) after a warm-up, every request's
    latency recorded in HdrHistograms as a run does."""
    prefix = workdir / f"locust-{scenario}-{users}-{time.monotonic_ns()}"
    load = LoadSpec("closed", users=users, processes=processes)
    cmd = command(
        load,
        url,
        scenario,
        seconds + warmup,
        warmup_s=warmup,
        csv_prefix=prefix,
        prometheus_port=ports.free_port(),  # the exporter serves, as in a run (nothing scrapes it here)
        stop_timeout_s=10,
        master_port=ports.free_port() if processes > 1 else None,
        latency_log=prefix.with_suffix(".hlog"),
    )
    return _locust_rps(cmd, prefix, SCENARIOS[scenario].route, seconds + warmup + 90)


def _requests_served(exporter: str) -> float:
    """The Locust exporter's completed-request count (all outcomes), or -1 while it does not answer."""
    try:
        with urllib.request.urlopen(exporter, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return -1.0
    families = text_string_to_metric_families(text)
    return sum(s.value for f in families for s in f.samples if s.name == m.LOCUST_REQUESTS)


def locust_round(
    url: str, scenario: str, users: int, seconds: float, workdir: Path, warmup: float = 2, latency_log: bool = True
) -> Round:
    """The suite's Locust (closed model, 1 process) for `warmup` + `seconds`: the requests it completed
    in the measured window, read from its exporter at the window's two ends, and its CPU time between
    the same two instants (so its start, its warm-up and writing its files at the end are outside)."""
    prefix = workdir / f"locust-{scenario}-{users}-{time.monotonic_ns()}"
    exporter_port = ports.free_port()
    cmd = command(
        LoadSpec("closed", users=users),
        url,
        scenario,
        warmup + seconds + 2,  # the window ends inside the run, whatever Locust's start took
        csv_prefix=prefix,
        prometheus_port=exporter_port,
        stop_timeout_s=10,
        latency_log=prefix.with_suffix(".hlog") if latency_log else None,
    )
    exporter = f"http://127.0.0.1:{exporter_port}/metrics"
    log = prefix.with_suffix(".log").open("wb")
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while _requests_served(exporter) <= 0:  # the load has begun
            if proc.poll() is not None or time.monotonic() > deadline:
                raise LoadlabError(f"Locust did not start its load; see {log.name}")
            time.sleep(0.1)
        time.sleep(warmup)
        requests0, cpu0, t0 = _requests_served(exporter), tree_cpu_s(proc.pid), time.monotonic()
        time.sleep(seconds)
        requests1, cpu1, t1 = _requests_served(exporter), tree_cpu_s(proc.pid), time.monotonic()
        proc.wait(timeout=warmup + seconds + 90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    return Round(int(requests1 - requests0), t1 - t0, cpu1 - cpu0)


def listener_added_us(rounds: int, calls: int = 200_000, schedule: bool = True) -> list[float]:
    """Per round, the CPU microseconds that recording a request's latency adds to a Locust process
    (loadlab.bench.listener_cost, in a process of its own); `schedule`: the open model's two histograms."""
    cmd = [sys.executable, "-m", "loadlab.bench.listener_cost", "--rounds", str(rounds), "--calls", str(calls)]
    out = subprocess.run(
        [*cmd, *(["--schedule"] if schedule else [])], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    if out.returncode != 0:
        raise LoadlabError(f"timing the latency listener failed: {out.stderr.strip()[-300:]}")
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return [row["with_us"] - row["without_us"] for row in rows]


def baseline_rps(url: str, users: int, seconds: float, workdir: Path, warmup: float = 2) -> float:
    """Requests per second of a plain FastHttpUser on /hello (whole run: the baseline has no warm-up reset)."""
    prefix = workdir / f"locust-baseline-{users}-{time.monotonic_ns()}"
    cmd = baseline_command(url, users, seconds + warmup, prefix)
    return _locust_rps(cmd, prefix, routes.HELLO, seconds + warmup + 90)
