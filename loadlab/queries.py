"""Every PromQL expression loadlab evaluates, as functions of a label selector and a window.

The run summary, the dashboards, the rules and the report all build their queries here, so one
figure means one expression everywhere. A selector is the inside of `{...}`, made by `selector()`
from exact values (a run's point) or by `grafana_selector()` from template variables; a window is
a PromQL range (`"12s"`, `"$__rate_interval"`).

Counters are cumulative over a whole point, warm-up included; each function says which part of a
point it covers.
"""

from loadlab.contract import metrics as m
from loadlab.contract.metrics import ROUTE_LABEL, RUN_LABELS


def _quote(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def selector(**labels: object) -> str:
    """Exact matchers, e.g. `run_id="r1",target="sync"`; labels given as None are left out."""
    unknown = set(labels) - {*RUN_LABELS, ROUTE_LABEL}
    if unknown:
        raise ValueError(f"not a run label: {', '.join(sorted(unknown))}")
    return ",".join(f"{name}={_quote(value)}" for name, value in labels.items() if value is not None)


def grafana_selector(*names: str) -> str:
    """Regex matchers on Grafana template variables of the same names: `run_id=~"$run_id",...`."""
    return ",".join(f'{name}=~"${name}"' for name in names)


def _v(metric: str, sel: str) -> str:
    """A vector selector: `metric{sel}`, or the bare name when there is nothing to select on."""
    return f"{metric}{{{sel}}}" if sel else metric


def _join(*parts: str) -> str:
    return ",".join(p for p in parts if p)


def _route(sel: str, route: str | None) -> str:
    return _join(sel, f"{ROUTE_LABEL}={_quote(route)}") if route else sel


# --- totals over a whole point ---
# A range selector, not an instant one: Prometheus writes a staleness marker once a process has
# exited, which would hide its last values from an instant selector.


def server_requests_total(sel: str, window: str, route: str | None = None) -> str:
    """Requests the target served in the point (all statuses)."""
    return f"sum(last_over_time({_v(m.HTTP_REQUESTS, _route(sel, route))}[{window}]))"


def client_requests_total(sel: str, window: str, route: str | None = None) -> str:
    """Requests Locust completed in the point (success and failure); Locust names requests by route."""
    name = _join(sel, f"name={_quote(route)}") if route else sel
    return f"sum(last_over_time({_v(m.LOCUST_REQUESTS, name)}[{window}]))"


def late_total(sel: str, window: str) -> str:
    """Open model: requests sent later than their schedule allowed, in the point."""
    return f"sum(last_over_time({_v(m.LOCUST_LATE, sel)}[{window}]))"


# --- over a window (the measured part of a point, or a dashboard's rate interval) ---


def server_cpu_seconds(sel: str, window: str) -> str:
    """CPU seconds every worker of the target used between its first and last scrape in the window.
    Exact whatever scrapes were missed (a blocked event loop answers /metrics late): each worker's
    counter only grows, so its last value minus its first is what it used; `increase` would need two
    samples inside the window and extrapolates to its edges."""
    cpu = _v(m.PROCESS_CPU, sel)
    return f"sum(max_over_time({cpu}[{window}]) - min_over_time({cpu}[{window}]))"


def server_requests_scraped(sel: str, window: str, route: str | None = None) -> str:
    """Requests the target served between its first and last scrape in the window: the requests whose
    CPU `server_cpu_seconds` counts, also when load began before the first scrape (a run's first point
    starts while its Prometheus is still discovering). A status first seen later (a first error) counts
    from its first scraped value."""
    requests = _v(m.HTTP_REQUESTS, _route(sel, route))
    return f"sum(max_over_time({requests}[{window}]) - min_over_time({requests}[{window}]))"


def locust_workers_min(sel: str, window: str) -> str:
    """The fewest Locust workers the master had connected at any scrape in the window (distributed mode)."""
    return f"min(min_over_time({_v(m.LOCUST_WORKERS, sel)}[{window}]))"


def generator_cpu_max(sel: str, window: str) -> str:
    """The busiest Locust process's CPU percent (100 = one core) at its peak in the window."""
    return f"max(max_over_time({_v(m.LOCUST_CPU, sel)}[{window}]))"


def histogram_quantile(histogram: str, q: float, sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    """Quantile `q` of `histogram` (a base name) over the window, summed over the selected series."""
    keep = ", ".join(("le", *by))
    return f"histogram_quantile({q:g}, sum by ({keep}) (increase({_v(histogram + '_bucket', sel)}[{window}])))"


def server_latency_quantile(q: float, sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    return histogram_quantile(m.HTTP_REQUEST_DURATION, q, sel, window, by)


def client_latency_quantile(q: float, sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    return histogram_quantile(m.LOCUST_REQUEST_DURATION, q, sel, window, by)


def scheduled_latency_quantile(q: float, sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    """Open model: latency counted from each request's scheduled time."""
    return histogram_quantile(m.LOCUST_SCHEDULED_DURATION, q, sel, window, by)


def loop_lag_quantile(q: float, sel: str, window: str) -> str:
    return histogram_quantile(m.EVENT_LOOP_LAG, q, sel, window)


# --- rates and levels over time (dashboards, recording rules) ---
# `by` keeps labels apart (e.g. RUN_LABELS + route); sel may hold Grafana variables.


def _by(by: tuple[str, ...]) -> str:
    return f" by ({', '.join(by)})" if by else ""


def server_rps(sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    return f"sum{_by(by)} (rate({_v(m.HTTP_REQUESTS, sel)}[{window}]))"


def server_error_ratio(sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    """Share of the target's responses with a 5xx status; 0, not nothing, while there is no 5xx series."""
    errors = _join(sel, 'status=~"5.."')
    total = f"sum{_by(by)} (rate({_v(m.HTTP_REQUESTS, sel)}[{window}]))"
    return f"(sum{_by(by)} (rate({_v(m.HTTP_REQUESTS, errors)}[{window}])) or {total} * 0) / {total}"


def client_rps(sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    return f"sum{_by(by)} (rate({_v(m.LOCUST_REQUESTS, sel)}[{window}]))"


def client_error_ratio(sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    """Share of Locust's requests that failed (errors, timeouts, bad statuses)."""
    failures = _join(sel, 'result="failure"')
    return (
        f"sum{_by(by)} (rate({_v(m.LOCUST_REQUESTS, failures)}[{window}])) / "
        f"sum{_by(by)} (rate({_v(m.LOCUST_REQUESTS, sel)}[{window}]))"
    )


def late_share(sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    """Open model: share of requests sent later than their schedule allowed."""
    return (
        f"sum{_by(by)} (rate({_v(m.LOCUST_LATE, sel)}[{window}])) / "
        f"sum{_by(by)} (rate({_v(m.LOCUST_SCHEDULED_DURATION + '_count', sel)}[{window}]))"
    )


def users(sel: str, by: tuple[str, ...] = ()) -> str:
    return f"sum{_by(by)} ({_v(m.LOCUST_USERS, sel)})"


def test_running(sel: str, by: tuple[str, ...] = ()) -> str:
    """1 while a point's users run: the points' start and end, for annotations and alert scoping."""
    return f"max{_by(by)} ({_v(m.LOCUST_TEST_RUNNING, sel)})"


def generator_cpu(sel: str, by: tuple[str, ...] = ()) -> str:
    """The busiest Locust process's CPU percent (100 = one core)."""
    return f"max{_by(by)} ({_v(m.LOCUST_CPU, sel)})"


def gauge_sum(metric: str, sel: str, by: tuple[str, ...] = ()) -> str:
    """A target gauge summed over its live workers (in flight, threadpool, DB pool, workers)."""
    return f"sum{_by(by)} ({_v(metric, sel)})"


def worker_cpu_percent(sel: str, window: str, by: tuple[str, ...] = ("pid",)) -> str:
    return f"100 * sum{_by(by)} (rate({_v(m.PROCESS_CPU, sel)}[{window}]))"


def worker_rss_bytes(sel: str, by: tuple[str, ...] = ("pid",)) -> str:
    return f"sum{_by(by)} ({_v(m.PROCESS_RSS, sel)})"


def latency_heatmap(histogram: str, sel: str, window: str) -> str:
    """Observations per bucket and second, for a heatmap of the histogram's buckets."""
    return f"sum by (le) (rate({_v(histogram + '_bucket', sel)}[{window}]))"


def histogram_quantile_rate(histogram: str, q: float, sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    """Quantile `q` over a sliding window (rate: the same as increase for quantiles, cheaper to read)."""
    keep = ", ".join(("le", *by))
    return f"histogram_quantile({q:g}, sum by ({keep}) (rate({_v(histogram + '_bucket', sel)}[{window}])))"


def server_cpu_ms_per_request(sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    """Milliseconds of the target's CPU per request served, over the window."""
    return (
        f"1000 * sum{_by(by)} (rate({_v(m.PROCESS_CPU, sel)}[{window}])) / "
        f"sum{_by(by)} (rate({_v(m.HTTP_REQUESTS, sel)}[{window}]))"
    )


def recorded(name: str, sel: str) -> str:
    """A series recorded by a rule of loadlab.rules, selected."""
    return _v(name, sel)


def arrival_rate(sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    """Open model: requests per second of the schedule (counted as each completes)."""
    return f"sum{_by(by)} (rate({_v(m.LOCUST_SCHEDULED_DURATION + '_count', sel)}[{window}]))"


# --- conditions: alerts and waits (rules, the run's Prometheus) ---


def constant(value: float) -> str:
    """One value as a series (a recording rule's constant, e.g. an SLO limit)."""
    return f"vector({value:g})"


def above(expr: str, limit: float | str) -> str:
    """`expr` where it is above `limit`: a number, or a series whose labels all match."""
    return f"{expr} > {limit:g}" if isinstance(limit, int | float) else f"{expr} > {limit}"


def at_least(expr: str, limit: float) -> str:
    return f"{expr} >= {limit:g}"


def milliseconds(seconds: str) -> str:
    return f"1000 * {seconds}"


def above_scenario_limit(expr: str, limits: str, limit: str) -> str:
    """`expr` where it is above its scenario's `limit`, read from `limits`: series (e.g. recorded) with one
    value per scenario and kind of limit, told apart by their `scenario` and `limit` labels."""
    return f"{expr} > on (scenario) group_left () {_v(limits, f'limit={_quote(limit)}')}"


def scrape_up(job: str, instance: str, sel: str = "") -> str:
    """Prometheus's own health of each scrape of one process: 1 when it succeeded, 0 when it failed;
    `sel` narrows it to some of its series (e.g. one run's, where runs share a long-lived target)."""
    return f"up{{{sel + ', ' if sel else ''}job={_quote(job)}, instance={_quote(instance)}}}"


def locust_running(job: str, instance: str) -> str:
    """One Locust process's `locust_test_running` gauge: 1 while its users run, 0 once they stopped."""
    return f"{m.LOCUST_TEST_RUNNING}{{job={_quote(job)}, instance={_quote(instance)}}}"


def scrape_failed(job: str) -> str:
    """The processes of `job` whose last scrape failed."""
    return f"up{{job={_quote(job)}}} == 0"


def while_loaded(expr: str) -> str:
    """`expr` only for the points whose users run (Locust's test-running gauge, matched on the run labels)."""
    return f"{expr} and on ({', '.join(RUN_LABELS)}) {m.LOCUST_TEST_RUNNING} == 1"


def db_pool_exhausted(sel: str, by: tuple[str, ...] = ()) -> str:
    """Where every pooled connection is in use (and there is a pool)."""
    return f"{gauge_sum(m.DB_POOL_IN_USE, sel, by)} >= {gauge_sum(m.DB_POOL_SIZE, sel, by)} > 0"


def worker_processes_seen(sel: str, window: str, by: tuple[str, ...] = ()) -> str:
    """How many worker processes (pids) reported CPU within the window: more than are alive now when a
    worker was replaced."""
    return f"count{_by(by)} (count{_by((*by, 'pid'))} (last_over_time({_v(m.PROCESS_CPU, sel)}[{window}])))"


def raw_samples(selector: str, window: str) -> str:
    """Every sample of `selector` (a whole vector selector) over the last `window`, each with its scrape time."""
    return f"{selector}[{window}]"


# --- a soak's checkpoints (loadlab.soak) ---


def scrape_duration(job: str, instance: str, window: str) -> str:
    """Seconds Prometheus's scrapes of one process took, averaged over the window (its `scrape_duration_seconds`)."""
    return f"avg_over_time(scrape_duration_seconds{{job={_quote(job)}, instance={_quote(instance)}}}[{window}])"


def head_series(job: str) -> str:
    """Series in Prometheus's head block, from its scrape of itself (`prometheus_tsdb_head_series`)."""
    return f"max(prometheus_tsdb_head_series{{job={_quote(job)}}})"
