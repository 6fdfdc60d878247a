"""Locust workers started apart from the master (other containers or machines): their client
metrics carried to the master over Locust's own channel.

With `--processes N` the workers are the master's forked children and share its multiprocess
directory, so the master's `/metrics` already sums them (see loadlab.load.exporter). A worker
started by itself — a `locust-worker` container of the compose stack — writes to a directory
the master cannot read. Such a worker is started with LOADLAB_FORWARD_METRICS=1 (an environment
variable, because Locust overwrites a worker's custom options with the master's): it sends the
cumulative values of its counters, histograms and gauges to the master every second and once more,
marked final, when its users have stopped. The master keeps the latest values per worker and adds
them to its own at every scrape. Values are cumulative, so a lost message costs nothing but a
second's freshness, and a worker that goes away keeps its counts in the totals.

The final message leaves a worker when its users have stopped, which loadlab.load.drain makes the
master wait for before its test ends; the master's `/metrics` then has every worker's last count.

Imported only inside Locust processes, after loadlab.load.exporter has set the multiprocess directory.
"""

import os
import socket
import time
from collections.abc import Iterable, Iterator

import gevent
from locust.runners import STATE_RUNNING, STATE_SPAWNING
from prometheus_client import multiprocess
from prometheus_client.metrics_core import Metric

from loadlab.load.fingerprint import FORWARD_ENV

MESSAGE = "loadlab_metrics"
INTERVAL_S = 1.0
FINAL_TIMEOUT_S = 10.0  # how long the master waits for its workers' final counts after a stop

# node id -> (families, final): the latest cumulative values each forwarding worker sent
_received: dict[str, tuple[list[dict], bool]] = {}


def forwarding() -> bool:
    return os.environ.get(FORWARD_ENV, "") == "1"


def own_families(path: str) -> list[dict]:
    """This process's (and its dead predecessors') metrics from `path`, as plain data for a message.
    A gauge's pid label gets the host name, so two containers' pid 7 stay apart."""
    host = socket.gethostname()
    families = []
    for family in multiprocess.MultiProcessCollector(None, path).collect():
        samples = [
            [s.name, {k: (f"{host}/{v}" if k == "pid" else v) for k, v in s.labels.items()}, s.value]
            for s in family.samples
        ]
        families.append({"name": family.name, "type": family.type, "doc": family.documentation, "samples": samples})
    return families


# --- worker side ---


def start_sending(runner, path: str) -> None:
    """Send this worker's metrics every INTERVAL_S while its users run; `send(final=True)` follows."""

    def loop() -> None:
        while True:
            gevent.sleep(INTERVAL_S)
            if runner.state in (STATE_RUNNING, STATE_SPAWNING):
                send(runner, path, final=False)

    gevent.spawn(loop)


def send(runner, path: str, *, final: bool) -> None:
    runner.send_message(MESSAGE, {"families": own_families(path), "final": final})


# --- master side ---


def on_message(environment, msg, **_kwargs) -> None:
    _received[msg.node_id] = (msg.data["families"], msg.data["final"])


def wait_for_finals(timeout: float = FINAL_TIMEOUT_S) -> bool:
    """Until every worker that forwarded anything has sent its final counts (its users stopped)."""
    deadline = time.monotonic() + timeout
    while not all(final for _families, final in _received.values()):
        if time.monotonic() > deadline:
            return False
        gevent.sleep(0.05)
    return True


def merged(local: Iterable[Metric]) -> Iterator[Metric]:
    """`local` families with every worker's forwarded values added: counters and histograms summed
    per sample name and labels, gauges (one series per process, pid labels apart) kept side by side."""
    heads: dict[str, tuple[str, str]] = {}  # family name -> (documentation, type)
    values: dict[str, dict[tuple, list]] = {}  # family name -> sample key -> [name, labels, value]

    def add(family: str, doc: str, kind: str, samples: Iterable) -> None:
        heads.setdefault(family, (doc, kind))
        into = values.setdefault(family, {})
        for name, labels, value in samples:
            key = (name, tuple(sorted(labels.items())))
            if key in into and kind != "gauge":
                into[key][2] += value
            else:
                into[key] = [name, dict(labels), value]

    for family in local:
        add(family.name, family.documentation, family.type, ((s.name, s.labels, s.value) for s in family.samples))
    for data, _final in _received.values():
        for f in data:
            add(f["name"], f["doc"], f["type"], f["samples"])
    for name, (doc, kind) in heads.items():
        family = Metric(name, doc, kind)
        for sample_name, labels, value in values[name].values():
            family.add_sample(sample_name, labels, value)
        yield family
