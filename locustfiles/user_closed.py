# Your own load, closed model (and the ramp): your locustfile's User classes as Locust runs them, or a --requests file.
"""Set up by `loadlab run --locustfile FILE | --requests FILE` through the environment (loadlab.load.user_env)."""

import contextlib

from locust import events

from loadlab.load import drain, exporter, gate, warmup  # noqa: F401 - importing registers them

with contextlib.suppress(ImportError):  # the lab's locustfiles' every-request latency log, where it exists
    from loadlab.load import latency  # noqa: F401
from loadlab.load.user_load import closed_users, think_time_option

events.init_command_line_parser.add_listener(think_time_option)
globals().update(closed_users())
