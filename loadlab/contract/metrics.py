"""The metric contract: names, labels and buckets that targets, Locust, rules and dashboards share.

Nothing here imports prometheus_client, so any module (dashboards, reports, tests) can read the
contract without side effects.
"""

# Histogram buckets (seconds): 1 ms to 30 s, dense around 50-200 ms where the scenarios live.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.03,
    0.04,
    0.05,
    0.06,
    0.07,
    0.08,
    0.09,
    0.1,
    0.11,
    0.12,
    0.13,
    0.14,
    0.15,
    0.175,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    7.5,
    10.0,
    15.0,
    20.0,
    30.0,
)

# Event-loop lag is small when healthy: finer at the bottom.
LOOP_LAG_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

# --- labels ---
# Every series of a run carries these, set by the run's Prometheus from its scrape targets.
RUN_LABELS = ("run_id", "target", "server", "workers", "scenario")
ROUTE_LABEL = "route"  # the route template, on the targets' request metrics

# --- scrape jobs: the `job` label of every series, and the jobs of prometheus/prometheus.yml.tmpl ---
TARGETS_JOB = "loadlab-targets"  # the targets' /metrics
LOCUST_JOB = "locust"  # the Locust master's exporter

# --- server side (targets/) ---
TARGET_LABELS = ("target", "server")  # the targets export these themselves

HTTP_REQUESTS = "loadlab_http_requests_total"
HTTP_REQUEST_DURATION = "loadlab_http_request_duration_seconds"
HTTP_IN_FLIGHT = "loadlab_http_requests_in_flight"
EVENT_LOOP_LAG = "loadlab_event_loop_lag_seconds"
THREADPOOL_IN_USE = "loadlab_threadpool_tokens_in_use"
THREADPOOL_LIMIT = "loadlab_threadpool_tokens_limit"
THREADPOOL_WAITING = "loadlab_threadpool_tasks_waiting"
DB_POOL_IN_USE = "loadlab_db_pool_connections_in_use"
DB_POOL_SIZE = "loadlab_db_pool_size"
PROCESS_CPU = "loadlab_process_cpu_seconds_total"
PROCESS_RSS = "loadlab_process_resident_memory_bytes"
WORKERS = "loadlab_workers"

# --- client side (Locust) ---
LOCUST_REQUESTS = "locust_requests_total"
LOCUST_REQUEST_DURATION = "locust_request_duration_seconds"
LOCUST_SCHEDULED_DURATION = "locust_request_scheduled_duration_seconds"
LOCUST_LATE = "locust_requests_late_total"
LOCUST_USERS = "locust_users"
LOCUST_CPU = "locust_generator_cpu_percent"
LOCUST_TEST_RUNNING = "locust_test_running"  # 1 from test start until its users have stopped, else 0
LOCUST_WORKERS = "locust_workers"  # a master's connected workers (Locust's distributed mode only)


def strip_total(name: str) -> str:
    """prometheus_client wants counter names without the `_total` it appends itself."""
    return name.removesuffix("_total")
