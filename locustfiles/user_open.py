# Your own load, open model: loadlab's schedule sends one of your tasks (or requests), chosen by weight, per arrival.
"""Set up by `loadlab run --model open --locustfile FILE | --requests FILE` through the environment
(loadlab.load.user_env); the schedule is loadlab.load.schedule's, as for the lab's scenarios."""

from loadlab.load import drain, exporter, gate, latency, warmup  # noqa: F401 - importing registers them
from loadlab.load.user_load import open_users

globals().update(open_users())
