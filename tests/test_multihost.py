"""Workers and targets on other machines, proven on this one: network namespaces created here stand
for hosts. A bridge lives in a namespace of the test's own; one namespace holds the run (its Locust
master and Prometheus, on 10.77.0.1), one the targets (`loadlab serve` on 10.77.0.4, started by the
test, with an upstream on that namespace's loopback and a private PostgreSQL on a Unix socket), two a
`loadlab worker` each. The run is told `--target-host 10.77.0.4`. The namespaces have only the
test's addresses and the route of their own subnet: no traffic leaves them. A run with the open model
and a short sweep must complete with client = server on every point (the server's counts scraped on
the targets' host); a run whose targets are not served yet stops with one line and status 2;
afterwards every namespace is gone and the host's interfaces, addresses, routes and iptables are as
before. Needs root.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from loadlab import REPO
from loadlab.contract.settings import DATABASE_URL_ENV, UPSTREAM_URL_ENV
from loadlab.stack.placement import REMOTE_PORTS

if os.geteuid() != 0 or shutil.which("ip") is None:
    pytest.skip("needs root and iproute2 to create network namespaces", allow_module_level=True)

TAG = secrets.token_hex(2)
BRIDGE, MASTER, TARGETS = f"llbr-{TAG}", f"llm-{TAG}", f"llt-{TAG}"
WORKERS = [f"llw1-{TAG}", f"llw2-{TAG}"]
ADDRESSES = {MASTER: "10.77.0.1", WORKERS[0]: "10.77.0.2", WORKERS[1]: "10.77.0.3", TARGETS: "10.77.0.4"}
LOADLAB = [sys.executable, "-m", "loadlab"]
SERVER = ["--server", "uvicorn", "--workers", "1"]
COMMON = [*SERVER, "--target", "async", "--scenario", "io-sleep"]
APART = ["--expect-workers", "2", "--master-bind", ADDRESSES[MASTER], "--target-host", ADDRESSES[TARGETS]]
UPSTREAM = "http://127.0.0.1:8010"  # the targets' namespace's own loopback
WAIT_HEALTHY = """
import httpx, time
for _ in range(300):
    try:
        httpx.get("{url}").raise_for_status()
        break
    except httpx.HTTPError:
        time.sleep(0.1)
else:
    raise SystemExit(1)
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def host_state() -> dict[str, str]:
    def out(*cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout

    iptables = "\n".join(line for line in out("iptables-save").splitlines() if not line.startswith(("#", ":")))
    return {
        "links": out("ip", "-o", "link"),
        "addresses": out("ip", "-o", "addr"),
        "routes": out("ip", "route") + out("ip", "-6", "route"),
        "iptables": iptables,
        "namespaces": out("ip", "netns", "list"),
    }


def build() -> None:
    for ns in (BRIDGE, MASTER, TARGETS, *WORKERS):
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", BRIDGE, "link", "add", "br0", "type", "bridge")
    ip("-n", BRIDGE, "link", "set", "br0", "up")
    for i, (ns, address) in enumerate(ADDRESSES.items()):
        # both ends made inside the namespaces: the host's own namespace never holds them
        ip("-n", BRIDGE, "link", "add", f"p{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("-n", BRIDGE, "link", "set", f"p{i}", "master", "br0", "up")
        ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")


def tear_down() -> None:
    for ns in (MASTER, TARGETS, *WORKERS, BRIDGE):  # deleting a namespace deletes its links and addresses
        subprocess.run(["ip", "netns", "pids", ns], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True, check=False)


def in_ns(ns: str, cmd: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], cwd=REPO, text=True, **kwargs)


@contextmanager
def targets_served(logs: Path):
    """The async target, served by hand in its own namespace as docs/multi-host.md says, with what it
    calls: an upstream on that namespace's loopback and a private PostgreSQL on a Unix socket (no port)."""
    from loadlab.stack.postgres import PrivatePostgres

    folder = Path(tempfile.mkdtemp(prefix="loadlab-postgres-"))  # under /tmp: the postgres user must reach it
    procs: list[subprocess.Popen] = []
    try:
        with PrivatePostgres(folder, log=logs / "postgres.log") as db, open(logs / "targets.log", "w") as log:
            env = {**os.environ, DATABASE_URL_ENV: db.url, UPSTREAM_URL_ENV: UPSTREAM}
            upstream = [*LOADLAB, "serve-upstream", "--host", "127.0.0.1", "--port", UPSTREAM.rsplit(":", 1)[1]]
            procs.append(in_ns(TARGETS, upstream, stdout=log, stderr=subprocess.STDOUT))
            port, metrics_port = REMOTE_PORTS["async"]
            serve = [*LOADLAB, "serve", "--target", "async", *SERVER, "--host", ADDRESSES[TARGETS]]
            serve += ["--port", str(port), "--metrics-port", str(metrics_port)]
            procs.append(in_ns(TARGETS, serve, stdout=log, stderr=subprocess.STDOUT, env=env))
            wait = WAIT_HEALTHY.format(url=f"http://{ADDRESSES[TARGETS]}:{port}/healthz")
            ready = in_ns(TARGETS, [sys.executable, "-c", wait]).wait(timeout=60)
            assert ready == 0, (logs / "targets.log").read_text()
            yield
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def across_hosts(command: list[str], logs: Path) -> tuple[subprocess.CompletedProcess, list[int]]:
    """`command` in the master's namespace, a `loadlab worker` in each worker's; the workers' statuses
    once they have ended by themselves."""
    workers = []
    for ns in WORKERS:
        cmd = [*LOADLAB, "worker", "--master", ADDRESSES[MASTER], "--idle-timeout", "8s", "--logs", str(logs / ns)]
        workers.append(in_ns(ns, cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    try:
        run = in_ns(MASTER, command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = run.communicate(timeout=240)
        for w in workers:  # they end by themselves once the run is over; their output is read to the end
            w.communicate(timeout=60)
        statuses = [w.returncode for w in workers]
    finally:
        for proc in [*workers, run]:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
    return subprocess.CompletedProcess(command, run.returncode, out, err), statuses


def check_points(points: list[dict]) -> None:
    for p in points:
        assert p["client_requests"] == p["server_requests"] and p["server_requests"], p  # scraped on 10.77.0.4
        assert (p["locust_workers"], p["locust_workers_min"]) == (2, 2), p
        assert sorted(h.split(" ")[-1] for h in p["locust_worker_hosts"]) == ["(10.77.0.2)", "(10.77.0.3)"], p


def test_a_run_and_a_sweep_with_workers_on_two_other_hosts(tmp_path):
    before = host_state()
    results = tmp_path / "results"
    try:
        build()
        started = time.monotonic()
        run_cmd = [*LOADLAB, "run", *COMMON, *APART, "--model", "open", "--rate", "200", "--duration", "6s"]
        run_cmd += ["--warmup", "2s", "--results", str(results)]
        # the targets not served yet: one line, status 2, nothing started
        early = in_ns(MASTER, [*run_cmd, "--run-id", "early"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = early.communicate(timeout=60)
        assert early.returncode == 2 and not out, (out, err)
        assert err.count("\n") == 1 and "loadlab serve --target async --host 10.77.0.4" in err, err
        assert not (results / "early").exists()
        with targets_served(tmp_path):
            run, statuses = across_hosts([*run_cmd, "--run-id", "m"], tmp_path)
            assert run.returncode == 0, run.stderr[-3000:]
            assert statuses == [0, 0]
            point = json.loads((results / "m" / "summary.json").read_text())["points"][0]
            check_points([point])
            assert abs(point["rps"] - 200) <= 0.02 * 200, point  # the schedule held in total across the two hosts
            sweep_cmd = [*LOADLAB, "sweep", *COMMON, *APART, "--start-rate", "100", "--max-steps", "2"]
            sweep_cmd += ["--confirm", "0", "--duration", "3s", "--warmup", "2s", "--results", str(results)]
            sweep, statuses = across_hosts([*sweep_cmd, "--sweep-id", "s"], tmp_path)
        assert sweep.returncode == 0, sweep.stderr[-3000:]
        assert statuses == [0, 0]
        steps = sorted((results / "s").rglob("summary.json"))
        points = [p for f in steps for p in json.loads(f.read_text()).get("points", []) if "client_requests" in p]
        assert points, steps
        check_points(points)
        took = time.monotonic() - started
        print(f"multi-host: {took:.0f}s; run {point['rps']:.1f} of 200 rps; sweep {len(points)} steps {sweep.stdout}")
    finally:
        tear_down()
        after = host_state()
    assert after == before
