"""`--warmup SECONDS`: Locust's own stats (console, `--csv`, `--html`) restart when the warm-up ends.

Connection set-up, JIT-less first calls and pool growth then stay out of the reported figures.
The Prometheus counters stay cumulative (see loadlab.load.exporter): queries pick their window.
With workers, the master resets its totals and tells every worker to drop what it has not reported
yet. Importing this module registers the option; it is imported only inside Locust processes.
"""

import logging

import gevent
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from loadlab.load.options import number

RESET_MESSAGE = "loadlab_reset_stats"

logger = logging.getLogger(__name__)
_timer: gevent.Greenlet | None = None


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    parser.add_argument(
        "--warmup",
        type=number("--warmup", float, 0),
        default=0.0,
        metavar="SECONDS",
        help="reset Locust's stats this long after the test starts (default 0: no warm-up)",
    )


@events.init.add_listener
def _on_init(runner, **_kwargs) -> None:
    if isinstance(runner, WorkerRunner):
        runner.register_message(RESET_MESSAGE, lambda environment, msg, **kw: _reset(environment.runner))


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    global _timer
    warmup = environment.parsed_options.warmup
    if warmup and not isinstance(environment.runner, WorkerRunner):
        _timer = gevent.spawn_later(warmup, _end_warmup, environment.runner, warmup)


@events.test_stop.add_listener
def _on_test_stop(**_kwargs) -> None:
    if _timer is not None:
        _timer.kill(block=False)


def _end_warmup(runner, warmup: float) -> None:
    if isinstance(runner, MasterRunner):
        runner.send_message(RESET_MESSAGE)
    _reset(runner)
    logger.info(f"Warm-up of {warmup:g} s over: stats reset")


def _reset(runner) -> None:
    runner.environment.events.reset_stats.fire()  # what Locust's web UI fires too: loadlab.load.latency listens
    runner.stats.reset_all()
    runner.exceptions = {}
