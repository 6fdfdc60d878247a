"""With workers (`--processes N`), the master stops only once every worker has stopped and reported.

Locust's master quits by telling its workers to quit and giving their final stats half a second to
arrive. A worker whose users still wait for responses (a slow target, `--stop-timeout`, the open
model's requests in flight) reports later than that, and its last requests are missing from the
master's stats, hence from `--csv`, although the target served them and the Prometheus counters
have them. So, as a test stops, the master first asks each worker to stop its users and send its
stats, and waits for all of them (at most --stop-timeout + 60 s, as Locust waits for a stop).
Importing this module registers the listeners; it is imported only inside Locust processes.
"""

import logging
import time

import gevent
from locust import events
from locust.runners import MasterRunner, WorkerRunner

DRAIN = "loadlab_drain"
DRAINED = "loadlab_drained"
EXTRA_WAIT_S = 60.0

logger = logging.getLogger(__name__)
_drained: set[str] = set()


@events.init.add_listener
def _on_init(runner, **_kwargs) -> None:
    if isinstance(runner, WorkerRunner):
        runner.register_message(DRAIN, _drain_worker, concurrent=True)
    elif isinstance(runner, MasterRunner):
        runner.register_message(DRAINED, lambda environment, msg, **kw: _drained.add(msg.node_id))


def _drain_worker(environment, msg, **_kwargs) -> None:
    runner = environment.runner
    runner.stop()  # waits for the users, as --stop-timeout and their on_stop say
    report: dict = {}
    environment.events.report_to_master.fire(client_id=runner.client_id, data=report)
    runner.send_message("stats", report)
    runner.send_message(DRAINED)


@events.test_stopping.add_listener
def _on_test_stopping(environment, **_kwargs) -> None:
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    # Only workers that can answer: waiting inside the master's message loop for others would hang it.
    workers = {w.id for w in runner.clients.ready + runner.clients.spawning + runner.clients.running}
    if not workers:
        return
    _drained.clear()
    logger.info(f"Waiting for {len(workers)} worker(s) to stop their users and report")
    runner.send_message(DRAIN)
    deadline = time.monotonic() + environment.stop_timeout + EXTRA_WAIT_S
    while not workers <= _drained and time.monotonic() < deadline:
        gevent.sleep(0.05)
    if not workers <= _drained:
        logger.warning(f"{len(workers - _drained)} worker(s) did not report their final stats in time")
