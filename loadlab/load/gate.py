"""`--start-file PATH`: the test starts once PATH exists.

`loadlab run` starts the next point's Locust while that point's target is still starting, so
Locust's own start-up (imports, user classes, its exporter) overlaps the target's instead of adding
to it; the run creates the file when the target answers its health check, so the run knows to the
millisecond when load began. The master (or the local runner) waits in the `init` event, before
the headless run begins; workers run what the master sends. Importing this module registers the
option; it is imported only inside Locust processes.
"""

import os
import time

import gevent
from locust import events
from locust.runners import WorkerRunner

from loadlab.load.options import abort

POLL_S = 0.01
TIMEOUT_S = 120.0  # a run that never opens the gate has failed: do not wait for it forever


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    parser.add_argument(
        "--start-file",
        default="",
        metavar="PATH",
        help=f"start the test only once PATH exists (waits {TIMEOUT_S:g} s at most; default: start at once)",
    )


@events.init.add_listener
def _wait_for_start_file(environment, runner, **_kwargs) -> None:
    path = environment.parsed_options.start_file
    if not path or isinstance(runner, WorkerRunner):
        return
    deadline = time.monotonic() + TIMEOUT_S
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            abort(f"{path} did not appear within {TIMEOUT_S:g} s (--start-file)")
        gevent.sleep(POLL_S)
