"""The ways to serve a target that users compare, as command lines. One place knows them all."""

import sys
from dataclasses import dataclass
from pathlib import Path

from loadlab import REPO
from loadlab.contract.app import WRAPPED_APP
from loadlab.contract.ports import TARGET_PORT
from loadlab.contract.scenarios import TARGETS as TARGETS  # the targets a server serves, named here too
from loadlab.contract.settings import METRICS_HOST_ENV, METRICS_PORT_ENV
from loadlab.errors import LoadlabError

ASGI_SERVERS = ("uvicorn", "uvicorn-workers", "gunicorn-uvicorn", "gunicorn-asgi")
WSGI_SERVERS = ("gunicorn-sync", "gunicorn-gthread")  # Gunicorn's own workers, for a user's WSGI app
SERVERS = (*ASGI_SERVERS, *WSGI_SERVERS)
LOOPS = ("auto", "asyncio", "uvloop")

GUNICORN_CONF = REPO / "targets" / "gunicorn.conf.py"
UPSTREAM_APP = "targets.upstream:app"
UVICORN_WORKER_CLASS = {
    "auto": "targets.uvicorn_workers.AutoLoopWorker",
    "asyncio": "targets.uvicorn_workers.AsyncioWorker",
    "uvloop": "targets.uvicorn_workers.UvloopWorker",
}


@dataclass(frozen=True)
class ServerSpec:
    target: str
    server: str
    workers: int = 1
    host: str = "127.0.0.1"
    port: int = TARGET_PORT
    loop: str = "auto"
    # Where every worker serves the merged metrics from a thread, whatever its event loop does: the port
    # Prometheus scrapes (targets.instrumentation). None: only /metrics on `port`, which a blocked loop blocks.
    metrics_port: int | None = None
    wrapped: bool = False  # a user's app (`--app`), served through targets.wrapped; `target` is its name
    threads: int = 1  # gunicorn-gthread: threads per worker

    @property
    def app(self) -> str:
        return WRAPPED_APP if self.wrapped else f"targets.{self.target}_app:app"

    @property
    def _reach(self) -> str:
        """The host this machine reaches it at: a server on every interface (0.0.0.0) answers on loopback too."""
        return "127.0.0.1" if self.host == "0.0.0.0" else self.host

    @property
    def url(self) -> str:
        return f"http://{self._reach}:{self.port}"

    @property
    def metrics_url(self) -> str:
        """Where its merged metrics are served (path /metrics): the metrics port, else the app's port."""
        return f"http://{self._reach}:{self.metrics_port}" if self.metrics_port else self.url


def check(spec: ServerSpec, threads: int, db_pool: int) -> None:
    """A clear error for a spec no server runs, before anything is started."""
    if spec.workers < 1:
        raise LoadlabError(f"--workers must be at least 1, got {spec.workers}")
    if spec.server == "uvicorn" and spec.workers != 1:
        raise LoadlabError("--server uvicorn runs one process; use --server uvicorn-workers for several")
    if threads < 1:
        raise LoadlabError(f"--threads must be at least 1, got {threads}")
    if db_pool < 1:
        raise LoadlabError(f"--db-pool must be at least 1, got {db_pool}")
    if spec.metrics_port is not None and not 0 < spec.metrics_port < 65536:
        raise LoadlabError(f"--metrics-port must be from 1 to 65535, got {spec.metrics_port}")
    if spec.metrics_port == spec.port:
        raise LoadlabError(f"--metrics-port must differ from --port ({spec.port})")
    if spec.server in WSGI_SERVERS and not spec.wrapped:
        raise LoadlabError(f"--server {spec.server} serves WSGI apps (--app); the lab's targets are ASGI")


def server_command(spec: ServerSpec) -> list[str]:
    """The command that serves `spec`; the process it starts is the root of the server's tree."""
    py = sys.executable
    if spec.server in ("uvicorn", "uvicorn-workers"):
        cmd = [py, "-m", "uvicorn", spec.app, "--host", spec.host, "--port", str(spec.port)]
        cmd += ["--loop", spec.loop, "--no-access-log", "--timeout-graceful-shutdown", "10"]
        return cmd + (["--workers", str(spec.workers)] if spec.server == "uvicorn-workers" else [])
    cmd = [py, "-m", "gunicorn", spec.app, "-c", str(GUNICORN_CONF)]
    cmd += ["--bind", f"{spec.host}:{spec.port}", "--workers", str(spec.workers)]
    if spec.server == "gunicorn-uvicorn":
        return [*cmd, "--worker-class", UVICORN_WORKER_CLASS[spec.loop]]
    if spec.server == "gunicorn-sync":
        return [*cmd, "--worker-class", "sync"]
    if spec.server == "gunicorn-gthread":
        return [*cmd, "--worker-class", "gthread", "--threads", str(spec.threads)]
    return [*cmd, "--worker-class", "asgi", "--asgi-loop", spec.loop]


def target_env(spec: ServerSpec, metrics_dir: Path, threads: int, db_pool: int) -> dict[str, str]:
    """What the target's processes are told besides the command line (targets.common's Settings)."""
    return {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOADLAB_TARGET": spec.target,
        "LOADLAB_SERVER": spec.server,
        "LOADLAB_THREADS": str(threads),
        "LOADLAB_DB_POOL_SIZE": str(db_pool),
        # always set, so a value inherited from the environment never opens a port nobody asked for
        METRICS_HOST_ENV: spec.host,
        METRICS_PORT_ENV: str(spec.metrics_port or 0),
    }


def upstream_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", UPSTREAM_APP, "--host", host, "--port", str(port), "--no-access-log"]
