"""The ceiling a queueing model predicts for one configuration, to set beside what was measured.

A server can finish at most as many requests per second as it has slots, divided by how long each
request holds a slot (Little's law: throughput = concurrency ÷ time in the system). Which slots a
request holds depends on the target and the route:

- a `def` handler holds one of anyio's threads while it waits, so a sync target waiting on I/O
  gives at most `workers × threads ÷ wait time` (the threads limit);
- a DB query holds a pooled connection, so at most `workers × pool ÷ query time`, and never more
  connections than PostgreSQL's `max_connections` (the pool and max_connections limits). That
  figure is the server's own (`loadlab.stack.database.max_connections(url)` asks it); where no server could be asked it
  is unknown, and the pool limit says that it assumed PostgreSQL lets every pooled connection in;
- every request burns CPU, and a worker is one process that, with the GIL, uses at most one core:
  at most `min(workers, cores) ÷ CPU time per request` (the cores limit). This is what bounds an
  async target waiting on I/O: awaiting is free, the CPU around it is not;
- a CPU route offloaded to a process pool uses every core whatever the worker count: at most
  `cores ÷ CPU time per request`;
- the async anti-patterns (`time.sleep` or a sync HTTP client inside `async def`) block the event
  loop, so a worker serves one request at a time: at most `workers ÷ wait time` (the workers limit);
- a user's WSGI app under Gunicorn (`wsgi_limit`): a sync worker likewise serves one request at a
  time, `workers ÷ time per request`; a gthread worker as many as its threads, `workers × threads ÷
  time per request`.

The ceiling is the lowest of the limits that apply; that limit "binds". A measured throughput well
below it (under `HIDDEN_LIMIT_RATIO` of it) means something the model does not know about stopped
the target first: the load generator, the pool's wait queue, the GIL.

The scenarios (`loadlab.contract.scenarios`) say which route and query each one requests but not how
a request spends its time, so `KINDS` below maps each scenario to its kind of model; the wait time
is read from the scenario's query (`ms`, and `n` sequential calls on the sync target).
"""

import math
from dataclasses import dataclass
from urllib.parse import parse_qs

from loadlab.contract.scenarios import SCENARIOS
from loadlab.errors import LoadlabError
from loadlab.results.point import PointResult

HIDDEN_LIMIT_RATIO = 0.7  # measured below this share of the model: flagged

# How a request of each scenario spends its time (see the module's docstring).
CPU = "cpu"  # only CPU: one core per worker at most
IO = "io"  # waits on I/O: holds a thread on the sync target, nothing on the async one
DB = "db"  # waits on a query: holds a pooled connection too
OFFLOAD = "offload"  # CPU in a process pool: every core
BLOCKING = "blocking"  # waits while blocking the event loop: one request at a time per worker

KINDS: dict[str, str] = {
    "hello": CPU,
    "io-sleep": IO,
    "io-sleep-1trip": IO,
    "io-db": DB,
    "io-http": IO,
    "fanout": IO,
    "cpu": CPU,
    "cpu-offload": OFFLOAD,
    "blocking-sleep": BLOCKING,
    "sync-http": BLOCKING,
}


@dataclass(frozen=True)
class Ceiling:
    """One limit on throughput: requests per second, its name and how it was computed."""

    rps: float
    binding: str  # "threads", "pool", "max_connections", "cores" or "workers"
    explanation: str  # e.g. "threads: 2 workers × 40 threads ÷ 0.1 s = 800 rps"
    assumed: str = ""  # what the model had to assume for want of a figure ("" when it assumed nothing)


@dataclass(frozen=True)
class ModelCheck:
    """What was measured beside what the model predicts."""

    measured_rps: float
    ceiling: Ceiling
    ratio: float  # measured ÷ model
    hidden_limit: bool  # measured < HIDDEN_LIMIT_RATIO × model
    note: str


def wait_s(scenario: str, target: str) -> float:
    """How long a request of `scenario` waits on I/O (or sleeps), from the scenario's query: `ms`,
    times `n` calls on the sync target (in sequence) but not on the async one (gathered)."""
    query = {key: values[0] for key, values in parse_qs(SCENARIOS[scenario].query).items()}
    if "ms" not in query:
        raise LoadlabError(f"scenario {scenario!r} has no ms= in its query: it does not wait")
    calls = int(query.get("n", "1")) if target == "sync" else 1
    return int(query["ms"]) / 1000 * calls


def trips(scenario: str, target: str) -> int:
    """Threadpool borrowings per request of `scenario` on `target`, as the catalogue states them."""
    return SCENARIOS[scenario].trips(target)


def threads_limit(workers: int, threads: int, wait: float, trips: int = 1) -> Ceiling:
    """Each request holds a thread for its wait; trips after the first only validate the response
    (no wait), so they leave the ceiling where it is and the explanation says so."""
    rps = workers * threads / wait
    said = f"threads: {workers} workers × {threads} threads ÷ {wait:g} s = {rps:.0f} rps"
    if trips > 1:
        said += f" ({trips} threadpool trips per request: the later ones validate the response, no wait)"
    return Ceiling(rps, "threads", said)


def pool_limit(workers: int, pool: int, query_s: float, max_connections: int | None) -> Ceiling:
    connections = workers * pool
    if max_connections is None:
        rps = connections / query_s
        assumed = f"PostgreSQL's max_connections unknown (no server asked): assumed to admit all {connections}"
        return Ceiling(
            rps,
            "pool",
            f"pool: {workers} workers × {pool} connections ÷ {query_s:g} s = {rps:.0f} rps ({assumed})",
            assumed,
        )
    if connections > max_connections:
        rps = max_connections / query_s
        return Ceiling(
            rps,
            "max_connections",
            f"max_connections: PostgreSQL's {max_connections} connections (not {workers} workers × {pool}) "
            f"÷ {query_s:g} s = {rps:.0f} rps",
        )
    rps = connections / query_s
    return Ceiling(rps, "pool", f"pool: {workers} workers × {pool} connections ÷ {query_s:g} s = {rps:.0f} rps")


def cores_limit(workers: int, cores: int, cpu_s: float) -> Ceiling:
    used = min(workers, cores)
    rps = used / cpu_s
    return Ceiling(
        rps,
        "cores",
        f"cores: min({workers} workers, {cores} cores) ÷ {cpu_s * 1000:.3g} ms CPU per request = {rps:.0f} rps",
    )


def offload_limit(cores: int, cpu_s: float) -> Ceiling:
    rps = cores / cpu_s
    return Ceiling(rps, "cores", f"cores: {cores} cores ÷ {cpu_s * 1000:.3g} ms CPU per request = {rps:.0f} rps")


def workers_limit(workers: int, wait: float) -> Ceiling:
    rps = workers / wait
    return Ceiling(rps, "workers", f"workers: {workers} workers × 1 request at a time ÷ {wait:g} s = {rps:.0f} rps")


def wsgi_limit(server: str, workers: int, threads: int, request_s: float) -> Ceiling:
    """A WSGI app under Gunicorn's `gunicorn-sync` (one request at a time per worker) or
    `gunicorn-gthread` (`threads` at a time per worker) workers, each request holding its slot `request_s`."""
    if server == "gunicorn-sync":
        return workers_limit(workers, request_s)
    if server == "gunicorn-gthread":
        return threads_limit(workers, threads, request_s)
    raise LoadlabError(f"no WSGI model for server {server!r}; known: gunicorn-sync, gunicorn-gthread")


def limits(
    *,
    scenario: str,
    target: str,
    workers: int,
    threads: int,
    db_pool: int,
    cores: int,
    cpu_ms_per_request: float | None,
    max_connections: int | None,
) -> list[Ceiling]:
    """Every limit the model knows for this configuration; the CPU ones only when the CPU per request
    is known (measured: `server_cpu_ms_per_request`). `max_connections` is the PostgreSQL server's
    (`max_connections(url)`), None when unknown: the pool limit then says what it assumed."""
    if scenario not in KINDS:
        raise LoadlabError(f"no queueing model for scenario {scenario!r}; known: {', '.join(KINDS)}")
    if min(workers, threads, db_pool, cores) < 1:
        raise LoadlabError(
            f"workers, threads, db_pool and cores must be at least 1, got {workers}, {threads}, {db_pool}, {cores}"
        )
    kind = KINDS[scenario]
    found = []
    if kind in (IO, DB) and trips(scenario, target) > 0:  # it waits holding a thread: the sync target
        found.append(threads_limit(workers, threads, wait_s(scenario, target), trips(scenario, target)))
    if kind == DB:
        found.append(pool_limit(workers, db_pool, wait_s(scenario, target), max_connections))
    if kind == BLOCKING:
        found.append(workers_limit(workers, wait_s(scenario, target)))
    if cpu_ms_per_request is not None and cpu_ms_per_request > 0:
        cpu_s = cpu_ms_per_request / 1000
        found.append(offload_limit(cores, cpu_s) if kind == OFFLOAD else cores_limit(workers, cores, cpu_s))
    return found


def ceiling(
    *,
    scenario: str,
    target: str,
    workers: int,
    threads: int,
    db_pool: int,
    cores: int,
    cpu_ms_per_request: float | None,
    max_connections: int | None,
) -> Ceiling | None:
    """The lowest limit: the model's ceiling and what binds it. None when no limit is known (a route
    bounded only by CPU whose CPU per request was not measured)."""
    found = limits(
        scenario=scenario,
        target=target,
        workers=workers,
        threads=threads,
        db_pool=db_pool,
        cores=cores,
        cpu_ms_per_request=cpu_ms_per_request,
        max_connections=max_connections,
    )
    return min(found, key=lambda c: c.rps) if found else None


def point_ceiling(point: PointResult, *, cores: int, max_connections: int | None) -> Ceiling | None:
    """The model's ceiling for the configuration a measured point ran with, using its own CPU per request."""
    return ceiling(
        scenario=point.scenario,
        target=point.target,
        workers=point.workers,
        threads=point.threads,
        db_pool=point.db_pool,
        cores=cores,
        cpu_ms_per_request=point.server_cpu_ms_per_request,
        max_connections=max_connections,
    )


def versus_model(measured_rps: float, model: Ceiling) -> ModelCheck:
    """The measured throughput beside the model's ceiling: the ratio, and a flag when it falls so far
    below that a limit the model does not know must have stopped the target first."""
    ratio = measured_rps / model.rps if model.rps > 0 else math.inf
    hidden = ratio < HIDDEN_LIMIT_RATIO
    said = f"measured {measured_rps:.0f} rps is {ratio:.2f} of the model's {model.rps:.0f} rps ({model.binding})"
    if hidden:
        note = f"{said}: a hidden limit (generator, threadpool, pool, GIL…) stopped it first"
    elif ratio > 1.05:
        note = f"{said}: above the model, whose inputs (wait or CPU time) must be off"
    else:
        note = f"{said}: the {model.binding} limit explains it"
    return ModelCheck(measured_rps, model, ratio, hidden, note)
