"""The locustfiles, run as real Locust processes against a real target, scraped as Prometheus would.

Locust is never imported here: it monkeypatches the standard library (gevent). Every run is a
subprocess with its own free ports and its own multiprocess metrics directory; the target is one
`loadlab serve` for the module, so each test compares the target's counts before and after.
Timing bounds are generous: the machine is small and shared.
"""

import csv
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from loadlab.contract import metrics as m
from loadlab.contract.scenarios import SCENARIOS
from loadlab.stack import procs
from tests.helpers import Running, scrape, series, serve, total

ROOT = Path(__file__).resolve().parent.parent
CLOSED = "locustfiles/closed_model.py"
OPEN = "locustfiles/open_model.py"
STEP = "locustfiles/step_ramp.py"
LINGER_S = 4  # long enough for one scrape after the "Serving final metrics" line
RUN_TIMEOUT_S = 90

Samples = dict[tuple[str, frozenset], float]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with serve(tmp_path_factory.mktemp("target"), "async") as running:
        yield running


@dataclass
class LocustRun:
    proc: subprocess.Popen
    log: Path
    metrics_url: str
    csv_prefix: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = RUN_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.proc.poll() is not None:
                raise AssertionError(f"locust exited with {self.proc.returncode} before {text!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} from locust after {timeout}s:\n{self.output()}")
            time.sleep(0.1)

    def metrics_when(self, ready: Callable[[Samples], bool], timeout: float = 30) -> Samples:
        """Scrape the running Locust until `ready` holds of its metrics."""
        deadline = time.monotonic() + timeout
        samples: Samples = {}
        while True:
            with suppress(httpx.TransportError):  # not serving yet
                samples = scrape(self.metrics_url)
            if samples and ready(samples):
                return samples
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"metrics never ready: {samples}\n{self.output()}")
            time.sleep(0.2)

    def final_metrics(self) -> Samples:
        """One scrape while Locust lingers after its run: the final counts of every process."""
        self.wait_for("Serving final metrics")
        return scrape(self.metrics_url)

    def wait(self, timeout: float = RUN_TIMEOUT_S) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"locust still running after {timeout}s:\n{self.output()}") from None

    def stats(self, name: str) -> dict[str, str]:
        """The row of request `name` in Locust's --csv stats file."""
        with open(f"{self.csv_prefix}_stats.csv", newline="") as f:
            return next(row for row in csv.DictReader(f) if row["Name"] == name)

    def users_over_time(self) -> list[int]:
        with open(f"{self.csv_prefix}_stats_history.csv", newline="") as f:
            return [int(row["User Count"]) for row in csv.DictReader(f)]


@contextmanager
def locust(tmp_path: Path, locustfile: str, host: str, *args: str, linger: float = LINGER_S) -> Iterator[LocustRun]:
    """Run Locust headless on `locustfile` against `host`, with its exporter on a free port."""
    metrics_dir = tmp_path / "locust-metrics"
    metrics_dir.mkdir()
    port = procs.free_port()
    csv_prefix = tmp_path / "locust"
    cmd = [sys.executable, "-m", "locust", "-f", locustfile, "--headless", "--host", host]
    cmd += ["--prometheus-port", str(port), "--prometheus-linger", str(linger), "--csv", str(csv_prefix), *args]
    log = tmp_path / "locust.log"
    proc = procs.start(cmd, env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}, log=log, cwd=ROOT)
    try:
        yield LocustRun(proc, log, f"http://127.0.0.1:{port}", csv_prefix)
    finally:
        procs.stop(proc)


def served(target: Running, route: str) -> float:
    return total(scrape(target.url), m.HTTP_REQUESTS, route=route)


def client_count(samples: Samples, scenario: str, result: str = "success") -> float:
    labels = {"scenario": scenario, "name": SCENARIOS[scenario].route, "method": "GET", "result": result}
    return total(samples, m.LOCUST_REQUESTS, **labels)


def quantile_bound(samples: Samples, histogram: str, q: float, **labels: str) -> float:
    """The upper bound of the bucket holding quantile `q` of `histogram` (summed over matching series)."""
    want = set(labels.items())
    bounds: dict[float, float] = {}
    for (name, ls), value in samples.items():
        if name == f"{histogram}_bucket" and want <= ls:
            le = float(dict(ls)["le"])
            bounds[le] = bounds.get(le, 0.0) + value
    cumulative = sorted(bounds.items())
    count = cumulative[-1][1]
    assert count > 0, f"{histogram} {labels} has no observations"
    return next(le for le, c in cumulative if c >= q * count)


@pytest.mark.parametrize("locustfile", [CLOSED, OPEN])
def test_unknown_scenario_is_one_line_listing_the_valid_ones(locustfile: str) -> None:
    cmd = [sys.executable, "-m", "locust", "-f", locustfile, "--headless", "--host", "http://127.0.0.1:9"]
    result = subprocess.run(
        [*cmd, "--scenario", "nope", "-t", "1s"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "'nope'" in lines[0]
    assert all(name in lines[0] for name in SCENARIOS), lines[0]


def test_closed_model_counts_agree_across_processes(target: Running, tmp_path: Path) -> None:
    route = SCENARIOS["hello"].route
    before = served(target, route)
    args = ["--scenario", "hello", "--processes", "2", "-u", "10", "-r", "10", "-t", "4s", "--stop-timeout", "10"]
    with locust(tmp_path, CLOSED, target.url, *args) as run:
        # While it runs: all users, and the CPU of the master and of its two workers, by pid.
        running = run.metrics_when(
            lambda s: total(s, m.LOCUST_USERS, scenario="hello") == 10 and len(series(s, m.LOCUST_CPU)) == 3
        )
        assert total(running, m.LOCUST_TEST_RUNNING) == 1
        final = run.final_metrics()
        assert run.wait() == 0, run.output()
    assert total(final, m.LOCUST_TEST_RUNNING) == 0  # the users have stopped: the counts are final
    assert len(series(final, m.LOCUST_CPU)) == 1  # the workers have exited: their CPU series are gone
    sent = client_count(final, "hello")
    assert sent > 100
    assert client_count(final, "hello", "failure") == 0
    # One scrape of the master has both workers' requests: all Locust counted, all the target served.
    assert sent == int(run.stats(route)["Request Count"])
    assert sent == served(target, route) - before
    assert total(final, f"{m.LOCUST_REQUEST_DURATION}_count", scenario="hello") == sent


def test_open_model_holds_its_rate_against_a_slow_target(target: Running, tmp_path: Path) -> None:
    # blocking-sleep serves one request at a time, 100 ms each: 10/s at most; the open model offers 20/s.
    rate, seconds, route = 20, 4, SCENARIOS["blocking-sleep"].route
    before = served(target, route)
    args = ["--scenario", "blocking-sleep", "--processes", "2", "-u", "2", "-r", "10", "-t", f"{seconds}s"]
    with locust(tmp_path, OPEN, target.url, *args, "--rate", str(rate)) as run:
        final = run.final_metrics()
        assert run.wait() == 0, run.output()
    sent = client_count(final, "blocking-sleep")
    assert 0.7 * rate * seconds <= sent <= 1.15 * rate * seconds
    # The users waited for their requests in flight: the client's counts match what the target served.
    assert sent == int(run.stats(route)["Request Count"])
    assert sent == served(target, route) - before
    # Requests queued at the target: late responses, though they all went out on time.
    assert quantile_bound(final, m.LOCUST_REQUEST_DURATION, 0.99, scenario="blocking-sleep") >= 1.0


def test_open_model_scheduled_latency_counts_the_wait_for_a_slot(target: Running, tmp_path: Path) -> None:
    # Two slots for 100 ms requests carry 20/s; the schedule asks for 40/s, so requests wait and go out late.
    rate, seconds = 40, 4
    args = ["--scenario", "io-sleep", "-u", "1", "-t", f"{seconds}s", "--rate", str(rate), "--max-inflight", "2"]
    with locust(tmp_path, OPEN, target.url, *args) as run:
        final = run.final_metrics()
        assert run.wait() == 0, run.output()
    sent = client_count(final, "io-sleep")
    assert 0 < sent <= 0.75 * rate * seconds
    assert total(final, m.LOCUST_LATE, scenario="io-sleep") >= 0.5 * sent
    from_send = quantile_bound(final, m.LOCUST_REQUEST_DURATION, 0.99, scenario="io-sleep")
    from_schedule = quantile_bound(final, m.LOCUST_SCHEDULED_DURATION, 0.99, scenario="io-sleep")
    assert from_send <= 0.5
    assert from_schedule >= 2 * from_send


def test_warmup_resets_locust_stats_on_every_process(target: Running, tmp_path: Path) -> None:
    route = SCENARIOS["io-sleep"].route
    args = ["--scenario", "io-sleep", "--processes", "2", "-u", "2", "-r", "10", "-t", "5s", "--warmup", "2.5"]
    with locust(tmp_path, CLOSED, target.url, *args, "--stop-timeout", "10") as run:
        run.wait_for("Warm-up of 2.5 s over")
        at_warmup = client_count(scrape(run.metrics_url), "io-sleep")
        final = run.final_metrics()
        assert run.wait() == 0, run.output()
    after_warmup = int(run.stats(route)["Request Count"])
    # Prometheus counts the whole run; Locust's stats only what came after the warm-up, from both workers.
    assert 0 < after_warmup < client_count(final, "io-sleep")
    assert abs(after_warmup - (client_count(final, "io-sleep") - at_warmup)) <= 10


def test_step_ramp_adds_users_in_steps_and_ends_by_itself(target: Running, tmp_path: Path) -> None:
    args = ["--scenario", "io-sleep", "--step-users", "2", "--step-seconds", "2", "--max-users", "4"]
    started = time.monotonic()
    with locust(tmp_path, f"{CLOSED},{STEP}", target.url, *args, linger=0) as run:
        assert run.wait(60) == 0, run.output()
    assert time.monotonic() - started < 30
    users = run.users_over_time()
    assert {2, 4} <= set(users), users
    assert max(users) == 4


def test_locust_stays_out_of_the_test_process() -> None:
    assert not {"locust", "gevent"} & set(sys.modules)
