"""A user's own app (`loadlab serve/run --app`), served with loadlab's instrumentation around it.

Every server kind serves `targets.wrapped:app`; the environment names the user's app
(loadlab.contract.app), imported here in each worker (targets.app_import). The series are the lab
targets' own, with `target` = the app's name, counted in the same per-worker files, so counts are
exact across workers and worker deaths. `/metrics` is served only on the metrics port, from a thread
of every worker, so it cannot collide with the app's routes: every path of the app's port is the app's.

- ASGI apps: a pure-ASGI middleware counts and times each request by route template (Starlette and
  FastAPI put the matched route in the scope; mounts' prefixes are kept), or by path for apps that
  expose none (at most MAX_PATHS of them per worker, then OTHER), 404s as one series. The lifespan
  runs loadlab's per-worker instrumentation (metrics port, sampler) around the app's own lifespan;
  an app that does not speak the lifespan protocol is served without it, as Uvicorn does.
- WSGI apps (Gunicorn's sync and gthread workers): targets.wsgi_instrumentation.
"""

from collections.abc import Awaitable
from time import perf_counter
from typing import Any

from loadlab.contract.app import ASGI
from loadlab.contract.settings import Settings, get_settings
from targets.app_import import AppError, from_env
from targets.instrumentation import _WORKER, UNMATCHED, worker_instrumentation
from targets.request_metrics import RequestMetrics

MAX_PATHS = 100  # per worker, for apps without route templates: raw paths must not become unbounded series
OTHER = "<other>"


class UserAppMiddleware:
    """Counts and times every HTTP request of the user's app; handles the lifespan (see the module)."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self.metrics = RequestMetrics(settings.target, settings.server)
        self.paths: set[str] = set()

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        root = scope.get("root_path", "")

        def send_and_note_status(message) -> Awaitable[None]:
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
            self.metrics.record(self.route(scope, root, status), scope["method"], status, elapsed)

    def route(self, scope, root: str, status: int) -> str:
        route = scope.get("route")
        template = getattr(route, "path", None)
        if isinstance(template, str):
            return scope.get("root_path", "")[len(root) :] + template  # a mount's prefix, then the route
        if status == 404:
            return UNMATCHED
        path = scope["path"]
        if path in self.paths:
            return path
        if len(self.paths) < MAX_PATHS:
            self.paths.add(path)
            return path
        return OTHER

    async def lifespan(self, scope, receive, send) -> None:
        """Loadlab's per-worker instrumentation around the app's own lifespan."""
        received: list[str] = []
        answered: list[str] = []

        async def receive_noted():
            message = await receive()
            received.append(message["type"])
            return message

        async def send_noted(message) -> None:
            answered.append(message["type"])
            await send(message)

        async with worker_instrumentation(self.settings, lambda: (0, 0)):
            try:
                await self.app(scope, receive_noted, send_noted)
                return
            except BaseException:
                if any(m.endswith(".failed") for m in answered) or "lifespan.startup.complete" in answered:
                    raise  # a real lifespan that failed: the server reports it and stops
            # No lifespan protocol in this app (it raised before answering): serve it without one.
            if "lifespan.startup" not in received:
                await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


def _wrap() -> Any:
    settings = get_settings()
    try:
        user_app, kind = from_env()
    except AppError as exc:
        raise RuntimeError(str(exc)) from None
    if kind == ASGI:
        return UserAppMiddleware(user_app, settings)
    from targets.wsgi_instrumentation import WSGIMetrics

    return WSGIMetrics(user_app, settings)


app = _wrap()
