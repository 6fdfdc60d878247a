# Your own load, closed model (and the ramp): your locustfile's User classes as Locust runs them, or a --requests file.
"""Set up by `loadlab run --locustfile FILE | --requests FILE` through the environment (loadlab.load.user_env)."""

from locust import events

from loadlab.load import drain, exporter, gate, latency, warmup  # noqa: F401 - importing registers them
from loadlab.load.user_load import closed_users, think_time_option

events.init_command_line_parser.add_listener(think_time_option)
globals().update(closed_users())
