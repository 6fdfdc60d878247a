"""A blocked event loop cannot block its own metrics: real servers under a real blocking-sleep load,
scraped the whole time, by this test and by a real Prometheus."""

import asyncio
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import psutil
import pytest

from loadlab.contract import metrics as m
from loadlab.contract import routes
from loadlab.stack import ports, services
from loadlab.stack.prometheus import TARGETS_JOB, Prometheus, ScrapeTarget
from loadlab.stack.servers import ServerSpec
from tests.helpers import LOADLAB, concurrently, scrape, series, serve, total

pytestmark = pytest.mark.usefixtures("with_upstream")

SCRAPE_TIMEOUT_S = 1.0  # Prometheus's scrape_timeout (prometheus/prometheus.yml.tmpl)
SCRAPE_EVERY_S = 0.25
LOAD_S = 6.0
USERS_PER_WORKER = 10  # each holds its worker's loop 100 ms a request: 1 s of queue per worker
BLOCKING = f"{routes.BLOCKING_SLEEP}?ms=100"


@contextmanager
def target(tmp_path: Path, server: str, workers: int) -> Iterator[ServerSpec]:
    port = ports.free_port()
    spec = ServerSpec("async", server, workers, port=port, metrics_port=ports.free_port(preferred=port + 1))
    service = services.start_target(spec, tmp_path / f"{server}.log")
    try:
        yield spec
    finally:
        service.stop()


class Scraper(threading.Thread):
    """Scrapes `url`/metrics every SCRAPE_EVERY_S until stopped; notes how long each scrape took
    (a scrape that takes longer than 5 s counts as 5 s)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.durations, self.done = url + routes.METRICS, [], threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.done.is_set():
                start = time.perf_counter()
                with suppress(httpx.TimeoutException):
                    client.get(self.url).raise_for_status()
                self.durations.append(time.perf_counter() - start)
                self.done.wait(SCRAPE_EVERY_S)

    def stop(self) -> list[float]:
        self.done.set()
        self.join()
        return self.durations


async def _blocking_load(url: str, users: int, seconds: float) -> int:
    """`users` clients each sending blocking-sleep requests one after another for `seconds`; the
    number of requests sent, every one answered 200."""
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        end = time.monotonic() + seconds

        async def user() -> int:
            sent = 0
            while time.monotonic() < end:
                sent += 1
                response = await client.get(BLOCKING)
                assert response.status_code == 200, response.text
            return sent

        return sum(await asyncio.gather(*(user() for _ in range(users))))


def blocking_load(url: str, users: int, seconds: float = LOAD_S) -> int:
    return asyncio.run(_blocking_load(url, users, seconds))


@pytest.mark.parametrize(
    ("server", "workers"), [("uvicorn", 1), ("gunicorn-uvicorn", 2), ("uvicorn-workers", 2), ("gunicorn-asgi", 2)]
)
def test_every_scrape_answers_within_1s_while_blocking_sleep_blocks_every_loop(tmp_path, server, workers):
    with target(tmp_path, server, workers) as spec:
        scraper = Scraper(spec.metrics_url)
        scraper.start()
        try:
            sent = blocking_load(spec.url, USERS_PER_WORKER * workers)
        finally:
            durations = scraper.stop()
        slow = [round(d, 2) for d in durations if d >= SCRAPE_TIMEOUT_S]
        assert not slow, f"{len(slow)} of {len(durations)} scrapes took 1 s or more: {slow}"
        assert len(durations) >= LOAD_S / (SCRAPE_EVERY_S + SCRAPE_TIMEOUT_S)
        assert sent >= 0.5 * LOAD_S / 0.1 * workers, "the load did not block the loops"
        for _ in range(4):  # whichever worker answers sums every worker's files: client-sent = server-counted
            assert total(scrape(spec.metrics_url), m.HTTP_REQUESTS, route=routes.BLOCKING_SLEEP) == sent


def test_prometheus_scrapes_every_second_of_a_blocking_sleep_load(tmp_path):
    run_id = f"test-{os.getpid()}"
    with target(tmp_path, "uvicorn", 1) as spec, Prometheus(tmp_path / "prometheus") as prom:
        address = spec.metrics_url.removeprefix("http://")
        prom.set_targets([ScrapeTarget(TARGETS_JOB, address, run_id, "async", "uvicorn", 1, "blocking-sleep")])
        prom.wait_until_up(address)
        started = time.time()
        sent = blocking_load(spec.url, USERS_PER_WORKER)
        stopped = time.time()
        prom.wait_for_scrape(address, after=stopped)

        window = f"{int(time.time() - started) + 1}s"
        sel = f'{{job="{TARGETS_JOB}", instance="{address}"}}'
        [up] = prom.samples(f"up{sel}", window, time=stopped)
        during = [value for t, value in up.points if started <= t <= stopped]
        assert len(during) >= LOAD_S - 1, f"{len(during)} scrapes in {LOAD_S:g} s"
        assert all(value == 1 for value in during), f"failed scrapes during the load: {up.points}"
        [took] = prom.samples(f"scrape_duration_seconds{sel}", window, time=stopped)
        assert max(value for _, value in took.points) < SCRAPE_TIMEOUT_S
        counted = prom.scalar(f'sum({m.HTTP_REQUESTS}{{run_id="{run_id}", route="{routes.BLOCKING_SLEEP}"}})')
        assert counted == sent


def listening_on(port: int) -> set[int]:
    """The processes with a socket listening on `port` of 127.0.0.1."""
    return {
        c.pid
        for c in psutil.net_connections("tcp4")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid is not None
    }


@pytest.mark.parametrize("server", ["gunicorn-uvicorn", "uvicorn-workers"])
def test_every_worker_serves_the_metrics_port_and_counts_survive_a_sigkilled_worker(tmp_path, server):
    n = 300
    with target(tmp_path, server, 2) as spec:
        concurrently(spec.url + routes.HELLO, n)  # concurrent connections land on both workers
        workers = {int(s["pid"]) for s in series(scrape(spec.metrics_url), m.PROCESS_CPU)}
        assert len(workers) == 2
        assert listening_on(spec.metrics_port) == workers  # each worker's thread, none other
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)

        deadline = time.monotonic() + 30
        while True:  # the server respawns the worker, whose thread listens beside the survivor's
            pids = {int(s["pid"]) for s in series(scrape(spec.metrics_url), m.PROCESS_CPU)}
            if len(pids) == 2 and victim not in pids and listening_on(spec.metrics_port) == pids:
                break
            assert time.monotonic() < deadline, f"worker not respawned: {pids}"
            time.sleep(0.2)
        for _ in range(8):  # a new connection each: whichever worker's thread answers sums every worker's files
            assert total(scrape(spec.metrics_url), m.HTTP_REQUESTS, route=routes.HELLO) == n


def test_loadlab_serve_metrics_port_and_a_second_server_refused_on_it(tmp_path):
    metrics_port = ports.free_port()
    with serve(tmp_path, "async", "uvicorn-workers", 2, "--metrics-port", str(metrics_port)) as srv:
        url = f"http://127.0.0.1:{metrics_port}"
        deadline = time.monotonic() + 30  # serve() waits for the first worker; the second may boot later
        while total(scrape(url), m.WORKERS) < 2:
            assert time.monotonic() < deadline, "the metrics port never reported the second worker"
            time.sleep(0.2)
        concurrently(srv.url + routes.HELLO, 20)
        assert total(scrape(url), m.HTTP_REQUESTS, route=routes.HELLO) == 20
        assert total(scrape(url), m.WORKERS) == 2
        assert httpx.get(url + "/other", timeout=5).status_code == 404
        # The workers share the port (SO_REUSEPORT): a second server must not silently share it too.
        args = ["serve", "--target", "sync", "--port", str(ports.free_port()), "--metrics-port", str(metrics_port)]
        second = subprocess.run([*LOADLAB, *args], capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert f"port {metrics_port} on 127.0.0.1 is already in use; pick another with --metrics-port" in second.stderr
