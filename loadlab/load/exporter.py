"""Client metrics of a Locust run, served to Prometheus from inside Locust (no exporter process).

Importing this module registers `--prometheus-port` and `--prometheus-linger` and the listeners
below; it is imported only inside Locust processes (the locustfiles import it).

Design: prometheus_client's multiprocess mode, as in the targets. Every Locust process - the
master and each worker that `--processes N` forks - writes its samples to memory-mapped files in
`PROMETHEUS_MULTIPROC_DIR`; the master (or the local runner) alone serves `/metrics`, which merges
the files of all processes, so one scrape shows the totals. Workers started apart from the master
(other containers or machines) send theirs to it instead: see loadlab.load.distributed. The
caller sets the directory and wipes it before starting Locust; when it is unset, a fresh temporary
one is made here, before prometheus_client is imported (it picks its value class at import time), and removed at exit.

Counters are cumulative over the whole run, warm-up included (`--warmup` resets only Locust's
own stats): take increase() over the measured window in PromQL.

On quitting, the master keeps serving for at most `--prometheus-linger` seconds: until a scrape by
Prometheus (its User-Agent says so) has started after the final counts, and Locust's own CSV
writer has rewritten its stats once more. So the final figures reach both, and no run waits
longer than it must. That writer runs every `locust.stats.CSV_STATS_INTERVAL_SEC` (1 s); it is
set to CSV_INTERVAL_S here, so the wait is short (the `_stats_history.csv` then has a row per
CSV_INTERVAL_S, with the same columns).
"""

import atexit
import logging
import os
import shutil
import sys
import tempfile
import time

if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    if "prometheus_client" in sys.modules:
        raise ImportError("import loadlab.load.exporter before prometheus_client, or set PROMETHEUS_MULTIPROC_DIR")
    _OWN_DIR, _OWNER = tempfile.mkdtemp(prefix="loadlab-locust-metrics-"), os.getpid()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _OWN_DIR
    # Forked workers inherit this hook: only the process that made the directory removes it.
    atexit.register(lambda: os.getpid() == _OWNER and shutil.rmtree(_OWN_DIR, ignore_errors=True))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

import gevent  # noqa: E402 - after the multiprocess directory is set
import locust.stats  # noqa: E402
import psutil  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402
from locust import events  # noqa: E402
from locust.runners import MasterRunner, WorkerRunner  # noqa: E402
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app, multiprocess  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

from loadlab.contract import metrics as m  # noqa: E402
from loadlab.contract.multiproc import alive, live_pids  # noqa: E402
from loadlab.load import distributed, handshake  # noqa: E402, F401 - importing handshake registers it
from loadlab.load.options import abort, number  # noqa: E402

HOST = "127.0.0.1"  # default of --prometheus-host
DEFAULT_PORT = 9646
CPU_SAMPLE_INTERVAL_S = 1.0
WORKER_EXIT_WAIT_S = 30.0  # how long the master waits for worker processes to exit before lingering
CSV_INTERVAL_S = 0.25
PROMETHEUS_USER_AGENT = "Prometheus/"  # how Prometheus's scrapes introduce themselves
LINGER_POLL_S = 0.05

REQUEST_LABELS = ("scenario", "name", "method")

REQUESTS = Counter(
    m.strip_total(m.LOCUST_REQUESTS),
    "Requests completed by Locust (all processes), by outcome.",
    [*REQUEST_LABELS, "result"],
)
REQUEST_DURATION = Histogram(
    m.LOCUST_REQUEST_DURATION,
    "Client-side latency from sending a request to its full response (Locust's own).",
    REQUEST_LABELS,
    buckets=m.LATENCY_BUCKETS,
)
SCHEDULED_DURATION = Histogram(
    m.LOCUST_SCHEDULED_DURATION,
    "Open model: latency from a request's scheduled time to its full response (counts waiting to be sent).",
    REQUEST_LABELS,
    buckets=m.LATENCY_BUCKETS,
)
LATE = Counter(
    m.strip_total(m.LOCUST_LATE),
    "Open model: requests sent later than --late-tolerance after their scheduled time.",
    REQUEST_LABELS,
)
CPU = Gauge(
    m.LOCUST_CPU,
    "CPU percent of each live Locust process (pid label; 100 = one core), sampled every second. "
    "max() is the busiest process: near 100 the generator, not the target, limits the load.",
    multiprocess_mode="liveall",
)

locust.stats.CSV_STATS_INTERVAL_SEC = CSV_INTERVAL_S  # read by Locust's CSV writer at every round

logger = logging.getLogger(__name__)
_children: dict[tuple[str, str, str], tuple[Counter, Counter, Histogram]] = {}
_server: WSGIServer | None = None
_test_running = False
_last_prometheus_scrape = 0.0  # time.monotonic() at which the latest scrape by Prometheus started


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    group = parser.add_argument_group("loadlab Prometheus exporter")
    group.add_argument(
        "--prometheus-port",
        type=number("--prometheus-port", int, 0),
        default=DEFAULT_PORT,
        help=f"serve client metrics at http://HOST:PORT/metrics from the master (0: off; default {DEFAULT_PORT})",
    )
    group.add_argument(
        "--prometheus-host",
        default=HOST,
        metavar="HOST",
        help=f"the interface the client metrics are served on (default {HOST}; 0.0.0.0 inside a container)",
    )
    group.add_argument(
        "--prometheus-linger",
        type=number("--prometheus-linger", float, 0),
        default=0.0,
        metavar="SECONDS",
        help="on quitting, keep serving /metrics this long so Prometheus scrapes the final counts (default 0)",
    )


@events.request.add_listener
def _on_request(request_type, name, response_time, exception=None, context=None, **_kwargs) -> None:
    key = ((context or {}).get("scenario", ""), name, request_type)
    children = _children.get(key)
    if children is None:  # both outcomes from the first request on, so rate() sees failures start from 0
        children = _children[key] = (
            REQUESTS.labels(*key, "success"),
            REQUESTS.labels(*key, "failure"),
            REQUEST_DURATION.labels(*key),
        )
    children[1 if exception else 0].inc()
    children[2].observe(response_time / 1000)


def record_scheduled(scenario: str, name: str, method: str, seconds: float, late: bool) -> None:
    """Open model: one request's latency from its scheduled time, and whether it was sent late."""
    SCHEDULED_DURATION.labels(scenario, name, method).observe(seconds)
    late_counter = LATE.labels(scenario, name, method)  # the series exists, at 0, before the first late request
    if late:
        late_counter.inc()


@events.init.add_listener
def _on_init(environment, runner, **_kwargs) -> None:
    global _server
    gevent.spawn(_sample_cpu)
    if isinstance(runner, WorkerRunner):
        if (
            distributed.forwarding()
        ):  # a worker apart from the master: its counts travel to it (loadlab.load.distributed)
            distributed.start_sending(runner, os.environ["PROMETHEUS_MULTIPROC_DIR"])
        return
    if isinstance(runner, MasterRunner):
        runner.register_message(distributed.MESSAGE, distributed.on_message)
    port = environment.parsed_options.prometheus_port
    if not port:
        return
    host = environment.parsed_options.prometheus_host
    _server = WSGIServer((host, port), _metrics_app(runner), log=None)
    try:
        _server.start()
    except OSError as exc:
        abort(f"cannot serve metrics on {host}:{port} ({os.strerror(exc.errno or 0)}); pick another --prometheus-port")
    logger.info(f"Prometheus metrics at http://{host}:{port}/metrics")


@events.test_start.add_listener
def _on_test_start(**_kwargs) -> None:
    global _test_running
    _test_running = True


@events.test_stop.add_listener
def _on_test_stop(environment, **_kwargs) -> None:
    global _test_running
    if isinstance(environment.runner, WorkerRunner):
        if distributed.forwarding():  # before Locust's client_stopped: the master has it when its own test stops
            distributed.send(environment.runner, os.environ["PROMETHEUS_MULTIPROC_DIR"], final=True)
        return
    _test_running = False


@events.quitting.add_listener
def _on_quitting(environment, **_kwargs) -> None:
    if _server is None:
        return
    runner = environment.runner
    if _test_running:  # quitting on a signal: stop the users first, so the counts we linger with are final
        runner.quit()
    linger = environment.parsed_options.prometheus_linger
    if linger:
        _wait_for_workers_to_exit()
        if isinstance(runner, MasterRunner):
            distributed.wait_for_finals()
        final = time.monotonic()  # every count is final from here on
        deadline = final + linger
        logger.info(f"Serving final metrics on port {_server.server_port} for {linger:g} s at most")
        csv_written = final + (CSV_INTERVAL_S + 0.1 if environment.parsed_options.csv_prefix else 0)
        while time.monotonic() < deadline and (_last_prometheus_scrape <= final or time.monotonic() < csv_written):
            gevent.sleep(LINGER_POLL_S)
    _server.stop(timeout=1)


def _sample_cpu() -> None:
    process = psutil.Process()  # this process: each forked worker runs its own sampler
    process.cpu_percent()
    while True:
        gevent.sleep(CPU_SAMPLE_INTERVAL_S)
        CPU.set(process.cpu_percent())


def _metrics_app(runner):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    registry = CollectorRegistry()
    registry.register(_Merged(path))
    registry.register(_UsersCollector(runner))
    app = make_wsgi_app(registry)

    def metrics(environ, start_response):
        global _last_prometheus_scrape
        if environ.get("HTTP_USER_AGENT", "").startswith(PROMETHEUS_USER_AGENT):
            _last_prometheus_scrape = time.monotonic()
        _forget_dead_processes(path)
        return app(environ, start_response)

    return metrics


class _Merged:
    """This machine's Locust processes (the multiprocess files) plus what workers elsewhere forwarded."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self):
        return distributed.merged(multiprocess.MultiProcessCollector(None, self.path).collect())


class _UsersCollector:
    """Running users by scenario, read from the runner at scrape time (the master's view covers all workers)."""

    def __init__(self, runner) -> None:
        self.runner = runner

    def collect(self):
        users = GaugeMetricFamily(
            m.LOCUST_USERS, "Running Locust users (all processes), by scenario.", labels=["scenario"]
        )
        runner = self.runner
        counts = runner.reported_user_classes_count if isinstance(runner, MasterRunner) else runner.user_classes_count
        chosen = {u.__name__ for u in runner.user_classes}  # class names are scenario names
        for name in sorted(chosen | {name for name, count in counts.items() if count}):
            users.add_metric([name], counts.get(name, 0))
        yield users
        yield GaugeMetricFamily(
            m.LOCUST_TEST_RUNNING, "1 from the test's start until its users have stopped, else 0.", value=_test_running
        )
        if isinstance(runner, MasterRunner):  # a worker that dies leaves the rest running: this shows it
            yield GaugeMetricFamily(
                m.LOCUST_WORKERS,
                "Locust workers connected to this master (missing ones not counted).",
                value=runner.worker_count,
            )


def _forget_dead_processes(path: str) -> None:
    """Drop the live-gauge files (CPU) of exited processes; their counters stay in the totals."""
    live_pids(path)


def _wait_for_workers_to_exit() -> None:
    """With --processes, workers write their last counts while they stop: linger once they have exited."""
    deadline = time.monotonic() + WORKER_EXIT_WAIT_S
    while any(alive(child.pid) for child in psutil.Process().children()) and time.monotonic() < deadline:
        gevent.sleep(0.1)
