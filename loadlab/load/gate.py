"""`--start-file PATH`: the test starts once PATH exists.

`loadlab run` starts the next point's Locust early (in the warm-up of the point before it, or while
its target starts), so Locust's own start-up (imports, user classes, its exporter) does not add to
the time between points; the run creates the file when the target answers its health check, so the run knows to the
millisecond when load began. The file may also carry options the run decides only then (a
capacity search's next rate). The master (or the local runner) waits in the `init` event, before
the headless run begins; workers run what the master sends. Importing this module registers the
option; it is imported only inside Locust processes.
"""

import json
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
    _apply_settings(environment.parsed_options, path)


def _apply_settings(options, path: str) -> None:
    """The file may hold options decided after Locust started, as a JSON object (a capacity search's
    next step: {"rate": 240}); they replace the command line's before any user starts."""
    with open(path) as f:
        text = f.read().strip()
    if not text:
        return
    try:
        settings = json.loads(text)
    except ValueError as exc:
        abort(f"{path}: not a JSON object of options ({exc})")
    if not isinstance(settings, dict):
        abort(f"{path}: not a JSON object of options")
    for name, value in settings.items():
        current = getattr(options, name, None)
        if current is None:
            abort(f"{path}: unknown option {name!r}")
        try:
            setattr(options, name, type(current)(value))
        except (TypeError, ValueError):
            abort(f"{path}: {name} must be a {type(current).__name__}, got {value!r}")
