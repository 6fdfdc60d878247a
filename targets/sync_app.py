"""The sync target: `def` handlers (run in anyio's threadpool) and sync libraries (psycopg pool, httpx.Client)."""

import time
from contextlib import asynccontextmanager

import httpx
import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool

from loadlab.contract import routes
from loadlab.contract.settings import get_settings
from targets.common import (
    HEALTH_TIMEOUT_S,
    SLEEP_SQL,
    CpuN,
    FanoutN,
    Ms,
    cpu_process_pool,
    create_app,
    db_pool_options,
    db_pool_usage,
    db_unavailable,
    first_line,
    health_response,
    upstream_unavailable,
)
from targets.instrumentation import worker_instrumentation
from targets.work import cpu_work

settings = get_settings()


@asynccontextmanager
async def lifespan(app: FastAPI):
    limits = httpx.Limits(max_connections=settings.http_pool_size, max_keepalive_connections=settings.http_pool_size)
    pool = ConnectionPool(**db_pool_options(settings))
    pool.open(wait=False)  # a database that is down must not stop the other routes
    with httpx.Client(base_url=settings.upstream_url, limits=limits, timeout=settings.http_timeout_s) as client:
        async with worker_instrumentation(settings, lambda: db_pool_usage(pool)):
            processes = cpu_process_pool(settings)
            app.state.db, app.state.http, app.state.processes = pool, client, processes
            try:
                yield
            finally:
                processes.shutdown(wait=False, cancel_futures=True)
                pool.close()


app = create_app("loadlab sync target", lifespan, settings)


@app.get(routes.HELLO)
def hello() -> dict[str, str]:
    return {"hello": "sync"}


@app.get(routes.IO_SLEEP)
def io_sleep(ms: Ms = 100) -> dict[str, int]:
    time.sleep(ms / 1000)  # fine here: a `def` handler runs in a worker thread
    return {"slept_ms": ms}


# /io/sleep borrows a thread twice per request: once to run the handler (fastapi.routing.run_endpoint_function),
# then once more because its return annotation makes `dict[str, int]` its response model, which a `def`
# handler's response is validated against in the threadpool (fastapi.routing.serialize_response:
# `run_in_threadpool(field.validate, ...)` when not `is_coroutine`). Under a saturated limiter that second
# borrowing queues behind every request still waiting for its first. This variant has no response model:
# FastAPI takes none from a return annotation that is a Response class (fastapi.routing._populate_api_route_state:
# `lenient_issubclass(return_annotation, Response)`), and a Response returned is sent as it is, without
# serialize_response: one borrowing per request. The body is the same JSON.
@app.get(routes.IO_SLEEP_ONE_TRIP)
def io_sleep_one_trip(ms: Ms = 100) -> JSONResponse:
    time.sleep(ms / 1000)
    return JSONResponse({"slept_ms": ms})


@app.get(routes.IO_DB)
def io_db(request: Request, ms: Ms = 100) -> dict[str, int]:
    try:
        with request.app.state.db.connection() as conn:
            conn.execute(SLEEP_SQL, (ms / 1000,))
    except psycopg.OperationalError as exc:  # includes PoolTimeout
        raise db_unavailable(settings, exc) from exc
    return {"db_slept_ms": ms}


def _call_upstream(client: httpx.Client, ms: int) -> None:
    try:
        client.get("/delay", params={"ms": ms}).raise_for_status()
    except httpx.HTTPError as exc:
        raise upstream_unavailable(settings, exc) from exc


@app.get(routes.IO_HTTP)
def io_http(request: Request, ms: Ms = 100) -> dict[str, int]:
    _call_upstream(request.app.state.http, ms)
    return {"upstream_ms": ms}


@app.get(routes.IO_FANOUT)
def io_fanout(request: Request, ms: Ms = 50, n: FanoutN = 3) -> dict[str, int | str]:
    for _ in range(n):
        _call_upstream(request.app.state.http, ms)
    return {"upstream_ms": ms, "calls": n, "mode": "sequential"}


@app.get(routes.CPU)
def cpu(n: CpuN = 100_000) -> dict[str, int]:
    return {"result": cpu_work(n)}


@app.get(routes.CPU_OFFLOAD)
def cpu_offload(request: Request, n: CpuN = 100_000) -> dict[str, int]:
    return {"result": request.app.state.processes.submit(cpu_work, n).result()}


@app.get(routes.HEALTHZ)
def healthz(request: Request):
    db_error = upstream_error = None
    try:
        with request.app.state.db.connection(timeout=HEALTH_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        db_error = first_line(exc)
    try:
        request.app.state.http.get(routes.HEALTHZ, timeout=HEALTH_TIMEOUT_S).raise_for_status()
    except httpx.HTTPError as exc:
        upstream_error = first_line(exc)
    return health_response(settings, db_error, upstream_error)
