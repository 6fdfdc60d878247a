"""The containerized stack, run for real as a user runs it: `make up`, `make loadtest-compose`, `make down`.

A private Docker engine (tests/compose/engine.py) builds the project's images on local stand-ins of
the public base images (tests/compose/standins.py: no registry is reachable here), starts the whole
stack but Grafana (which has no stand-in), loads it through two Locust worker containers, and is
removed afterwards; the host's iptables, ip_forward and interfaces must be as they were.

Slow (a few minutes, most of it building images), and part of `make test`.
"""

import contextlib
import json
import os
import secrets
import shutil
import subprocess
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
STEP_TIMEOUT_S = 900


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

    def logs(self) -> str:
        """The last lines each container wrote, for a failure's message (a container that exited included)."""
        out = subprocess.run(
            ["docker", "compose", "logs", "--no-color", "--tail", "15"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        return f"container logs:\n{out.stdout[-4000:]}{out.stderr[-1000:]}"

    def services(self) -> list[dict]:
        out = subprocess.run(
            ["docker", "compose", "ps", "--all", "--format", "json"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]


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
                shutil.rmtree(REPO / "results" / RUN_ID, ignore_errors=True)
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


def test_make_down_stops_the_stack_and_keeps_its_volumes(stack: Stack):
    stack.make("down")
    assert stack.services() == []
    volumes = stack.engine.docker("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert {"loadlab-test_postgres-data", "loadlab-test_prometheus-data"} <= set(volumes)
