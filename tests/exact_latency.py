# Test-side Locust plugin: every request's latency as Locust's request events report it, kept per process.
"""Written by the tests, not by loadlab: loaded beside a locustfile (`-f locustfile,tests/exact_latency.py`),
it keeps each request's response time (and, for the open model, that plus how late it was sent) from
the last stats reset (the warm-up's end) on, and writes them to `$EXACT_LATENCY_DIR/<pid>.json`
when the process's test stops and when it quits. The accuracy test compares loadlab's histograms with it.
"""

import json
import os
from pathlib import Path

from locust import events

DIR_ENV = "EXACT_LATENCY_DIR"
SCHEDULE_DELAY = "loadlab_schedule_delay_s"  # the open model's context key, spelled out: no loadlab import

_send: list[float] = []
_schedule: list[float] = []


@events.request.add_listener
def _on_request(response_time, context=None, **_kwargs) -> None:
    _send.append(response_time)
    delay = (context or {}).get(SCHEDULE_DELAY)
    if delay is not None:
        _schedule.append(response_time + 1000 * delay)


@events.reset_stats.add_listener
def _on_reset(**_kwargs) -> None:
    _send.clear()
    _schedule.clear()


@events.test_stop.add_listener
@events.quitting.add_listener
def _write(**_kwargs) -> None:
    if os.environ.get(DIR_ENV):
        out = Path(os.environ[DIR_ENV]) / f"{os.getpid()}.json"
        out.write_text(json.dumps({"send": _send, "schedule": _schedule}))
