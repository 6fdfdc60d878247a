"""The processes of a run's stack — upstream and targets — started through `loadlab serve` and
waited on until they answer, so a run never loads a server that is not up."""

import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx

from loadlab.contract import metrics
from loadlab.contract.settings import DEFAULT_DB_POOL, DEFAULT_THREADS
from loadlab.errors import FAILED, LoadlabError
from loadlab.stack import procs, servers
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
    scratch: Path | None = None  # a folder of its own, removed once it has stopped

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cause(self) -> str:
        """The log's last exception line (`SomeError: why`), else its last line: why it exited."""
        tail = self.log_tail(40).splitlines()
        errors = [line.strip() for line in tail if re.match(r"^\s*[\w.]*(Error|Exception)\b.*:", line)]
        return errors[-1] if errors else (tail[-1] if tail else "")

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            procs.stop(self.proc)
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)

    def wait_ready(
        self,
        ready_path: str,
        timeout: float = READY_TIMEOUT_S,
        ready: Callable[[httpx.Response], bool] = lambda response: True,
        at: str | None = None,
    ) -> "Service":
        """Wait until `url + ready_path` (`at + ready_path`, given `at`) answers below 500 and `ready`
        holds; a process that exits (or is stopped) meanwhile, or never answers, is stopped and named in the error."""
        base = at or self.url
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                self.stop()
                raise LoadlabError(
                    f"{self.name} exited with status {self.proc.returncode} before it was ready "
                    f"(log {self.log}): {self.cause()}",
                    FAILED,
                )
            try:
                response = httpx.get(base + ready_path, timeout=2)
                if response.status_code < 500 and ready(response):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise LoadlabError(
            f"{self.name} did not answer {base + ready_path} within {timeout:.0f}s (log {self.log})", FAILED
        )


def launch(name: str, args: list[str], url: str, log: Path, env: Mapping[str, str] | None = None) -> Service:
    """Start `loadlab ARGS` and return at once; `Service.wait_ready` waits until it answers."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return Service(name, procs.start([*LOADLAB, *args], env={**os.environ, **(env or {})}, log=log), url, log)


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
    return launch(name, args, url, log, env).wait_ready(ready_path, timeout, ready)


def start_target(
    spec: ServerSpec,
    log: Path,
    threads: int = DEFAULT_THREADS,
    db_pool: int = DEFAULT_DB_POOL,
    env: Mapping[str, str] | None = None,
) -> Service:
    return launch_target(spec, log, threads, db_pool, env).wait_ready(**target_ready(spec))


def launch_target(
    spec: ServerSpec,
    log: Path,
    threads: int = DEFAULT_THREADS,
    db_pool: int = DEFAULT_DB_POOL,
    env: Mapping[str, str] | None = None,
    nice: int = 0,
) -> Service:
    """The target's server started at once (the command `loadlab serve` runs, without loadlab's own
    process around it: one interpreter less to start per point); `Service.wait_ready(**target_ready(spec))`
    waits until it serves. Its multiprocess metrics live in a folder of its own, removed when it stops."""
    servers.check(spec, threads, db_pool)
    log.parent.mkdir(parents=True, exist_ok=True)
    metrics_dir = Path(tempfile.mkdtemp(prefix="loadlab-metrics-"))
    env = {**os.environ, **(env or {}), **servers.target_env(spec, metrics_dir, threads, db_pool)}
    try:
        proc = procs.start(servers.server_command(spec), env=env, log=log, nice=nice)
    except BaseException:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        raise
    return Service(f"{spec.target} target", proc, spec.url, log, scratch=metrics_dir)


def target_ready(spec: ServerSpec) -> dict[str, Any]:
    # /metrics is ready as soon as the app is, and scraping it does not count as a request. A user's
    # app has it on the metrics port only (targets.wrapped): every path of its own port is the app's.
    at = spec.metrics_url if spec.wrapped else None
    return {"ready_path": "/metrics", "ready": all_workers_up(spec.workers), "at": at}


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
