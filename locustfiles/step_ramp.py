# Step load: add --step-users every --step-seconds up to --max-users, to find where the target stops keeping up.
"""A load shape to combine with the closed model; the test ends after the last step has run its full time.

    locust -f locustfiles/closed_model.py,locustfiles/step_ramp.py --headless --host http://127.0.0.1:8001 \
        --scenario io-sleep --step-users 10 --step-seconds 10 --max-users 50 --stop-timeout 10
"""

import math

from locust import LoadTestShape, events

from loadlab.load.options import number


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    group = parser.add_argument_group("step ramp")
    group.add_argument(
        "--step-users", type=number("--step-users", int, 1), default=10, help="users added at each step (default 10)"
    )
    group.add_argument(
        "--step-seconds",
        type=number("--step-seconds", float, 0, inclusive=False),
        default=10.0,
        metavar="SECONDS",
        help="how long each step lasts (default 10)",
    )
    group.add_argument(
        "--max-users", type=number("--max-users", int, 1), default=50, help="users of the last step (default 50)"
    )


class StepRamp(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options
        steps = math.ceil(options.max_users / options.step_users)
        step = int(self.get_run_time() // options.step_seconds)
        if step >= steps:
            return None
        # A step's users all start within a second.
        return min((step + 1) * options.step_users, options.max_users), options.step_users
