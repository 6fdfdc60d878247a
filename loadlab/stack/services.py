"""The processes of a run's stack — upstream and targets — started through `loadlab serve` and
waited on until they answer, so a run never loads a server that is not up."""

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

import httpx

from loadlab.contract import metrics
from loadlab.errors import FAILED, LoadlabError
from loadlab.stack import procs
from loadlab.stack.servers import ServerSpec

LOADLAB = [sys.executable, "-m", "loadlab"]
READY_TIMEOUT_S = 60


@dataclass
class Service:
    name: str
    proc: Popen
    url: str
    log: Path
    stopped: bool = field(default=False)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if not self.stopped:
            procs.stop(self.proc)
            self.stopped = True


def start(
    name: str,
    args: list[str],
    url: str,
    ready_path: str,
    log: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = READY_TIMEOUT_S,
    ready: Callable[[httpx.Response], bool] = lambda response: True,
) -> Service:
    """Run `loadlab ARGS` and wait until `url + ready_path` answers below 500 and `ready` holds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    service = Service(name, procs.start([*LOADLAB, *args], env={**os.environ, **(env or {})}, log=log), url, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            service.stop()
            raise LoadlabError(
                f"{name} exited with status {service.proc.returncode} before it was ready "
                f"(log {log}): {service.log_tail(1)}",
                FAILED,
            )
        try:
            response = httpx.get(url + ready_path, timeout=2)
            if response.status_code < 500 and ready(response):
                return service
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    service.stop()
    raise LoadlabError(f"{name} did not answer {url + ready_path} within {timeout:.0f}s (log {log})", FAILED)


def start_target(
    spec: ServerSpec, log: Path, threads: int = 40, db_pool: int = 10, env: Mapping[str, str] | None = None
) -> Service:
    args = [
        "serve",
        "--target",
        spec.target,
        "--server",
        spec.server,
        "--workers",
        str(spec.workers),
        "--host",
        spec.host,
        "--port",
        str(spec.port),
        "--loop",
        spec.loop,
        "--threads",
        str(threads),
        "--db-pool",
        str(db_pool),
    ]
    # /metrics is ready as soon as the app is, and scraping it does not count as a request.
    return start(f"{spec.target} target", args, spec.url, "/metrics", log, env, ready=all_workers_up(spec.workers))


def all_workers_up(workers: int) -> Callable[[httpx.Response], bool]:
    """Ready once every worker has started, not just the first: load offered earlier lands on the
    workers already up, and keep-alive connections stay there for the whole point (seen: a sync
    io-db point at 100 rps, one worker's DB pool, instead of 400). The live-workers gauge is absent
    when the target runs without instrumentation; then the first answer has to do."""

    def ready(response: httpx.Response) -> bool:
        for line in response.text.splitlines():
            if line.startswith(metrics.WORKERS + "{"):
                return float(line.rsplit(" ", 1)[1]) >= workers
        return True

    return ready


def start_upstream(port: int, log: Path, host: str = "127.0.0.1") -> Service:
    args = ["serve-upstream", "--host", host, "--port", str(port)]
    return start("upstream", args, f"http://{host}:{port}", "/healthz", log)
