"""Instrumentation of a user's WSGI app (Flask, Django) under Gunicorn's sync and gthread workers.

The same series as the ASGI targets' (targets.instrumentation), in the same per-worker files: the
request counter and histogram (targets.request_metrics), in-flight requests, live workers, and for
gthread the worker's threads as its pool (limit and in use). A request is timed from the call of
the app until the server closes its response body (PEP 3333: after the last byte is sent). Its route
is Flask's URL rule (noted by a `before_request` hook), else its path, bounded as for ASGI apps.
gthread runs requests in several threads of a worker, and the slot files have one writer at a time:
one lock per worker covers every update. Each worker serves the merged metrics on the metrics port
from a thread, and a second thread publishes the gauges every `loop_probe_interval_s`.
"""

import threading
import time
from contextlib import ExitStack
from time import perf_counter
from typing import Any

from loadlab.contract.settings import Settings
from targets.instrumentation import (
    IN_FLIGHT,
    THREADS_IN_USE,
    THREADS_LIMIT,
    UNMATCHED,
    WORKERS,
    metrics_port,
)
from targets.request_metrics import RequestMetrics

ROUTE_KEY = "loadlab.route"
MAX_PATHS = 100
OTHER = "<other>"


def _note_flask_rule() -> None:
    from flask import request

    if request.url_rule is not None:
        request.environ[ROUTE_KEY] = request.url_rule.rule


class WSGIMetrics:
    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.metrics = RequestMetrics(settings.target, settings.server)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.paths: set[str] = set()
        if hasattr(app, "url_map") and hasattr(app, "before_request"):  # Flask: route templates
            app.before_request(_note_flask_rule)
        self._worker = ExitStack()  # lives as long as the worker process
        self._worker.enter_context(metrics_port(settings))
        labels = (settings.target, settings.server)
        if settings.instrument:
            WORKERS.labels(*labels).set(1)
            threading.Thread(
                target=self._sample_forever,
                args=(labels, settings.threads, settings.loop_probe_interval_s),
                name="loadlab-gauges",
                daemon=True,
            ).start()

    def _sample_forever(self, labels: tuple[str, str], threads: int, interval: float) -> None:
        in_flight, in_use = IN_FLIGHT.labels(*labels), THREADS_IN_USE.labels(*labels)
        THREADS_LIMIT.labels(*labels).set(threads)
        while True:
            in_flight.set(self.in_flight)
            in_use.set(self.in_flight)
            time.sleep(interval)

    def __call__(self, environ, start_response):
        status = [500]

        def start_response_noted(line: str, headers, exc_info=None):
            status[0] = int(line[:3])
            return start_response(line, headers, exc_info)

        start = perf_counter()
        with self.lock:
            self.in_flight += 1
        try:
            body = self.app(environ, start_response_noted)
        except BaseException:
            self._done(environ, 500, start)
            raise
        return _Body(body, lambda: self._done(environ, status[0], start))

    def _done(self, environ, status: int, start: float) -> None:
        elapsed = perf_counter() - start
        route = environ.get(ROUTE_KEY) or self._path_route(environ, status)
        with self.lock:
            self.in_flight -= 1
            self.metrics.record(route, environ.get("REQUEST_METHOD", "GET"), status, elapsed)

    def _path_route(self, environ, status: int) -> str:
        if status == 404:
            return UNMATCHED
        path = environ.get("PATH_INFO", "") or "/"
        if path in self.paths:
            return path
        with self.lock:
            if len(self.paths) < MAX_PATHS:
                self.paths.add(path)
                return path
        return OTHER


class _Body:
    """The app's response body, passed through; `done` runs once, when the server closes it."""

    def __init__(self, body, done) -> None:
        self.body, self.done = body, done

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            done, self.done = self.done, None
            if done is not None:
                done()
