"""Prometheus instrumentation of the targets, correct across worker processes.

Design: prometheus_client's multiprocess mode. Every worker writes its samples to memory-mapped
files in `PROMETHEUS_MULTIPROC_DIR` (set and wiped by `loadlab serve`); a scrape of `/metrics` on
any worker merges the files of all workers, live and dead. Writes land in the page cache at once,
so a worker killed with SIGKILL loses no counts. Gauges of a dead worker are dropped at scrape
time (`_drop_dead_workers`), for every server kind, not only those with a Gunicorn hook.

On the request hot path there is one pure-ASGI middleware that caches its labelled children: no
per-request label lookups, no BaseHTTPMiddleware, and two file writes per request (the counter and
the histogram). Gauges (in-flight requests, threadpool and DB-pool use) and the event-loop lag are
sampled every 50 ms by one background task per worker, off the hot path: in-flight is a plain
integer on the hot path, written to its gauge by that task.
"""

import asyncio
import os
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, suppress

if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # pragma: no cover - run outside `loadlab serve`
    # Must precede the import of prometheus_client, which picks its value class at import time.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="loadlab-metrics-")

import anyio.to_thread
import psutil
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loadlab import metrics as m
from targets.routes import METRICS
from targets.settings import Settings

LABELS = m.TARGET_LABELS

REQUESTS = Counter(m.strip_total(m.HTTP_REQUESTS), "HTTP requests served.", [*LABELS, "route", "method", "status"])
DURATION = Histogram(
    m.HTTP_REQUEST_DURATION,
    "Time from request received to response sent, by route template.",
    [*LABELS, "route", "method"],
    buckets=m.LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge(m.HTTP_IN_FLIGHT, "Requests being served.", LABELS, multiprocess_mode="livesum")
LOOP_LAG = Histogram(
    m.EVENT_LOOP_LAG, "How late a periodic probe task wakes up, per worker.", LABELS, buckets=m.LOOP_LAG_BUCKETS
)
THREADS_IN_USE = Gauge(m.THREADPOOL_IN_USE, "anyio thread tokens borrowed.", LABELS, multiprocess_mode="livesum")
THREADS_LIMIT = Gauge(m.THREADPOOL_LIMIT, "anyio thread tokens in total.", LABELS, multiprocess_mode="livesum")
THREADS_WAITING = Gauge(m.THREADPOOL_WAITING, "Tasks waiting for a thread token.", LABELS, multiprocess_mode="livesum")
DB_IN_USE = Gauge(m.DB_POOL_IN_USE, "DB connections lent out.", LABELS, multiprocess_mode="livesum")
DB_SIZE = Gauge(m.DB_POOL_SIZE, "DB pool size limit.", LABELS, multiprocess_mode="livesum")
WORKERS = Gauge(m.WORKERS, "Live worker processes.", LABELS, multiprocess_mode="livesum")

UNMATCHED = "<unmatched>"  # one label value for every 404, so raw paths never become series
DbPoolStats = Callable[[], tuple[int, int]]  # () -> (connections in use, pool size)


class _Worker:
    """What this worker process's hot path counts in memory for the sampler to publish."""

    in_flight = 0


class MetricsMiddleware:
    """Counts and times every HTTP request by route template; skips `/metrics` itself."""

    def __init__(self, app: ASGIApp, target: str, server: str) -> None:
        self.app = app
        self.labels = (target, server)
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = time.perf_counter()
        _Worker.in_flight += 1
        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed = time.perf_counter() - start
            _Worker.in_flight -= 1
            route = scope.get("route")
            self._record(route.path if route is not None else UNMATCHED, scope["method"], status, elapsed)

    def _record(self, route: str, method: str, status: int, elapsed: float) -> None:
        key = (route, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = REQUESTS.labels(*self.labels, route, method, str(status))
        counter.inc()
        histogram = self._histograms.get((route, method))
        if histogram is None:
            histogram = self._histograms[(route, method)] = DURATION.labels(*self.labels, route, method)
        histogram.observe(elapsed)


@asynccontextmanager
async def worker_instrumentation(settings: Settings, db_pool_stats: DbPoolStats):
    """Lifespan part every target shares: thread limit, worker gauge, and the sampling task."""
    labels = (settings.target, settings.server)
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
    if not settings.instrument:
        yield
        return
    WORKERS.labels(*labels).set(1)
    probe = asyncio.create_task(_sample_forever(labels, settings.loop_probe_interval_s, db_pool_stats))
    try:
        yield
    finally:
        probe.cancel()
        with suppress(asyncio.CancelledError):
            await probe


async def _sample_forever(labels: tuple[str, str], interval: float, db_pool_stats: DbPoolStats) -> None:
    """Every `interval`: observe the event-loop lag and publish the gauges."""
    loop = asyncio.get_running_loop()
    limiter = anyio.to_thread.current_default_thread_limiter()
    lag = LOOP_LAG.labels(*labels)
    gauges = [
        g.labels(*labels) for g in (IN_FLIGHT, THREADS_IN_USE, THREADS_LIMIT, THREADS_WAITING, DB_IN_USE, DB_SIZE)
    ]
    while True:
        before = loop.time()
        await asyncio.sleep(interval)
        lag.observe(max(0.0, loop.time() - before - interval))
        in_use, size = db_pool_stats()
        threads = limiter.statistics()
        values = (_Worker.in_flight, threads.borrowed_tokens, threads.total_tokens, threads.tasks_waiting, in_use, size)
        for gauge, value in zip(gauges, values, strict=True):
            gauge.set(value)


_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def _live_pids(path: str) -> set[int]:
    pids = {int(match.group(1)) for f in os.listdir(path) if (match := _LIVE_FILE.match(f))}
    for pid in [pid for pid in pids if not psutil.pid_exists(pid)]:
        multiprocess.mark_process_dead(pid, path)
        pids.discard(pid)
    return pids


class _WorkerProcessCollector:
    """Per-worker CPU and RSS, read with psutil at scrape time (the stock collector is per-process)."""

    def __init__(self, path: str, target: str, server: str) -> None:
        self.path, self.labels = path, [target, server]

    def collect(self):
        cpu = CounterMetricFamily(m.PROCESS_CPU, "CPU time of a worker process.", labels=[*LABELS, "pid"])
        rss = GaugeMetricFamily(m.PROCESS_RSS, "Resident memory of a worker process.", labels=[*LABELS, "pid"])
        for pid in sorted(_live_pids(self.path)):
            try:
                proc = psutil.Process(pid)
                with proc.oneshot():
                    times, mem = proc.cpu_times(), proc.memory_info()
            except psutil.Error:
                continue
            cpu.add_metric([*self.labels, str(pid)], times.user + times.system)
            rss.add_metric([*self.labels, str(pid)], mem.rss)
        yield cpu
        yield rss


def metrics_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """The `/metrics` endpoint: the merged samples of every worker of this server."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    registry = CollectorRegistry()
    registry.register(_WorkerProcessCollector(path, settings.target, settings.server))
    multiprocess.MultiProcessCollector(registry, path)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
