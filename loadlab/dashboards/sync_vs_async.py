"""Sync vs async: one scenario on both targets, side by side, from the client and from the server."""

from grafana_foundation_sdk.builders import dashboard as db

from loadlab import queries
from loadlab.contract import metrics as m
from loadlab.contract.metrics import RUN_LABELS
from loadlab.dashboards.common import RATE, base, graph, run_variables

# target is not chosen here: both are always shown, one line each; no query may name $target
LABELS = tuple(label for label in RUN_LABELS if label != "target")
SEL = queries.grafana_selector(*LABELS)
BY = ("target", "scenario")
LEGEND = "{{target}} {{scenario}}"


def sync_vs_async() -> db.Dashboard:
    return (
        base(
            "loadlab-sync-vs-async",
            "loadlab: sync vs async",
            "The same scenario on the sync (def) and async (async def) targets, side by side: throughput, "
            "client and server latency, and the CPU each spends per request.",
            ["comparison"],
            LABELS,
        )
        .variables(run_variables(LABELS))
        .with_panel(
            graph(
                "Throughput",
                "Requests per second each target served to Locust. Equal lines: the workload is bound by "
                "something both share (the DB pool, the upstream, the CPU), not by def vs async def.",
                "reqps",
                (queries.client_rps(SEL, RATE, BY), LEGEND),
            )
        )
        .with_panel(
            graph(
                "Server CPU per request",
                "Milliseconds of the target's CPU per request. For the same I/O wait, threads usually cost more "
                "than the event loop (claim C5).",
                "ms",
                (queries.server_cpu_ms_per_request(SEL, RATE, BY), LEGEND),
            )
        )
        .with_panel(
            graph(
                "Client latency p50 / p99",
                "What Locust waited, per target. A sync p99 that climbs while async stays flat: the threadpool "
                "(40 tokens per worker) is full.",
                "s",
                (queries.histogram_quantile_rate(m.LOCUST_REQUEST_DURATION, 0.5, SEL, RATE, BY), f"p50 {LEGEND}"),
                (queries.histogram_quantile_rate(m.LOCUST_REQUEST_DURATION, 0.99, SEL, RATE, BY), f"p99 {LEGEND}"),
            )
        )
        .with_panel(
            graph(
                "Server latency p50 / p99",
                "Time inside the server, per target. Much lower than the client's: requests waited before the "
                "server saw them (accept queue, a blocked event loop).",
                "s",
                (queries.histogram_quantile_rate(m.HTTP_REQUEST_DURATION, 0.5, SEL, RATE, BY), f"p50 {LEGEND}"),
                (queries.histogram_quantile_rate(m.HTTP_REQUEST_DURATION, 0.99, SEL, RATE, BY), f"p99 {LEGEND}"),
            )
        )
    )
