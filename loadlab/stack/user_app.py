"""A user's own service, from the stack's side: its app checked before any server starts (in a
child interpreter: its import runs the user's code), its health waited on, and a service that is
already running (`--url`), which loadlab loads but neither starts nor stops."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from loadlab.contract.app import ASGI, app_env
from loadlab.errors import FAILED, USAGE, LoadlabError
from loadlab.stack.servers import ASGI_SERVERS, WSGI_SERVERS

PROBE_TIMEOUT_S = 60.0
HEALTH_TIMEOUT_S = float(os.environ.get("LOADLAB_HEALTH_TIMEOUT_S", "30"))  # tests shorten it
NOT_FOUND = (404, 405)  # a path the app does not serve: waiting longer will not change it


@dataclass(frozen=True)
class ProbedApp:
    kind: str  # ASGI or WSGI
    routes: tuple[str, ...]  # route templates where the app exposes them


def probe(ref: str, app_dir: str, factory: bool, env_file: str | None) -> ProbedApp:
    """Import the app as a server's worker would, in a child interpreter: its kind and routes, or
    the one line that says why it cannot be served (LoadlabError, usage)."""
    import json

    env = {**os.environ, **app_env(ref, app_dir, factory, env_file)}
    cmd = [sys.executable, "-m", "targets.app_import"]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise LoadlabError(f"importing {ref} took over {PROBE_TIMEOUT_S:g}s", USAGE) from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise LoadlabError(lines[-1] if lines else f"importing {ref} failed with status {done.returncode}", USAGE)
    found = json.loads(done.stdout.strip().splitlines()[-1])  # the app may print while it is imported
    return ProbedApp(found["kind"], tuple(found["routes"]))


def check_server(ref: str, kind: str, server: str) -> None:
    """An ASGI app under an ASGI server, a WSGI app under Gunicorn's sync or gthread workers."""
    fits = ASGI_SERVERS if kind == ASGI else WSGI_SERVERS
    if server not in fits:
        article = "an" if kind == ASGI else "a"
        raise LoadlabError(f"{ref} is {article} {kind.upper()} app: serve it with --server {' or '.join(fits)}", USAGE)


def wait_healthy(url: str, alive: Callable[[], bool] = lambda: True, timeout: float = HEALTH_TIMEOUT_S) -> None:
    """Until `url` answers 2xx or 3xx. A 404 (or 405) fails at once, as does a server that exits;
    otherwise after `timeout`, with the last status seen."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            status = httpx.get(url, timeout=2).status_code
            if status < 400:
                return
            last = f"status {status}"
            if status in NOT_FOUND:
                raise LoadlabError(f"health check {url} answered {status}: pass a path the app serves with --health")
        except httpx.HTTPError as exc:
            last = f"no answer ({type(exc).__name__})"
        if not alive():
            raise LoadlabError(f"the server exited before {url} answered (last: {last})", FAILED)
        if time.monotonic() > deadline:
            raise LoadlabError(f"health check {url} did not answer 2xx/3xx within {timeout:g}s (last: {last})", FAILED)
        time.sleep(0.2)


@dataclass
class External:
    """A service that runs already (`--url`): loaded, never started or stopped by loadlab."""

    url: str
    log: Path
    name: str = "service"
    proc: None = None
    stopped: bool = field(default=False)

    def alive(self) -> bool:
        return True

    def stop(self) -> None:
        self.stopped = True

    def log_tail(self, lines: int = 5) -> str:
        return ""

    def wait_ready(self, ready_path: str = "/", timeout: float = HEALTH_TIMEOUT_S, **_ignored) -> "External":
        wait_healthy(self.url + ready_path, timeout=timeout)
        return self
