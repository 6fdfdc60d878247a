# Your own load, open model: loadlab's schedule sends one of your tasks (or requests), chosen by weight, per arrival.
"""Set up by `loadlab run --model open --locustfile FILE | --requests FILE` through the environment
(loadlab.load.user_env); the schedule is loadlab.load.schedule's, as for the lab's scenarios."""

import contextlib

from loadlab.load import drain, exporter, gate, warmup  # noqa: F401 - importing registers them

with contextlib.suppress(ImportError):  # the lab's locustfiles' every-request latency log, where it exists
    from loadlab.load import latency  # noqa: F401
from loadlab.load.user_load import open_users

globals().update(open_users())
