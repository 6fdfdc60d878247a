"""Target internals: what the server saw and where requests waited (threads, DB pool, event loop)."""

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import heatmap
from grafana_foundation_sdk.models import prometheus as prometheus_model

from loadlab import queries, rules
from loadlab.contract import metrics as m
from loadlab.dashboards.common import (
    DATASOURCE,
    RATE,
    RUN,
    RUN_ROUTE,
    base,
    graph,
    limit_line,
    query,
    run_variables,
)

BY_ROUTE = ("target", "scenario", "route")
BY_TARGET = ("target", "scenario")
LEGEND = "{{target}} {{route}}"


def latency_heatmap() -> heatmap.Panel:
    return (
        heatmap.Panel()
        .title("Server latency distribution")
        .description(
            "How many requests finished in each latency bucket, per second, all selected routes together. "
            "Two bands mean two populations (e.g. requests that queued and requests that did not)."
        )
        .datasource(DATASOURCE)
        .unit("s")
        .span(12)
        .height(8)
        .calculate(False)
        .with_target(
            query(
                queries.latency_heatmap(m.HTTP_REQUEST_DURATION, RUN_ROUTE, RATE),
                "{{le}}",
                fmt=prometheus_model.PromQueryFormat.HEATMAP,
            )
        )
    )


def internals() -> db.Dashboard:
    return (
        base(
            "loadlab-internals",
            "loadlab: target internals",
            "The target's own view of a run: requests, errors and latency by route, and the resources requests "
            "wait for (threadpool tokens, DB connections, the event loop), per worker CPU and memory.",
            ["internals"],
        )
        .variables(run_variables(with_route=True))
        .with_row(db.Row("Requests (server side)"))
        .with_panel(
            graph(
                "Requests per second by route",
                "Requests the target served per second, by route template (all statuses). Compare with Locust's "
                "throughput on the overview: a gap means requests never reached the server.",
                "reqps",
                (queries.server_rps(RUN_ROUTE, RATE, BY_ROUTE), LEGEND),
                width=8,
            )
        )
        .with_panel(
            graph(
                "Server errors (5xx share)",
                "Share of responses with a 5xx status: 503 when the DB pool times out or PostgreSQL is down, "
                "502 when the upstream is.",
                "percentunit",
                (queries.server_error_ratio(RUN_ROUTE, RATE, BY_ROUTE), LEGEND),
                width=8,
            )
        )
        .with_panel(
            graph(
                "Server latency p50 / p99",
                "Time from request received to response sent, inside the server. Client latency minus this is "
                "time spent in sockets, the kernel's accept queue and Locust.",
                "s",
                (
                    queries.histogram_quantile_rate(m.HTTP_REQUEST_DURATION, 0.5, RUN_ROUTE, RATE, BY_ROUTE),
                    f"p50 {LEGEND}",
                ),
                (
                    queries.histogram_quantile_rate(m.HTTP_REQUEST_DURATION, 0.99, RUN_ROUTE, RATE, BY_ROUTE),
                    f"p99 {LEGEND}",
                ),
                width=8,
            )
        )
        .with_panel(latency_heatmap())
        .with_panel(
            graph(
                "Requests in flight",
                "Requests being served, summed over live workers. Flat at users x workers in a closed model "
                "means every user is waiting on the server.",
                "short",
                (queries.gauge_sum(m.HTTP_IN_FLIGHT, RUN, BY_TARGET), "{{target}} {{scenario}}"),
            )
        )
        .with_row(db.Row("Where requests wait"))
        .with_panel(
            limit_line(
                graph(
                    "Event-loop lag p99",
                    "How late a 50 ms probe task wakes up on each worker's event loop. Above "
                    f"{rules.EVENT_LOOP_LAG_LIMIT_S * 1000:g} ms something blocks the loop (sync calls or CPU "
                    "work in async def) and every request on that worker waits for it.",
                    "s",
                    (
                        queries.histogram_quantile_rate(m.EVENT_LOOP_LAG, 0.99, RUN, RATE, BY_TARGET),
                        "{{target}} {{scenario}}",
                    ),
                    width=8,
                ),
                rules.EVENT_LOOP_LAG_LIMIT_S,
            )
        )
        .with_panel(
            graph(
                "Threadpool tokens in use vs limit, tasks waiting",
                "def handlers run in anyio's threadpool (--threads tokens per worker). In use at the limit with "
                "tasks waiting: requests queue for a thread.",
                "short",
                (queries.gauge_sum(m.THREADPOOL_IN_USE, RUN, BY_TARGET), "in use {{target}} {{scenario}}"),
                (queries.gauge_sum(m.THREADPOOL_LIMIT, RUN, BY_TARGET), "limit {{target}} {{scenario}}"),
                (queries.gauge_sum(m.THREADPOOL_WAITING, RUN, BY_TARGET), "waiting {{target}} {{scenario}}"),
                width=8,
            )
        )
        .with_panel(
            graph(
                "DB pool connections in use vs size",
                "Connections lent out against the pool's size (--db-pool per worker). At the size, requests wait "
                "for a connection: the pool, not sync or async, sets the throughput.",
                "short",
                (queries.gauge_sum(m.DB_POOL_IN_USE, RUN, BY_TARGET), "in use {{target}} {{scenario}}"),
                (queries.gauge_sum(m.DB_POOL_SIZE, RUN, BY_TARGET), "size {{target}} {{scenario}}"),
                width=8,
            )
        )
        .with_row(db.Row("Processes"))
        .with_panel(
            graph(
                "CPU per worker",
                "Percent of one core each worker process uses. All workers near 100 % on a 2-core box: the "
                "target is CPU-bound, and more workers will not help.",
                "percent",
                (queries.worker_cpu_percent(RUN, RATE, ("target", "pid")), "{{target}} pid {{pid}}"),
                width=8,
            )
        )
        .with_panel(
            graph(
                "Memory (RSS) per worker",
                "Resident memory of each worker process.",
                "bytes",
                (queries.worker_rss_bytes(RUN, ("target", "pid")), "{{target}} pid {{pid}}"),
                width=8,
            )
        )
        .with_panel(
            graph(
                "Live workers",
                "Worker processes alive. A dip, or a pid that changes on the CPU panel, is a worker that died "
                "and was replaced (the LoadlabWorkerRestarted alert).",
                "short",
                (queries.recorded(rules.WORKERS, RUN), "{{target}} {{scenario}}"),
                width=8,
            )
        )
    )
