"""What measures one side of a benchmark: wrk, the suite's Locust or a plain Locust, each returning
requests per second; and `alternate`, which runs two sides in turns so drift on the machine hits both."""

import math
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from loadlab import REPO
from loadlab.contract import routes
from loadlab.contract.scenarios import SCENARIOS
from loadlab.errors import LoadlabError
from loadlab.load.command import LoadSpec, baseline_command, command
from loadlab.results.locust_csv import read_locust_row
from loadlab.stack import ports

_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")


def wrk(url: str, seconds: float, connections: int = 64, threads: int = 2) -> float:
    """Requests per second that wrk measured against `url` (bounded by `seconds`)."""
    if shutil.which("wrk") is None:
        raise LoadlabError("wrk not found; install it with: apt-get install wrk")
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{math.ceil(seconds)}s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    match = _RPS.search(out)
    if match is None:
        raise LoadlabError(f"could not read wrk's output: {out.strip()[:200]}")
    return float(match.group(1))


def alternate(a: Callable[[], float], b: Callable[[], float], rounds: int) -> tuple[list[float], list[float]]:
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
    latency_log: bool = True,
) -> float:
    """Requests per second of the suite's Locust setup (closed model) after a warm-up; `latency_log`:
    with every request's latency recorded in HdrHistograms, as a run does."""
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
        latency_log=prefix.with_suffix(".hlog") if latency_log else None,
    )
    return _locust_rps(cmd, prefix, SCENARIOS[scenario].route, seconds + warmup + 90)


def baseline_rps(url: str, users: int, seconds: float, workdir: Path, warmup: float = 2) -> float:
    """Requests per second of a plain FastHttpUser on /hello (whole run: the baseline has no warm-up reset)."""
    prefix = workdir / f"locust-baseline-{users}-{time.monotonic_ns()}"
    cmd = baseline_command(url, users, seconds + warmup, prefix)
    return _locust_rps(cmd, prefix, routes.HELLO, seconds + warmup + 90)
