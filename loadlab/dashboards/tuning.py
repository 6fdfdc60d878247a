"""Worker tuning: throughput and p99 against the worker count, across the runs and points selected."""

from grafana_foundation_sdk.builders import barchart
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import prometheus as prometheus_model

from loadlab import queries, rules
from loadlab.dashboards.common import DATASOURCE, RUN, base, graph, query, run_variables

CONFIG = ("target", "server", "workers")


def peak(expr: str) -> str:
    """The highest value a recorded series reached in the dashboard's time range, per configuration."""
    return f"max by ({', '.join(CONFIG)}) (max_over_time(({expr})[$__range:1s]))"


def by_workers(title: str, description: str, unit: str, expr: str) -> barchart.Panel:
    return (
        barchart.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(12)
        .height(9)
        .x_field("workers")
        .with_target(query(expr, "{{target}} {{server}}", fmt=prometheus_model.PromQueryFormat.TABLE, instant=True))
    )


def tuning() -> db.Dashboard:
    throughput = queries.recorded(rules.SERVER_RPS, RUN)
    p99 = queries.recorded(rules.client_latency("p99"), RUN)
    return (
        base(
            "loadlab-tuning",
            "loadlab: worker tuning",
            "Throughput and p99 against the worker count, for every run and point in the time range: where "
            "adding workers stops paying. (The sweep of a later release writes runs this dashboard reads.)",
            ["tuning"],
        )
        .time("now-6h", "now")
        .variables(run_variables())
        .with_panel(
            by_workers(
                "Peak throughput by worker count",
                "The highest 5 s throughput each configuration (target, server, workers) reached in the time "
                "range. Where the bars stop growing, more workers stop helping.",
                "reqps",
                peak(f"sum by ({', '.join((*rules.POINT,))}) ({throughput})"),
            )
        )
        .with_panel(
            by_workers(
                "Worst p99 by worker count",
                "The worst 5 s client-side p99 of each configuration in the time range. Read it beside the "
                "throughput: the best configuration has the most throughput at a p99 within the SLO.",
                "s",
                peak(f"max by ({', '.join(rules.POINT)}) ({p99})"),
            )
        )
        .with_panel(
            graph(
                "Throughput over time, by worker count",
                "Each point's throughput as it ran, labelled with its worker count.",
                "reqps",
                (f"sum by (target, server, workers) ({throughput})", "{{target}} {{server}} x{{workers}}"),
                width=24,
            )
        )
    )
