"""`loadlab serve`: run one target under one server kind in the foreground, with its metrics set up.

Checks what would otherwise fail later and obscurely (port taken, database unreachable), wipes the
multiprocess metrics directory, starts the server as its own process group and stops that whole
group on Ctrl-C or SIGTERM.
"""

import glob
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from loadlab.contract.settings import Settings
from loadlab.errors import FAILED, USAGE, LoadlabError
from loadlab.stack import database, ports, procs
from loadlab.stack.servers import ServerSpec, check, server_command, target_env, upstream_command

WAIT_POLL_S = 0.05


def check_port(host: str, port: int, option: str = "--port") -> None:
    if not 0 < port < 65536:
        raise LoadlabError(f"{option} must be from 1 to 65535, got {port}")
    if not ports.port_is_free(host, port):
        raise LoadlabError(f"port {port} on {host} is already in use; pick another with {option}")


def wipe_metrics_dir(path: Path) -> None:
    """Stale files from an earlier server would be summed into this one's metrics: prometheus_client's
    `*.db`, the request metrics' `*.slots` and `*.keys` (`targets.request_metrics`), and the archive
    of dead workers' counts (`archive/`, loadlab.contract.multiproc)."""
    path.mkdir(parents=True, exist_ok=True)
    for pattern in ("*.db", "*.slots", "*.keys"):
        for f in glob.glob(str(path / pattern)):
            os.remove(f)
    shutil.rmtree(path / "archive", ignore_errors=True)


def serve(
    spec: ServerSpec,
    threads: int,
    db_pool: int,
    metrics_dir: Path | None,
    app_env: dict[str, str] | None = None,
    health: str | None = None,
) -> int:
    """Serve `spec` in the foreground; a user's app (`spec.wrapped`) with `app_env` naming it, ready
    once `health` (a URL) answers."""
    check(spec, threads, db_pool)
    check_port(spec.host, spec.port)
    if spec.metrics_port:
        # The workers share it (SO_REUSEPORT), so another server of this user's would share it too: refuse.
        check_port(spec.host, spec.metrics_port, "--metrics-port")
    if not spec.wrapped:  # the lab's targets need its PostgreSQL; a user's app has settings of its own
        database.check(Settings().database_url, USAGE)
    own_dir = metrics_dir is None
    path = Path(tempfile.mkdtemp(prefix="loadlab-metrics-")) if own_dir else metrics_dir
    wipe_metrics_dir(path)
    print(
        f"loadlab: {spec.target} target on {spec.server} x{spec.workers} at {spec.url} "
        f"(threads {threads}, db pool {db_pool}, metrics {spec.metrics_url}/metrics)",
        flush=True,
    )
    env = {**os.environ, **(app_env or {}), **target_env(spec, path, threads, db_pool)}
    try:
        return run_foreground(server_command(spec), env, health)
    finally:
        if own_dir:
            shutil.rmtree(path, ignore_errors=True)


def serve_upstream(host: str, port: int) -> int:
    check_port(host, port)
    print(f"loadlab: upstream at http://{host}:{port}/delay?ms=100", flush=True)
    return run_foreground(upstream_command(host, port), dict(os.environ))


def run_foreground(cmd: list[str], env: dict[str, str], health: str | None = None) -> int:
    """Run `cmd` with its output on ours until it exits or we are told to stop; with `health`, a URL
    that must answer 2xx or 3xx first (else the server is stopped and the error raised)."""
    proc = procs.start(cmd, env=env)
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True  # a second Ctrl-C must not cut the clean stop short

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        if health:
            from loadlab.stack.user_app import wait_healthy

            wait_healthy(health, alive=lambda: proc.poll() is None)
            print(f"loadlab: {health} answers", flush=True)
        # Polled, not Popen.wait(): an exception raised inside wait() makes it wait 0.25 s more for the child.
        while (code := proc.poll()) is None and not stopping:
            time.sleep(WAIT_POLL_S)
    finally:
        procs.stop(proc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopping:
        return 0
    if code:
        print(f"loadlab: server exited with status {code}", file=sys.stderr)
        return FAILED
    return 0
