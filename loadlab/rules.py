"""Prometheus rules of a run, generated: recording rules the dashboards read, alerts on what spoils a run.

`loadlab generate` writes them to `prometheus/rules/loadlab.rules.yml` (committed, so a diff shows
what a change does); the run's own Prometheus loads that file. PromQL comes from `loadlab.queries`;
the SLO limits from `slo.toml`, as series (`loadlab:slo_limit{scenario, limit}`) that alerts and
dashboards compare against; the trust limits from `loadlab.judge.trust`.

Recording rules are named level:metric:operation (Prometheus's convention): `point` aggregates by
the run labels, `point_route` / `point_name` also by route (server) or request name (client).
"""

from pathlib import Path
from typing import Any

import yaml

from loadlab import queries
from loadlab.contract import metrics as m
from loadlab.contract.metrics import ROUTE_LABEL, RUN_LABELS
from loadlab.contract.scenarios import SCENARIOS
from loadlab.judge import slo, trust

WINDOW = "5s"  # 5 scrapes of the run's 1 s interval: short enough for 12 s points
POINT = RUN_LABELS
POINT_ROUTE = (*RUN_LABELS, ROUTE_LABEL)
POINT_NAME = (*RUN_LABELS, "name")
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
EVENT_LOOP_LAG_LIMIT_S = 0.1  # a probe that wakes 100 ms late: requests wait that long for the loop
ALERT_FOR = "5s"
RUNBOOK = "docs/dashboards.md#alerts"

# Recording rules: name -> PromQL
SERVER_RPS = f"point_route:{m.strip_total(m.HTTP_REQUESTS)}:rate{WINDOW}"
SERVER_ERROR_RATIO = f"point_route:{m.strip_total(m.HTTP_REQUESTS)}_errors:ratio_rate{WINDOW}"
CLIENT_RPS = f"point_name:{m.strip_total(m.LOCUST_REQUESTS)}:rate{WINDOW}"
CLIENT_ERROR_RATIO = f"point_name:{m.strip_total(m.LOCUST_REQUESTS)}_failed:ratio_rate{WINDOW}"
LATE_RATIO = f"point:{m.strip_total(m.LOCUST_LATE)}:ratio_rate{WINDOW}"
WORKERS = f"point:{m.WORKERS}:sum"
SLO_LIMIT = "loadlab:slo_limit"


def server_latency(q: str) -> str:
    return f"point_route:{m.HTTP_REQUEST_DURATION}:{q}_{WINDOW}"


def client_latency(q: str) -> str:
    return f"point_name:{m.LOCUST_REQUEST_DURATION}:{q}_{WINDOW}"


def scheduled_latency(q: str) -> str:
    return f"point_name:{m.LOCUST_SCHEDULED_DURATION}:{q}_{WINDOW}"


def recording_rules() -> list[dict[str, Any]]:
    rules = [
        {"record": SERVER_RPS, "expr": queries.server_rps("", WINDOW, POINT_ROUTE)},
        {"record": SERVER_ERROR_RATIO, "expr": queries.server_error_ratio("", WINDOW, POINT_ROUTE)},
        {"record": CLIENT_RPS, "expr": queries.client_rps("", WINDOW, POINT_NAME)},
        {"record": CLIENT_ERROR_RATIO, "expr": queries.client_error_ratio("", WINDOW, POINT_NAME)},
        {"record": LATE_RATIO, "expr": queries.late_share("", WINDOW, POINT)},
        {"record": WORKERS, "expr": queries.gauge_sum(m.WORKERS, "", POINT)},
    ]
    for name, q in QUANTILES.items():
        rules.append(
            {
                "record": server_latency(name),
                "expr": queries.histogram_quantile_rate(m.HTTP_REQUEST_DURATION, q, "", WINDOW, POINT_ROUTE),
            }
        )
        rules.append(
            {
                "record": client_latency(name),
                "expr": queries.histogram_quantile_rate(m.LOCUST_REQUEST_DURATION, q, "", WINDOW, POINT_NAME),
            }
        )
    rules.append(
        {
            "record": scheduled_latency("p99"),
            "expr": queries.histogram_quantile_rate(m.LOCUST_SCHEDULED_DURATION, 0.99, "", WINDOW, POINT_NAME),
        }
    )
    return rules


def slo_limit_rules(limits: slo.Limits) -> list[dict[str, Any]]:
    """One constant series per scenario and limit, so alerts and dashboards compare against slo.toml."""
    rules = []
    for scenario in SCENARIOS:
        for limit, value in sorted(slo.applicable(limits, scenario).items()):
            rules.append(
                {"record": SLO_LIMIT, "expr": queries.constant(value), "labels": {"scenario": scenario, "limit": limit}}
            )
    return rules


def _alert(
    name: str, expr: str, severity: str, summary: str, description: str, wait: str = ALERT_FOR, **labels: str
) -> dict:
    return {
        "alert": name,
        "expr": expr,
        "for": wait,
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary, "description": description, "runbook_url": f"{RUNBOOK}-{name.lower()}"},
    }


def slo_alerts() -> list[dict[str, Any]]:
    """An SLO breach while a point runs, one rule per kind of limit, all under one alert name."""
    point = "{{ $labels.target }} {{ $labels.scenario }} ({{ $labels.server }} x{{ $labels.workers }})"
    latency = {f"{name}_ms": client_latency(name) for name in QUANTILES}
    rules = [
        _alert(
            "LoadlabSLOBreached",
            queries.above_scenario_limit(queries.milliseconds(series), SLO_LIMIT, limit),
            "warning",
            f"SLO {limit} broken: {point}",
            f"Client-side {limit.removesuffix('_ms')} over the last {WINDOW} is {{{{ $value | humanize }}}} ms, "
            f"above the limit slo.toml sets for {{{{ $labels.scenario }}}}.",
            limit=limit,
        )
        for limit, series in latency.items()
    ]
    rules.append(
        _alert(
            "LoadlabSLOBreached",
            queries.above_scenario_limit(queries.milliseconds(scheduled_latency("p99")), SLO_LIMIT, "p99_scheduled_ms"),
            "warning",
            f"SLO p99_scheduled_ms broken: {point}",
            f"Open model: p99 counted from the schedule over the last {WINDOW} is {{{{ $value | humanize }}}} ms, "
            "above the limit slo.toml sets for {{ $labels.scenario }}.",
            limit="p99_scheduled_ms",
        )
    )
    rules.append(
        _alert(
            "LoadlabSLOBreached",
            queries.above_scenario_limit(CLIENT_ERROR_RATIO, SLO_LIMIT, "error_ratio"),
            "critical",
            f"SLO error_ratio broken: {point}",
            f"{{{{ $value | humanizePercentage }}}} of Locust's requests failed over the last {WINDOW}, "
            "above the limit slo.toml sets for {{ $labels.scenario }}.",
            limit="error_ratio",
        )
    )
    return rules


def run_alerts() -> list[dict[str, Any]]:
    """What makes a point's figures wrong or untrustworthy, whatever the SLOs say."""
    point = "{{ $labels.target }} {{ $labels.scenario }} ({{ $labels.server }} x{{ $labels.workers }})"
    return [
        _alert(
            "LoadlabTargetDown",
            queries.while_loaded(queries.scrape_failed(m.TARGETS_JOB)),
            "critical",
            f"Target down under load: {point}",
            "Prometheus cannot scrape the target while Locust loads it: the server died or is too "
            "overloaded to answer /metrics within the 1 s scrape timeout.",
            "2s",
        ),
        _alert(
            "LoadlabGeneratorSaturated",
            queries.at_least(queries.generator_cpu("", RUN_LABELS), trust.GENERATOR_CPU_LIMIT),
            "warning",
            f"Locust saturated: {point}",
            "A Locust process is at {{ $value | humanize }}% of a core: the generator, not the target, may be "
            "setting the pace, and its timings stretch. Add --processes, or fewer users.",
        ),
        _alert(
            "LoadlabOpenModelBehindSchedule",
            queries.above(LATE_RATIO, trust.LATE_LIMIT),
            "warning",
            f"Open model behind schedule: {point}",
            "{{ $value | humanizePercentage }} of requests went out late: the offered rate was lower than "
            "asked. Raise --max-inflight, or the target is stalled.",
        ),
        _alert(
            "LoadlabEventLoopLagHigh",
            queries.above(
                queries.histogram_quantile_rate(m.EVENT_LOOP_LAG, 0.99, "", WINDOW, RUN_LABELS), EVENT_LOOP_LAG_LIMIT_S
            ),
            "warning",
            f"Event loop blocked: {point}",
            "The p99 event-loop lag is {{ $value | humanizeDuration }}: something blocks the loop (sync I/O "
            "or CPU work in async def), and every request on that worker waits for it.",
        ),
        _alert(
            "LoadlabThreadpoolExhausted",
            queries.above(queries.gauge_sum(m.THREADPOOL_WAITING, "", RUN_LABELS), 0),
            "warning",
            f"Threadpool exhausted: {point}",
            "{{ $value }} tasks wait for a thread token: def handlers queue. Raise --threads or add workers.",
        ),
        _alert(
            "LoadlabDbPoolExhausted",
            queries.db_pool_exhausted("", RUN_LABELS),
            "warning",
            f"DB pool exhausted: {point}",
            "Every pooled connection is in use: requests wait for one. Raise --db-pool (PostgreSQL's "
            "max_connections permitting) or add workers.",
        ),
        _alert(
            "LoadlabWorkerRestarted",
            queries.above(queries.worker_processes_seen("", "1m", RUN_LABELS), WORKERS),
            "warning",
            f"Worker replaced: {point}",
            "More worker processes were seen in the last minute than are alive now: a worker died and was "
            "replaced (crash, OOM kill, or a timeout kill by Gunicorn).",
            "0s",
        ),
    ]


def groups(limits: slo.Limits) -> dict[str, Any]:
    return {
        "groups": [
            {"name": "loadlab-recording", "interval": "1s", "rules": recording_rules()},
            {"name": "loadlab-slo-limits", "interval": "1s", "rules": slo_limit_rules(limits)},
            {"name": "loadlab-slo", "interval": "1s", "rules": slo_alerts()},
            {"name": "loadlab-run", "interval": "1s", "rules": run_alerts()},
        ]
    }


HEADER = "# Generated by `loadlab generate` (make dashboards) from loadlab/rules.py and slo.toml: do not edit.\n"


def render(slo_file: Path = slo.DEFAULT_FILE) -> str:
    return HEADER + yaml.safe_dump(groups(slo.load(slo_file)), sort_keys=False, width=1000)
