# Closed model: N users each send a request, wait for its response, think, and send the next one.
"""Offered load follows the target: when it slows down, every user waits longer, so fewer requests go out.

`--stop-timeout` lets each user finish the request it is waiting for when the test stops, so the
client's counts end equal to what the server served (Locust's default, 0, cuts them off).

    locust -f locustfiles/closed_model.py --headless --host http://127.0.0.1:8001 --scenario io-sleep \
        -u 50 -r 50 -t 10s --think-time 0 --stop-timeout 10 --prometheus-port 9646
"""

from locust import events, task

from loadlab.load import drain, exporter, gate, latency, warmup  # noqa: F401 - importing registers them
from loadlab.load.options import number
from loadlab.load.users import ScenarioUser, user_classes


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    parser.add_argument(
        "--think-time",
        type=number("--think-time", float, 0),
        default=0.0,
        metavar="SECONDS",
        help="closed model: pause of each user between a response and its next request (default 0)",
    )


class ClosedModelUser(ScenarioUser):
    abstract = True

    def wait_time(self) -> float:  # constant(--think-time)
        return self.environment.parsed_options.think_time

    @task
    def send(self) -> None:
        self.request()


globals().update(user_classes(ClosedModelUser))
