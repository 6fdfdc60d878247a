"""The containerized stack, run for real as a user runs it: `make up`, `make loadtest-compose`, `make down`.

A private Docker engine (tests/compose/engine.py) builds the project's images on local stand-ins of
the public base images (tests/compose/standins.py: no registry is reachable here), starts the whole
stack but Grafana (which has no stand-in), loads it through two Locust worker containers, and is
removed afterwards; the host's iptables, ip_forward and interfaces must be as they were. On the same
stack, a second run goes through three faults (a target container crashed, PostgreSQL restarted, the
upstream paused), one per point, and must complete with each point marked by what hit it.

Slow (a few minutes, most of it building images), and part of `make test`.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from loadlab import REPO, compose
from loadlab.results.folder import RunFolder
from loadlab.stack import ports
from tests.compose import standins
from tests.compose.engine import DockerEngine, EngineUnavailable
from tests.dashboard_queries import empty_panels

PORT_VARIABLES = [name for name, _, _ in compose.PORTS] + ["REPLAY_PORT"]
RUN_ID = f"compose-test-{secrets.token_hex(3)}"
CHAOS_RUN_ID = f"compose-chaos-{secrets.token_hex(3)}"
STEP_TIMEOUT_S = 900
# The chaos run: the scenario of a point -> the fault injected while it is measured, one per point; the
# last point has none. Of the three, only PostgreSQL serves the run's own target: a run in the stack
# starts its targets and its upstream in the runner container, and the stack's target and upstream
# containers serve the Locust web UI. The crash is SIGKILL to the container's first process from the
# host, which Docker sees as a death; `docker kill` would be a deliberate stop, that no policy undoes.
FAULTS = {
    "io-sleep": ("crash", "target-sync"),  # its restart policy brings it back
    "io-db": ("restart", "postgres"),  # `docker restart`: the database the run's io-db target queries
    "io-http": ("pause", "upstream"),  # `docker pause`, then `docker unpause` PAUSE_S later
}
CHAOS_SCENARIOS = [*FAULTS, "fanout"]
FAULT_AFTER_S = 1.0  # into the measured window
PAUSE_S = 3.0
RECOVERY_TIMEOUT_S = 120
MEASURING = re.compile(r"^\[\d+/\d+\] (\S+) (\S+): measuring")


class Stack:
    def __init__(self, engine: DockerEngine, env: dict[str, str]) -> None:
        self.engine = engine
        self.env = env
        self.prometheus = f"http://127.0.0.1:{env['PROMETHEUS_PORT']}"
        self.timings: dict[str, float] = {}

    def make(self, target: str, *args: str) -> subprocess.CompletedProcess:
        started = time.monotonic()
        result = subprocess.run(
            ["make", "--no-print-directory", "-C", str(REPO), target, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
            check=False,
        )
        self.timings[target] = time.monotonic() - started
        assert result.returncode == 0, f"make {target}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{self.logs()}"
        return result

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`docker compose ARGS` against this stack, its output captured."""
        cmd = ["docker", "compose", *args]
        return subprocess.run(cmd, cwd=REPO, env=self.env, capture_output=True, text=True, check=check)

    def logs(self) -> str:
        """The last lines each container wrote, for a failure's message (a container that exited included)."""
        out = self.compose("logs", "--no-color", "--tail", "15", check=False)
        return f"container logs:\n{out.stdout[-4000:]}{out.stderr[-1000:]}"

    def services(self) -> list[dict]:
        out = self.compose("ps", "--all", "--format", "json").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def inspect(self, service: str) -> dict:
        """`docker inspect` of the service's (one) container."""
        ids = [s["ID"] for s in self.services() if s["Service"] == service]
        assert len(ids) == 1, (service, ids)
        return json.loads(self.engine.docker("inspect", ids[0]).stdout)[0]


class Chaos:
    """Injects one fault into a container of the stack and times how long it takes to be whole again:
    running, healthy, and (after a kill or a restart) started anew."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.done: dict[str, dict] = {}  # scenario -> what was done, when, and how long recovery took
        self.threads: list[threading.Thread] = []

    def during(self, scenario: str) -> None:
        """The point of `scenario` is being measured: its fault, FAULT_AFTER_S from now, in a thread."""
        if scenario in FAULTS and scenario not in self.done:
            self.done[scenario] = {}
            thread = threading.Thread(target=self.inject, args=(scenario,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def inject(self, scenario: str) -> None:
        try:
            self._inject(scenario)
        except Exception as exc:  # kept for the test's assertion: a thread's exception would go unseen
            self.done[scenario]["error"] = repr(exc)

    def _inject(self, scenario: str) -> None:
        time.sleep(FAULT_AFTER_S)
        action, service = FAULTS[scenario]
        before = self.stack.inspect(service)
        record = self.done[scenario]
        record.update(action=action, service=service, at=time.time())
        if action == "crash":
            os.kill(before["State"]["Pid"], signal.SIGKILL)  # its init (docker-init): the container dies with it
        elif action == "pause":
            self.stack.engine.docker("pause", before["Id"])
            time.sleep(PAUSE_S)
            self.stack.engine.docker("unpause", before["Id"])
        else:
            self.stack.engine.docker(action, before["Id"])
        deadline = time.monotonic() + RECOVERY_TIMEOUT_S
        while time.monotonic() < deadline:
            state = self.stack.inspect(service)["State"]
            anew = action == "pause" or state["StartedAt"] != before["State"]["StartedAt"]
            if state["Status"] == "running" and state.get("Health", {}).get("Status") == "healthy" and anew:
                record["recovered_s"] = time.time() - record["at"]
                return
            time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = time.monotonic()
    stack = None
    try:
        with contextlib.ExitStack() as exits:
            try:  # entering, not making, the engine installs dockerd and finds compose: it raises this
                engine = exits.enter_context(DockerEngine())
            except EngineUnavailable as why:  # pragma: no cover - only off this project's machines
                pytest.skip(f"no Docker engine can run here: {why}")
            images = standins.build(engine, tmp_path_factory.mktemp("standins"))
            env = {
                **os.environ,
                **engine.env,
                **images,
                "BUILD_NETWORK": "host",  # the engine gives containers no NAT: builds use the host's network
                "COMPOSE_PROJECT_NAME": "loadlab-test",
                "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
                "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(16),
                "LOCUST_WEB_PASSWORD": secrets.token_urlsafe(16),
                **{name: str(ports.free_port()) for name in PORT_VARIABLES},
            }
            stack = Stack(engine, env)
            stack.timings["engine and stand-ins"] = time.monotonic() - started
            with standins.extra_ca():
                stack.make("up", "WORKERS_LOCUST=2", "ARGS=--without-grafana")
            try:
                yield stack
            finally:
                for run_id in (RUN_ID, CHAOS_RUN_ID):
                    shutil.rmtree(REPO / "results" / run_id, ignore_errors=True)
    finally:
        if stack is not None:
            print(f"\ncompose stack timings (s): { {k: round(v) for k, v in stack.timings.items()} }")
    assert engine.changed == [], f"the host changed while the engine ran: {engine.changed}"


def test_make_up_starts_every_service_healthy(stack: Stack):
    services = {s["Service"]: s for s in stack.services()}
    expected = {"postgres", "upstream", "target-sync", "target-async", "locust-master", "locust-worker", "prometheus"}
    assert expected <= set(services), services.keys()
    assert "grafana" not in services  # no stand-in for its image: the stack runs without it here
    for name, service in services.items():
        assert service["State"] == "running", f"{name}: {service['State']}"
        if name != "locust-worker":  # the only service without a health check: it has no port
            assert service["Health"] == "healthy", f"{name}: {service['Health']}"
    workers = [s for s in stack.services() if s["Service"] == "locust-worker"]
    assert len(workers) == 2
    for service in stack.services():  # published on 127.0.0.1 only
        for publisher in service.get("Publishers") or []:
            if publisher.get("PublishedPort"):
                assert publisher["URL"] == "127.0.0.1", publisher


def test_every_container_runs_without_capabilities_privileges_or_a_writable_root(stack: Stack):
    containers = [s["ID"] for s in stack.services()]
    assert len(containers) >= 8
    for container in containers:
        info = json.loads(stack.engine.docker("inspect", container).stdout)[0]
        name, host = info["Name"], info["HostConfig"]
        assert host["CapDrop"] == ["ALL"] and not host["CapAdd"], name
        assert "no-new-privileges:true" in host["SecurityOpt"], name
        assert host["ReadonlyRootfs"] is True, name
        assert host["Memory"] > 0 and host["NanoCpus"] > 0, name
        # what the kernel says of the container's first process: no capability, no new privileges, not root
        status = stack.engine.docker("exec", container, "cat", "/proc/1/status").stdout
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        assert int(fields["CapEff"], 16) == 0 and int(fields["CapBnd"], 16) == 0, (name, fields["CapBnd"])
        assert fields["NoNewPrivs"].strip() == "1", name
        assert fields["Uid"].split()[0] != "0", name
        refused = stack.engine.docker("exec", container, "touch", "/written", check=False)
        assert refused.returncode != 0 and "Read-only file system" in refused.stderr, (name, refused.stderr)


def test_locust_web_ui_asks_for_a_login(stack: Stack):
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.env['LOCUST_PORT']}", timeout=10) as client:
        refused = client.get("/stats/requests")
        assert refused.status_code == 302 and "/login" in refused.headers["location"]
        client.post("/login_submit", data={"username": "admin", "password": "not-it"})
        assert client.get("/stats/requests").status_code == 302
        client.post("/login_submit", data={"username": "admin", "password": stack.env["LOCUST_WEB_PASSWORD"]})
        assert client.get("/stats/requests").status_code == 200


def test_prometheus_admin_api_and_lifecycle_endpoints_are_off(stack: Stack):
    snapshot = httpx.post(f"{stack.prometheus}/api/v1/admin/tsdb/snapshot", timeout=10)
    assert snapshot.status_code >= 400 and "admin APIs disabled" in snapshot.text, snapshot.text
    for endpoint in ("/-/quit", "/-/reload"):
        refused = httpx.post(f"{stack.prometheus}{endpoint}", timeout=10)
        assert refused.status_code == 403 and "Lifecycle API is not enabled" in refused.text, refused.text
    assert httpx.get(f"{stack.prometheus}/-/ready", timeout=10).status_code == 200


def test_prometheus_scrapes_every_target_of_the_stack(stack: Stack):
    deadline = time.monotonic() + 60
    while True:
        active = httpx.get(f"{stack.prometheus}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        down = [(t["scrapeUrl"], t["health"], t["lastError"]) for t in active if t["health"] != "up"]
        if not down or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert down == []
    scraped = {t["labels"]["job"] + ":" + t["labels"].get("target", "") for t in active}
    assert {"loadlab-targets:sync", "loadlab-targets:async", "locust:async", "prometheus:"} <= scraped


def test_make_loadtest_compose_runs_in_the_stack_and_its_data_shows_on_the_dashboards(stack: Stack):
    args = f"--scenario io-sleep --model open --rate 20 --duration 4s --warmup 2s --run-id {RUN_ID}"
    run = stack.make("loadtest-compose", f"ARGS={args}")
    assert "2 Locust workers" in run.stdout
    folder = REPO / "results" / RUN_ID
    assert f"results copied to results/{RUN_ID}" in run.stdout
    summary = json.loads(RunFolder(folder).summary_file.read_text())
    assert summary["status"] == "complete"
    assert summary["config"]["locust_workers"] == 2
    points = summary["points"]
    assert {p["target"] for p in points} == {"sync", "async"}
    for point in points:
        assert point["requests"] > 0
        assert point["failures"] == 0
        # what Locust sent and what the target counted, both scraped by the run's own Prometheus
        assert point["client_requests"] == point["server_requests"] > 0, point
    assert RunFolder(folder).prometheus_dir.is_dir()  # the run's TSDB came back too: `loadlab prometheus` reopens it

    # the stack's Prometheus scraped the run's processes too: every dashboard query has data there
    start = min(p["started_at"] for p in points) - 5
    end = max(p["ended_at"] for p in points) + 5
    time.sleep(2)  # rules are evaluated every second: let the last ones land
    checked, empty = empty_panels(stack.prometheus, RUN_ID, start, end)
    assert checked > 30
    assert empty == []


def test_a_run_goes_through_faults_in_the_stack_and_marks_the_points_they_hit(stack: Stack):
    """A target container crashed, PostgreSQL restarted, the upstream paused, one per point while it is
    measured: the run completes, each point says which fault hit it, the stack is whole again (the
    target by its restart policy), and the run's own target, which stayed up, counted every request."""
    args = ["--scenario", ",".join(CHAOS_SCENARIOS), "--target", "async", "--model", "open", "--rate", "20"]
    args += ["--server", "uvicorn", "--workers", "1", "--duration", "5s", "--warmup", "2s", "--run-id", CHAOS_RUN_ID]
    chaos = Chaos(stack)
    started = time.monotonic()
    # `make loadtest-compose`'s command, without make: its exit status is loadlab's (1: an SLO broken)
    with subprocess.Popen(
        [sys.executable, "-m", "loadlab", "compose", "loadtest", "--suite", "claims", *args],
        cwd=REPO,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as run:
        watchdog = threading.Timer(STEP_TIMEOUT_S, run.kill)
        watchdog.start()
        lines = []
        try:
            for line in run.stdout:
                lines.append(line)
                if found := MEASURING.match(line):
                    chaos.during(found.group(2))
        finally:
            watchdog.cancel()
        code = run.wait()
    stack.timings["chaos run"] = time.monotonic() - started
    for thread in chaos.threads:
        thread.join(RECOVERY_TIMEOUT_S + 30)
    output = "".join(lines)
    assert code in (0, 1), f"loadlab compose loadtest exited {code}:\n{output[-4000:]}\n{stack.logs()}"

    summary = json.loads(RunFolder(REPO / "results" / CHAOS_RUN_ID).summary_file.read_text())
    assert summary["status"] == "complete", output[-3000:]
    points = {p["scenario"]: p for p in summary["points"]}
    assert list(points) == CHAOS_SCENARIOS
    print(f"\nchaos run {CHAOS_RUN_ID}: exit {code}, {stack.timings['chaos run']:.0f} s")
    for scenario, point in points.items():
        fault = chaos.done.get(scenario, {})
        print(
            f"  {scenario}: {fault.get('action', 'no')} {fault.get('service', 'fault')}"
            f" (whole again in {fault.get('recovered_s', float('nan')):.1f} s): requests {point['requests']},"
            f" failures {point['failures']}, client {point['client_requests']}, server {point['server_requests']},"
            f" p99 {point['p99_ms']} ms, faults {point['faults']}"
        )

    for scenario, (action, service) in FAULTS.items():
        fault, point = chaos.done[scenario], points[scenario]
        whole = fault.get("recovered_s") is not None
        assert whole, f"{service} not whole again after {action}: {fault}\n{stack.logs()}"
        assert point["started_at"] <= fault["at"] <= point["ended_at"], (scenario, fault, point["ended_at"])
        seen = {"crash": "die", "restart": "restart", "pause": "pause, unpause"}[action]  # in Docker's events
        assert any(f.startswith(f"{service}: ") and seen in f for f in point["faults"]), point["faults"]
        assert point["untrustworthy"] and any("faults in the stack" in r for r in point["untrustworthy_reasons"])
    assert points["fanout"]["faults"] == [], points["fanout"]
    said = [line for line in lines if "faults in the stack while it ran" in line]  # printed after the copy
    assert [line.split(":")[0] for line in said] == [f"async-{s}" for s in FAULTS], said
    assert not any("faults" in r for r in points["fanout"]["untrustworthy_reasons"])
    # the run's own target stayed up through all of it: it counted every request Locust sent
    for point in points.values():
        assert point["client_requests"] == point["server_requests"] > 0, point
    # and what it calls was untouched but on io-db's point (a crash or a pause elsewhere in the stack)
    for scenario in ("io-sleep", "io-http", "fanout"):
        assert points[scenario]["failures"] == 0, points[scenario]

    # the stack is whole: every service running and healthy (the web UI's Locust master, started again
    # after the run, within a minute), and the crashed target was restarted by its policy
    deadline = time.monotonic() + 60
    while True:
        unwell = [
            (s["Service"], s["State"], s["Health"])
            for s in stack.services()
            if s["State"] != "running" or (s["Service"] != "locust-worker" and s["Health"] != "healthy")
        ]
        if not unwell or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert unwell == []
    assert stack.inspect("target-sync")["RestartCount"] >= 1  # Docker's restarts by policy, not a `start`
    assert stack.engine.docker("ps", "-aq", "--filter", f"name=loadlab-run-{CHAOS_RUN_ID}").stdout.strip() == ""


def test_make_down_stops_the_stack_and_keeps_its_volumes(stack: Stack):
    stack.make("down")
    assert stack.services() == []
    volumes = stack.engine.docker("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert {"loadlab-test_postgres-data", "loadlab-test_prometheus-data"} <= set(volumes)
