"""`app-instrumentation`: what loadlab's instrumentation costs a user's own app, not one of the lab's
targets. The same app is served twice on gunicorn-uvicorn x2: once through `loadlab serve --app`
(wrapped in targets.wrapped), once plain (the same server command with the app itself in place of the
wrapper), and wrk drives the two alternately. The app is Datasette's (an ASGI app from PyPI, the one
tests/test_own_app.py serves) where it is installed (`pip install -e .[examples]`), else a minimal
FastAPI app; either is written to the benchmark's temp folder."""

import importlib.util
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from loadlab.bench.drivers import alternate, wrk, wrk_round
from loadlab.bench.stats import Comparison
from loadlab.stack import ports, procs, services
from loadlab.stack.servers import ServerSpec, server_command

SERVER, WORKERS = "gunicorn-uvicorn", 2
MODULE = "benchapp"  # the app's module in its folder; also its `target` label when wrapped
GOAL = 0.98  # issue 16: the wrapper costs a user's app no more than 2 %


@dataclass(frozen=True)
class UserApp:
    name: str  # for the benchmark's line
    source: str  # the module's text: it defines `app`
    route: str  # the path wrk loads (a 200 for a GET)


DATASETTE = UserApp(
    "Datasette",
    "from datasette.app import Datasette\n\napp = Datasette(memory=True).app()\n",
    "/-/versions.json",
)
FASTAPI = UserApp(
    "FastAPI",
    "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
    '@app.get("/items/{item_id}")\nasync def item(item_id: int) -> dict:\n    return {"id": item_id}\n',
    "/items/1",
)


def user_app() -> UserApp:
    return DATASETTE if importlib.util.find_spec("datasette") is not None else FASTAPI


def write_app(app: UserApp, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{MODULE}.py").write_text(app.source)
    return folder


def plain_command(app_dir: Path, port: int) -> list[str]:
    """The command that serves the wrapped app (servers.server_command: the same Gunicorn settings
    and worker class), with the user's app in place of the wrapper."""
    spec = ServerSpec(MODULE, SERVER, WORKERS, port=port, wrapped=True)
    cmd = [f"{MODULE}:app" if part == spec.app else part for part in server_command(spec)]
    return [*cmd, "--pythonpath", str(app_dir)]


def serve_instrumented(stack: ExitStack, app: UserApp, app_dir: Path, log: Path) -> tuple[str, int]:
    """`loadlab serve --app`, ready once both workers report on the metrics port; its app URL and pid."""
    spec = ServerSpec(MODULE, SERVER, WORKERS, port=ports.free_port(), metrics_port=ports.free_port(), wrapped=True)
    args = ["serve", "--app", f"{MODULE}:app", "--app-dir", str(app_dir), "--health", app.route]
    args += ["--server", SERVER, "--workers", str(WORKERS), "--port", str(spec.port)]
    args += ["--metrics-port", str(spec.metrics_port)]
    service = services.launch(f"{MODULE} (loadlab serve --app)", args, spec.url, log)
    stack.callback(service.stop)
    service.wait_ready(**services.target_ready(spec))
    return spec.url + app.route, service.proc.pid


def serve_plain(stack: ExitStack, app: UserApp, app_dir: Path, log: Path) -> tuple[str, int]:
    """The app on its own under the same server; ready once it answers (the warm-up reaches every
    worker); its URL and pid."""
    port = ports.free_port()
    url = f"http://127.0.0.1:{port}"
    proc = procs.start(plain_command(app_dir, port), env=dict(os.environ), log=log)
    service = services.Service(f"{MODULE} (plain)", proc, url, log)
    stack.callback(service.stop)
    service.wait_ready(app.route)
    return url + app.route, proc.pid


def app_instrumentation(workdir: Path, seconds: float, rounds: int) -> Comparison:
    """Requests per server CPU-second of a user's app served by `loadlab serve --app` vs the same app
    served plain (each side's whole process tree: `loadlab serve`'s own process idles during a round)."""
    app = user_app()
    app_dir = write_app(app, workdir / "user-app")
    with ExitStack() as stack:
        instrumented_url, instrumented_pid = serve_instrumented(stack, app, app_dir, workdir / "app-instrumented.log")
        plain_url, plain_pid = serve_plain(stack, app, app_dir, workdir / "app-plain.log")
        wrk(instrumented_url, 2), wrk(plain_url, 2)  # warm up both
        instrumented, plain = alternate(
            lambda: wrk_round(instrumented_url, seconds, instrumented_pid),
            lambda: wrk_round(plain_url, seconds, plain_pid),
            rounds,
        )
    return Comparison.per_cpu_second(
        f"app instrumentation (wrk, {app.name} {app.route}, {SERVER} x{WORKERS})",
        GOAL,
        "loadlab serve --app",
        "plain",
        instrumented,
        plain,
        "server",
    )
