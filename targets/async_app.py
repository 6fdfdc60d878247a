"""The async target: `async def` handlers and async libraries (asyncio, psycopg async pool, httpx.AsyncClient)."""

import asyncio
import time
from contextlib import asynccontextmanager

import httpx
import psycopg
from fastapi import FastAPI, Request
from psycopg_pool import AsyncConnectionPool

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
    pool = AsyncConnectionPool(**db_pool_options(settings))
    await pool.open(wait=False)  # a database that is down must not stop the other routes
    with httpx.Client(base_url=settings.upstream_url, timeout=settings.http_timeout_s) as sync_client:
        async with (
            httpx.AsyncClient(base_url=settings.upstream_url, limits=limits, timeout=settings.http_timeout_s) as client,
            worker_instrumentation(settings, lambda: db_pool_usage(pool)),
        ):
            processes = cpu_process_pool(settings)
            app.state.db, app.state.http, app.state.sync_http, app.state.processes = (
                pool,
                client,
                sync_client,
                processes,
            )
            try:
                yield
            finally:
                processes.shutdown(wait=False, cancel_futures=True)
                await pool.close()


app = create_app("loadlab async target", lifespan, settings)


@app.get(routes.HELLO)
async def hello() -> dict[str, str]:
    return {"hello": "async"}


@app.get(routes.IO_SLEEP)
async def io_sleep(ms: Ms = 100) -> dict[str, int]:
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms}


@app.get(routes.IO_DB)
async def io_db(request: Request, ms: Ms = 100) -> dict[str, int]:
    try:
        async with request.app.state.db.connection() as conn:
            await conn.execute(SLEEP_SQL, (ms / 1000,))
    except psycopg.OperationalError as exc:  # includes PoolTimeout
        raise db_unavailable(settings, exc) from exc
    return {"db_slept_ms": ms}


async def _call_upstream(client: httpx.AsyncClient, ms: int) -> None:
    try:
        response = await client.get("/delay", params={"ms": ms})
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise upstream_unavailable(settings, exc) from exc


@app.get(routes.IO_HTTP)
async def io_http(request: Request, ms: Ms = 100) -> dict[str, int]:
    await _call_upstream(request.app.state.http, ms)
    return {"upstream_ms": ms}


@app.get(routes.IO_FANOUT)
async def io_fanout(request: Request, ms: Ms = 50, n: FanoutN = 3) -> dict[str, int | str]:
    await asyncio.gather(*(_call_upstream(request.app.state.http, ms) for _ in range(n)))
    return {"upstream_ms": ms, "calls": n, "mode": "concurrent"}


@app.get(routes.CPU)
async def cpu(n: CpuN = 100_000) -> dict[str, int]:
    return {"result": cpu_work(n)}


@app.get(routes.CPU_OFFLOAD)
async def cpu_offload(request: Request, n: CpuN = 100_000) -> dict[str, int]:
    result = await asyncio.get_running_loop().run_in_executor(request.app.state.processes, cpu_work, n)
    return {"result": result}


@app.get(routes.BLOCKING_SLEEP)
async def blocking_sleep(ms: Ms = 100) -> dict[str, int]:
    time.sleep(ms / 1000)  # the anti-pattern: blocks this worker's event loop, and every request on it
    return {"slept_ms": ms}


@app.get(routes.SYNC_HTTP)
async def sync_http(request: Request, ms: Ms = 100) -> dict[str, int]:
    try:  # the anti-pattern: a sync HTTP client inside `async def` blocks the event loop
        request.app.state.sync_http.get("/delay", params={"ms": ms}).raise_for_status()
    except httpx.HTTPError as exc:
        raise upstream_unavailable(settings, exc) from exc
    return {"upstream_ms": ms}


@app.get(routes.HEALTHZ)
async def healthz(request: Request):
    async def db() -> str | None:
        try:
            async with request.app.state.db.connection(timeout=HEALTH_TIMEOUT_S) as conn:
                await conn.execute("SELECT 1")
        except psycopg.Error as exc:
            return first_line(exc)
        return None

    async def upstream() -> str | None:
        try:
            (await request.app.state.http.get(routes.HEALTHZ, timeout=HEALTH_TIMEOUT_S)).raise_for_status()
        except httpx.HTTPError as exc:
            return first_line(exc)
        return None

    db_error, upstream_error = await asyncio.gather(db(), upstream())
    return health_response(settings, db_error, upstream_error)
