"""The locustfiles, run as real Locust processes against a real target, scraped as Prometheus would.

Locust is never imported here: it monkeypatches the standard library (gevent). Every run is a
subprocess with its own free ports and its own multiprocess metrics directory; the target is one
`loadlab serve` for the module, so each test compares the target's counts before and after.
Timing bounds are generous: the machine is small and shared.
"""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from loadlab.contract import metrics as m
from loadlab.contract.scenarios import SCENARIOS
from loadlab.load.command import LoadSpec, command
from loadlab.results.locust_csv import read_history, read_locust_row
from loadlab.stack import ports, procs
from tests.helpers import Running, scrape, series, serve, total

ROOT = Path(__file__).resolve().parent.parent
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

    def stats(self, name: str) -> dict[str, Any]:
        """Request `name`'s figures in Locust's --csv stats file, as a run reads them."""
        return read_locust_row(self.csv_prefix, name)

    def users_over_time(self) -> list[int | None]:
        return [row.users for row in read_history(self.csv_prefix)]


@contextmanager
def locust(
    tmp_path: Path,
    load: LoadSpec,
    host: str,
    scenario: str,
    run_time_s: float,
    linger: float = LINGER_S,
    **options: Any,
) -> Iterator[LocustRun]:
    """Run the suite's Locust on `scenario` against `host` as a run does (loadlab.load.command), with its
    exporter on a free port and its INFO lines in its log."""
    metrics_dir = tmp_path / "locust-metrics"
    metrics_dir.mkdir()
    port = ports.free_port()
    csv_prefix = tmp_path / "locust"
    master_port = ports.free_port() if load.processes > 1 else None
    cmd = command(
        load,
        host,
        scenario,
        run_time_s,
        csv_prefix=csv_prefix,
        prometheus_port=port,
        linger_s=linger,
        master_port=master_port,
        loglevel="INFO",
        **options,
    )
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


@pytest.mark.parametrize("model", ["closed", "open"])
def test_unknown_scenario_is_one_line_listing_the_valid_ones(model: str) -> None:
    cmd = command(LoadSpec(model), "http://127.0.0.1:9", "nope", 1)
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "'nope'" in lines[0]
    assert all(name in lines[0] for name in SCENARIOS), lines[0]


def test_closed_model_counts_agree_across_processes(target: Running, tmp_path: Path) -> None:
    route = SCENARIOS["hello"].route
    before = served(target, route)
    load = LoadSpec("closed", users=10, processes=2)
    with locust(tmp_path, load, target.url, "hello", 4, stop_timeout_s=10) as run:
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
    assert sent == run.stats(route)["requests"]
    assert sent == served(target, route) - before
    assert total(final, f"{m.LOCUST_REQUEST_DURATION}_count", scenario="hello") == sent


def test_open_model_holds_its_rate_against_a_slow_target(target: Running, tmp_path: Path) -> None:
    # blocking-sleep serves one request at a time, 100 ms each: 10/s at most; the open model offers 20/s.
    rate, seconds, route = 20, 4, SCENARIOS["blocking-sleep"].route
    before = served(target, route)
    load = LoadSpec("open", rate=rate, processes=2)
    with locust(tmp_path, load, target.url, "blocking-sleep", seconds, stop_timeout_s=0) as run:
        final = run.final_metrics()
        assert run.wait() == 0, run.output()
    sent = client_count(final, "blocking-sleep")
    assert 0.7 * rate * seconds <= sent <= 1.15 * rate * seconds
    # The users waited for their requests in flight: the client's counts match what the target served.
    assert sent == run.stats(route)["requests"]
    assert sent == served(target, route) - before
    # Requests queued at the target: late responses, though they all went out on time.
    assert quantile_bound(final, m.LOCUST_REQUEST_DURATION, 0.99, scenario="blocking-sleep") >= 1.0


def test_open_model_scheduled_latency_counts_the_wait_for_a_slot(target: Running, tmp_path: Path) -> None:
    # Two slots for 100 ms requests carry 20/s; the schedule asks for 40/s, so requests wait and go out late.
    rate, seconds = 40, 4
    load = LoadSpec("open", rate=rate, max_inflight=2)
    with locust(tmp_path, load, target.url, "io-sleep", seconds, stop_timeout_s=0) as run:
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
    load = LoadSpec("closed", users=2, processes=2)
    with locust(tmp_path, load, target.url, "io-sleep", 5, warmup_s=2.5, stop_timeout_s=10) as run:
        run.wait_for("Warm-up of 2.5 s over")
        at_warmup = client_count(scrape(run.metrics_url), "io-sleep")
        final = run.final_metrics()
        assert run.wait() == 0, run.output()
    after_warmup = run.stats(route)["requests"]
    # Prometheus counts the whole run; Locust's stats only what came after the warm-up, from both workers.
    assert 0 < after_warmup < client_count(final, "io-sleep")
    assert abs(after_warmup - (client_count(final, "io-sleep") - at_warmup)) <= 10


def test_step_ramp_adds_users_in_steps_and_ends_by_itself(target: Running, tmp_path: Path) -> None:
    load = LoadSpec("ramp", users=4, step_users=2, step_seconds=2)
    started = time.monotonic()
    # -t far beyond the steps' end: the ramp, not the run time, ends it
    with locust(tmp_path, load, target.url, "io-sleep", 60, linger=0, stop_timeout_s=0) as run:
        assert run.wait(60) == 0, run.output()
    assert time.monotonic() - started < 30
    users = run.users_over_time()
    assert {2, 4} <= set(users), users
    assert max(users) == 4


def test_locust_stays_out_of_the_test_process() -> None:
    assert not {"locust", "gevent"} & set(sys.modules)
