"""The open model's schedule, in gevent in the manner of wrk2 (Locust has none built in): `--rate`,
`--max-inflight`, `--late-tolerance`, and `Scheduled`, the user that sends on it, for the lab's
scenarios (locustfiles/open_model.py) and a user's own load (locustfiles/user_open.py) alike: a
subclass says what one arrival sends (`fire`).

Request k of a user is due at t0 + k/share, the user's share of `--rate` (the rate is split evenly
over the `-u` users the test starts with: one user per process is enough). Each request runs in
the user's own bounded gevent pool (its share of `--max-inflight`, at least 1, which is also
FastHttpUser's `concurrency`, so a connection is always free). When no slot is free the scheduler
waits for one and the request goes out late, but the schedule does not move: later requests are due
when they were due. Two latencies are recorded: Locust's own from sending (its stats and
locust_request_duration_seconds) and, in locust_request_scheduled_duration_seconds, from the
scheduled time, which includes the wait for a slot (for the lab's scenarios both go to
loadlab.load.latency's HdrHistograms too); requests sent more than `--late-tolerance` after their
time count in locust_requests_late_total. A stopping user waits for its requests in flight, so the
client's counts end equal to what the server served. Importing this module registers the options;
it is imported only inside Locust processes.
"""

import math
import random
import time

import gevent
from gevent.pool import Pool
from locust import FastHttpUser, constant, events, task
from locust.runners import WorkerRunner

from loadlab.load import exporter
from loadlab.load.options import number


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    group = parser.add_argument_group("open model")
    group.add_argument(
        "--rate",
        type=number("--rate", float, 0, inclusive=False),
        default=10.0,
        help="requests per second, in total over all users and processes (default 10)",
    )
    group.add_argument(
        "--max-inflight",
        type=number("--max-inflight", int, 1),
        default=1000,
        help="requests in flight at most, in total; beyond it requests wait and go out late (default 1000)",
    )
    group.add_argument(
        "--late-tolerance",
        type=number("--late-tolerance", float, 0),
        default=0.01,
        metavar="SECONDS",
        help="a request sent later than this after its time counts as late (default 0.01)",
    )


@events.test_start.add_listener
def _share_out(environment, **_kwargs) -> None:
    """The master (or local runner) tells every user, through the options sent to workers, how many share the load."""
    if not isinstance(environment.runner, WorkerRunner):
        environment.parsed_options.open_model_users = max(1, environment.runner.target_user_count)


class Scheduled(FastHttpUser):
    """Sends `fire()` on the schedule; subclasses say what one arrival sends, and its scenario label."""

    abstract = True
    wait_time = constant(0)
    scenario_label = ""

    def __init__(self, environment) -> None:
        options = environment.parsed_options
        users = getattr(options, "open_model_users", 1)
        self.interval = users / options.rate
        self.late_tolerance = options.late_tolerance
        self.concurrency = max(1, math.ceil(options.max_inflight / users))  # read by FastHttpUser.__init__
        super().__init__(environment)
        self.in_flight = Pool(self.concurrency)
        self.t0, self.k = 0.0, 0

    def on_start(self) -> None:
        # A random phase, so that users sharing the rate do not all fire at the same instants.
        self.t0 = time.perf_counter() + random.random() * self.interval

    @task
    def arrive(self) -> None:
        scheduled = self.t0 + self.k * self.interval
        self.k += 1
        gevent.sleep(max(0.0, scheduled - time.perf_counter()))
        self.in_flight.spawn(self.send, scheduled)  # blocks while every slot is busy: the request goes out late

    def send(self, scheduled: float) -> None:
        sent = time.perf_counter()
        name, method = self.fire(sent - scheduled)
        exporter.record_scheduled(
            self.scenario_label,
            name,
            method,
            time.perf_counter() - scheduled,
            late=sent - scheduled > self.late_tolerance,
        )

    def fire(self, delay: float) -> tuple[str, str]:
        """Send one arrival's request(s), `delay` seconds after their time; (the name and method its
        scheduled latency is recorded under)."""
        raise NotImplementedError

    def on_stop(self) -> None:
        self.in_flight.join()
