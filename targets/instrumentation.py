"""Prometheus instrumentation of the targets, correct across worker processes.

Design: every worker writes its samples to memory-mapped files in `PROMETHEUS_MULTIPROC_DIR` (set
and wiped by `loadlab serve`); a scrape of `/metrics` on any worker merges the files of all
workers, live and dead (a dead worker's counters and histograms folded into one archive:
loadlab.contract.multiproc). Writes land in the page cache at once, so a worker killed with SIGKILL
loses no counts.

The two metrics updated on every request, the request counter and the latency histogram, live in
`targets.request_metrics`: per-worker slot files written with plain float stores, no lock and no
pid check per request. Everything else uses prometheus_client's multiprocess mode: gauges of a
dead worker are dropped at scrape time (`loadlab.multiproc.live_pids`), for every server kind, not only those with
a Gunicorn hook.

The merged metrics are served twice: as `/metrics` on the app's port (readiness checks use it), and,
when `LOADLAB_METRICS_PORT` is set, by a thread of every worker on that port, which Prometheus
scrapes. Every worker's thread listens on it (SO_REUSEPORT: the kernel hands each connection to one
of them) and merges every worker's files, so whichever answers answers for the whole server. A
handler that blocks its event loop (`time.sleep` in `async def`) cannot stop that thread, since the
call releases the GIL: the scrapes carry on exactly where the anti-pattern should show, where
`/metrics` on the app's port waits behind the blocked loop.

On the request hot path there is one pure-ASGI middleware that caches its series' slots: no
per-request label lookups, no BaseHTTPMiddleware. Gauges (in-flight requests, threadpool and
DB-pool use) and the event-loop lag are sampled every 50 ms by one background task per worker,
off the hot path: in-flight is a plain integer on the hot path, written to its gauge by that task.
"""

import asyncio
import functools
import os
import socketserver
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from time import perf_counter
from urllib.parse import urlsplit

if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # pragma: no cover - run outside `loadlab serve`
    # Must precede the import of prometheus_client, which picks its value class at import time.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="loadlab-metrics-")

import anyio.to_thread
import psutil
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loadlab.contract import metrics as m
from loadlab.contract.multiproc import ArchivedCollector, live_pids
from loadlab.contract.routes import METRICS
from loadlab.contract.settings import Settings
from targets.request_metrics import RequestMetrics, RequestMetricsCollector

LABELS = m.TARGET_LABELS

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

    __slots__ = ("in_flight",)

    def __init__(self) -> None:
        self.in_flight = 0


# An instance, not class attributes: assigning to a class attribute is several times slower.
_WORKER = _Worker()


class MetricsMiddleware:
    """Counts and times every HTTP request by route template; skips `/metrics` itself."""

    def __init__(self, app: ASGIApp, target: str, server: str) -> None:
        self.app = app
        self.metrics = RequestMetrics(target, server)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS:
            await self.app(scope, receive, send)
            return
        status = 500

        def send_and_note_status(message: Message) -> Awaitable[None]:
            # A plain function handing back send's awaitable: no coroutine of its own per message.
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        start = perf_counter()
        _WORKER.in_flight += 1
        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed = perf_counter() - start
            _WORKER.in_flight -= 1
            route = scope.get("route")
            self.metrics.record(route.path if route is not None else UNMATCHED, scope["method"], status, elapsed)


@asynccontextmanager
async def worker_instrumentation(settings: Settings, db_pool_stats: DbPoolStats):
    """Lifespan part every target shares: thread limit, worker gauge, and the sampling task."""
    labels = (settings.target, settings.server)
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
    with metrics_port(settings):
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
        values = (_WORKER.in_flight, threads.borrowed_tokens, threads.total_tokens, threads.tasks_waiting, in_use, size)
        for gauge, value in zip(gauges, values, strict=True):
            gauge.set(value)


class _WorkerProcessCollector:
    """Per-worker CPU and RSS, read with psutil at scrape time (the stock collector is per-process)."""

    def __init__(self, path: str, target: str, server: str) -> None:
        self.path, self.labels = path, [target, server]

    def collect(self):
        cpu = CounterMetricFamily(m.PROCESS_CPU, "CPU time of a worker process.", labels=[*LABELS, "pid"])
        rss = GaugeMetricFamily(m.PROCESS_RSS, "Resident memory of a worker process.", labels=[*LABELS, "pid"])
        for pid in sorted(live_pids(self.path)):
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


@functools.cache
def merged_registry(path: str, target: str, server: str) -> CollectorRegistry:
    """The samples of every worker of this server, live and dead, merged from the files in `path`."""
    registry = CollectorRegistry()
    registry.register(_WorkerProcessCollector(path, target, server))
    registry.register(RequestMetricsCollector(path))
    registry.register(ArchivedCollector(path))  # after the request metrics' collector, which folds dead workers
    return registry


def _registry(settings: Settings) -> CollectorRegistry:
    return merged_registry(os.environ["PROMETHEUS_MULTIPROC_DIR"], settings.target, settings.server)


def metrics_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """The `/metrics` endpoint on the app's port: the merged samples of every worker of this server."""
    registry = _registry(settings)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics


class _MetricsHandler(BaseHTTPRequestHandler):
    """`GET /metrics` on the metrics port: the same text as `/metrics` on the app's port."""

    registry: CollectorRegistry  # set on the subclass made per server

    def do_GET(self) -> None:
        if urlsplit(self.path).path != METRICS:
            self.send_error(404)
            return
        body = generate_latest(self.registry)
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE_LATEST)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """One line a second per worker is noise: nothing."""


class _SharedPortServer(ThreadingHTTPServer):
    """Listens beside the other workers' on one port (SO_REUSEPORT); a thread per scrape."""

    allow_reuse_port = True
    daemon_threads = True
    block_on_close = False

    def server_bind(self) -> None:
        # HTTPServer's own looks up the host's fully qualified name, which can wait on DNS: not needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


POLL_S = 0.1  # how often the serving thread looks for its stop: a worker's stop waits at most this


@contextmanager
def metrics_port(settings: Settings) -> Iterator[int | None]:
    """While inside: this worker's thread serves the merged metrics on `settings.metrics_port` (nothing
    when it is 0). A port that cannot be bound fails the worker's start: a server whose metrics cannot
    be scraped must not run unnoticed."""
    if not settings.metrics_port:
        yield None
        return
    handler = type("MetricsHandler", (_MetricsHandler,), {"registry": _registry(settings)})
    try:
        server = _SharedPortServer((settings.metrics_host, settings.metrics_port), handler)
    except OSError as exc:
        raise RuntimeError(
            f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: {exc.strerror}"
        ) from exc
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_S}, name="loadlab-metrics", daemon=True
    )
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
