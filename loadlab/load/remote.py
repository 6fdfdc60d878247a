"""`loadlab worker`: Locust workers on this machine for a run's master on another. Imports no Locust.

A run's master lives for one point (one step of a sweep), so the workers here are started again for
each: whenever the master's port answers, `processes` Locust workers (loadlab.load.worker's command
line, counts forwarded to the master: loadlab.load.distributed) connect and run until that master
quits. When no master has answered for `idle_s` after the last one, the run is over and this ends
(status 0). A master never reached within `connect_s` ends it with one line and status 1, and so
does a refusal (loadlab.load.handshake: another loadlab version or load code than the master's).
"""

import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from loadlab import REPO
from loadlab.errors import FAILED, LoadlabError
from loadlab.load.command import worker_command
from loadlab.load.fingerprint import FORWARD_ENV, REFUSAL_FILE_ENV
from loadlab.stack import procs

POLL_S = 0.5
GONE_S = 30.0  # a master lingers (serving its final counts) at most this long after its workers quit


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """Something accepts connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class RemoteWorkers:
    host: str
    port: int
    processes: int = 1
    connect_s: float = 60.0  # the first master must answer within this
    idle_s: float = 60.0  # after a master quits, the next must answer within this, or the run is over
    logs: Path | None = None

    def serve(self, say) -> int:
        """Workers for every master until the run is over; the number of masters served."""
        logs = self.logs or Path(tempfile.gettempdir()) / f"loadlab-worker-{os.getpid()}"
        logs.mkdir(parents=True, exist_ok=True)
        served = 0
        deadline = time.monotonic() + self.connect_s
        while True:
            if reachable(self.host, self.port):
                if not served:
                    say(f"loadlab worker: {self.processes} Locust workers for {self.host}:{self.port}; logs in {logs}")
                self.session(logs, served + 1)
                served += 1
                say(f"loadlab worker: master {served} done")
                self.until_gone()  # it lingers a few seconds after its workers quit: not the next one
                deadline = time.monotonic() + self.idle_s
            elif time.monotonic() > deadline:
                if not served:
                    raise LoadlabError(
                        f"no Locust master answers at {self.host}:{self.port} after {self.connect_s:g}s of retries",
                        FAILED,
                    )
                say(f"loadlab worker: no master for {self.idle_s:g}s after {served}: the run is over")
                return served
            else:
                time.sleep(POLL_S)

    def until_gone(self) -> None:
        """Until the master that just quit no longer answers (GONE_S at most)."""
        deadline = time.monotonic() + GONE_S
        while reachable(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(POLL_S / 5)

    def session(self, logs: Path, n: int) -> None:
        """`processes` Locust workers, until the master quits (or refuses them)."""
        refusal = logs / "refused.txt"
        refusal.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory(prefix="loadlab-worker-metrics-") as metrics:
            running = []
            try:
                for i in range(self.processes):
                    own = Path(metrics) / str(i)
                    own.mkdir()
                    env = {**os.environ, FORWARD_ENV: "1", "PROMETHEUS_MULTIPROC_DIR": str(own)}
                    env[REFUSAL_FILE_ENV] = str(refusal)
                    cmd = worker_command(self.host, self.port)
                    running.append(procs.start(cmd, env=env, log=logs / f"worker-{i}.log", cwd=REPO))
                while any(p.poll() is None for p in running) and not refusal.exists():
                    time.sleep(POLL_S / 5)
            finally:
                for proc in running:
                    procs.stop(proc)
        if refusal.exists():
            raise LoadlabError(refusal.read_text().strip(), FAILED)
