"""loadlab's own check when a Locust worker joins its master, after Locust's (which only warns about
a different Locust version): the worker says who it is (host, address, loadlab.load.fingerprint);
the master keeps every worker that took part in LOADLAB_WORKERS_FILE (JSON, read by the run) and
refuses one whose fingerprint differs from its own: it drops the worker before counting it and tells
it why, naming both fingerprints; the worker writes the reason to LOADLAB_REFUSAL_FILE (read by
`loadlab worker`) and exits with REFUSED_STATUS.

Imported only inside Locust processes (loadlab.load.exporter imports it; importing registers it).
"""

import json
import logging
import os
import socket

from locust import events
from locust.runners import MasterRunner, WorkerRunner

from loadlab.load.fingerprint import REFUSAL_FILE_ENV, WORKERS_FILE_ENV, fingerprint, source_address

HELLO = "loadlab_hello"
REFUSED = "loadlab_refused"
REFUSED_STATUS = 3

logger = logging.getLogger(__name__)
_workers: dict[str, dict] = {}  # master: node id -> what the worker said, and whether it was refused


@events.init.add_listener
def _on_init(environment, runner, **_kwargs) -> None:
    if isinstance(runner, MasterRunner):
        runner.register_message(HELLO, _on_hello)
    elif isinstance(runner, WorkerRunner):
        runner.register_message(REFUSED, _on_refused)
        address = source_address(runner.master_host, runner.master_port)
        hello = {"host": socket.gethostname(), "address": address, "fingerprint": fingerprint()}
        runner.send_message(HELLO, hello)


def _on_hello(environment, msg, **_kwargs) -> None:
    mine, theirs = fingerprint(), msg.data["fingerprint"]
    refused = theirs != mine
    _workers[msg.node_id] = {**msg.data, "refused": refused}
    if refused:
        runner = environment.runner
        reason = f"master has {mine}, this worker {theirs}"
        logger.error(f"refused worker {msg.data['host']} ({msg.data['address']}): {reason}")
        runner.clients.pop(msg.node_id, None)  # never counted towards --expect-workers
        runner.send_message(REFUSED, reason, client_id=msg.node_id)
    _write()


def _write() -> None:
    path = os.environ.get(WORKERS_FILE_ENV)
    if path:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(list(_workers.values()), f)
        os.replace(tmp, path)


def _on_refused(environment, msg, **_kwargs) -> None:
    reason = f"refused by the master at {environment.runner.master_host}: {msg.data}"
    logger.error(reason)
    path = os.environ.get(REFUSAL_FILE_ENV)
    if path:
        with open(path, "w") as f:
            f.write(reason + "\n")
    os._exit(REFUSED_STATUS)
