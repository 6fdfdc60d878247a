"""Load test overview: what Locust offered and saw, against the SLOs, and whether to trust it."""

from grafana_foundation_sdk.builders import dashboard as db

from loadlab import queries, rules
from loadlab.contract import metrics as m
from loadlab.dashboards.common import RATE, RUN, base, graph, limit_line, run_variables, slo_lines
from loadlab.judge import trust

BY = ("target", "scenario", "name")
SCENARIO_SEL = 'scenario=~"$scenario"'
LEGEND = "{{target}} {{scenario}} {{name}}"


def _slo(limit: str, scale: str = "") -> tuple[str, str]:
    """The SLO limit of each selected scenario, as a series (from the recording rules)."""
    sel = f'limit="{limit}",{SCENARIO_SEL}'
    return f"max by (scenario) ({queries.recorded(rules.SLO_LIMIT, sel)}){scale}", f"SLO {limit} {{{{scenario}}}}"


def overview() -> db.Dashboard:
    latency = graph(
        "Client latency p50 / p95 / p99",
        "What users of the target wait, as Locust measured it, per scenario and route; the dashed red lines "
        "are each scenario's p99 limit from slo.toml. A p99 far above p50 means queueing: look at the "
        "target's threadpool, DB pool and event loop on the Target internals dashboard.",
        "s",
        *(
            (
                queries.histogram_quantile_rate(m.LOCUST_REQUEST_DURATION, q, RUN, RATE, BY),
                f"p{round(q * 100)} {LEGEND}",
            )
            for q in (0.5, 0.95, 0.99)
        ),
        _slo("p99_ms", " / 1000"),
        width=24,
    )
    return (
        base(
            "loadlab-overview",
            "loadlab: load test overview",
            "Offered load, throughput, failures and client-side latency of a loadlab run, with the SLO limits "
            "and the signs that a point cannot be trusted (generator CPU, open-model lateness).",
            ["overview"],
        )
        .variables(run_variables())
        .with_row(db.Row("Load"))
        .with_panel(
            graph(
                "Users and arrival rate",
                "Closed model: the running users (each sends, waits, sends again). Open model: the arrival rate "
                "asked for is the rate Locust sends at, whatever the target does. Throughput below the arrival "
                "rate means the schedule was not held.",
                "short",
                (queries.users(RUN, ("target", "scenario")), "users {{target}} {{scenario}}"),
                (queries.arrival_rate(RUN, RATE, ("target", "scenario")), "arrivals/s {{target}} {{scenario}} (open)"),
                width=8,
            )
        )
        .with_panel(
            graph(
                "Throughput",
                "Requests per second Locust completed, per target, scenario and route. A plateau while users "
                "grow is the target's capacity.",
                "reqps",
                (queries.client_rps(RUN, RATE, BY), "{{target}} {{scenario}} {{name}}"),
                width=8,
            )
        )
        .with_panel(
            slo_lines(
                graph(
                    "Failures",
                    "Share of Locust's requests that failed (connection errors, timeouts, 4xx/5xx); the dashed "
                    "red line is the scenario's error_ratio limit from slo.toml.",
                    "percentunit",
                    (queries.client_error_ratio(RUN, RATE, BY), "{{target}} {{scenario}} {{name}}"),
                    _slo("error_ratio"),
                    width=8,
                )
            )
        )
        .with_row(db.Row("Latency (client side)"))
        .with_panel(slo_lines(latency))
        .with_panel(
            graph(
                "Open model: latency from the schedule, p99",
                "Latency counted from when each request was due, not when it was sent: the figure coordinated "
                "omission cannot hide. Far above the send-based p99, the generator queued requests.",
                "s",
                (
                    queries.histogram_quantile_rate(m.LOCUST_SCHEDULED_DURATION, 0.99, RUN, RATE, BY),
                    "{{target}} {{scenario}} {{name}}",
                ),
                width=24,
            )
        )
        .with_row(db.Row("Can the figures be trusted?"))
        .with_panel(
            limit_line(
                graph(
                    "Generator CPU (busiest Locust process)",
                    f"Percent of one core. At {trust.GENERATOR_CPU_LIMIT:g} % and above Locust, not the target, may "
                    "set the pace and its timings stretch: the latencies beside it are suspect. Use --processes.",
                    "percent",
                    (queries.generator_cpu(RUN, ("target", "scenario")), "{{target}} {{scenario}}"),
                ),
                trust.GENERATOR_CPU_LIMIT,
            )
        )
        .with_panel(
            limit_line(
                graph(
                    "Open model: share of requests sent late",
                    f"Above {trust.LATE_LIMIT:.0%} the offered load was lower than asked (no free slot: raise "
                    "--max-inflight, or the target stalled).",
                    "percentunit",
                    (queries.late_share(RUN, RATE, ("target", "scenario")), "{{target}} {{scenario}}"),
                ),
                trust.LATE_LIMIT,
            )
        )
    )
