"""What the sync and async targets share: query parameters, app assembly, pools, health report."""

import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse

from loadlab.contract.messages import first_line, redact
from loadlab.contract.routes import CPU_N_MAX, FANOUT_MAX, METRICS, MS_MAX
from loadlab.contract.settings import Settings
from targets.instrumentation import MetricsMiddleware, metrics_endpoint

Ms = Annotated[int, Query(ge=0, le=MS_MAX, description="Milliseconds to wait.")]
FanoutN = Annotated[int, Query(ge=1, le=FANOUT_MAX, description="Number of upstream calls.")]
CpuN = Annotated[int, Query(ge=1, le=CPU_N_MAX, description="Loop iterations of CPU work.")]

SLEEP_SQL = "SELECT pg_sleep(%s)"
HEALTH_TIMEOUT_S = 2.0


def create_app(title: str, lifespan: Any, settings: Settings) -> FastAPI:
    app = FastAPI(title=title, lifespan=lifespan)
    if settings.instrument:
        app.add_middleware(MetricsMiddleware, target=settings.target, server=settings.server)
    app.add_route(METRICS, metrics_endpoint(settings), include_in_schema=False)
    return app


def db_pool_options(settings: Settings) -> dict[str, Any]:
    """psycopg_pool options, the same for the sync and the async pool."""
    return {
        "conninfo": settings.database_url,
        "min_size": 1,
        "max_size": settings.db_pool_size,
        "timeout": settings.db_timeout_s,
        "kwargs": {"autocommit": True},
        "open": False,
    }


def db_pool_usage(pool: Any) -> tuple[int, int]:
    """(connections lent out, size limit) of a psycopg_pool pool, sync or async."""
    stats = pool.get_stats()
    return stats["pool_size"] - stats["pool_available"], pool.max_size


class LazyProcessPool(Executor):
    """The process pool of /cpu/offload, made at its first use.

    A spawn-context pool starts multiprocessing's resource tracker as soon as it is made, and that
    tracker outlives its server by about 1.5 s: a target that never offloads work should not pay it.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # the sync target submits from several threads

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: forking a process that runs threads (anyio's pool, psycopg_pool) is unsafe.
                self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=get_context("spawn"))
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def cpu_process_pool(settings: Settings) -> LazyProcessPool:
    return LazyProcessPool(settings.cpu_processes)


def health_response(settings: Settings, db_error: str | None, upstream_error: str | None) -> JSONResponse:
    """200 when PostgreSQL and the upstream both answer, else 503 naming what is down and why."""
    checks = {
        "database": {"url": redact(settings.database_url), "up": db_error is None, "error": db_error},
        "upstream": {"url": settings.upstream_url, "up": upstream_error is None, "error": upstream_error},
    }
    down = [name for name, check in checks.items() if not check["up"]]
    body = {"status": "down" if down else "ok", "down": down, "checks": checks}
    return JSONResponse(body, status_code=503 if down else 200)


def db_unavailable(settings: Settings, exc: BaseException) -> HTTPException:
    return HTTPException(503, f"database unavailable at {redact(settings.database_url)}: {first_line(exc)}")


def upstream_unavailable(settings: Settings, exc: BaseException) -> HTTPException:
    return HTTPException(502, f"upstream unavailable at {settings.upstream_url}: {first_line(exc)}")
