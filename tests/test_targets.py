"""The targets under every server kind: routes, concurrency model, metrics contract, failures."""

import os
import signal
import time

import httpx
import psutil
import pytest

from loadlab.contract import metrics as m
from loadlab.contract import routes
from loadlab.contract.scenarios import SCENARIOS
from loadlab.stack.servers import ASGI_SERVERS
from tests.helpers import concurrently, scrape, series, serve, total

pytestmark = pytest.mark.usefixtures("with_upstream")

CONTRACT = {  # metric -> labels every series must carry
    m.HTTP_REQUESTS: {"target", "server", "route", "method", "status"},
    m.HTTP_REQUEST_DURATION + "_bucket": {"target", "server", "route", "method", "le"},
    m.HTTP_IN_FLIGHT: {"target", "server"},
    m.EVENT_LOOP_LAG + "_bucket": {"target", "server", "le"},
    m.THREADPOOL_IN_USE: {"target", "server"},
    m.THREADPOOL_LIMIT: {"target", "server"},
    m.THREADPOOL_WAITING: {"target", "server"},
    m.DB_POOL_IN_USE: {"target", "server"},
    m.DB_POOL_SIZE: {"target", "server"},
    m.PROCESS_CPU: {"target", "server", "pid"},
    m.PROCESS_RSS: {"target", "server", "pid"},
    m.WORKERS: {"target", "server"},
}


@pytest.mark.parametrize("server", ASGI_SERVERS)  # the lab's targets are ASGI apps
@pytest.mark.parametrize("target", ["sync", "async"])
def test_every_server_serves_every_route_and_the_metric_contract(tmp_path, target, server):
    workers = 1 if server == "uvicorn" else 2
    with serve(tmp_path, target, server, workers) as srv:
        for scenario in SCENARIOS.values():
            response = httpx.get(srv.url + scenario.path, timeout=30)
            expected = 200 if target in scenario.targets else 404
            assert response.status_code == expected, (scenario.name, response.text)
        assert httpx.get(srv.url + routes.HEALTHZ, timeout=10).json()["status"] == "ok"

        deadline = time.monotonic() + 10  # the pool gauges are sampled 4 times a second
        while (samples := scrape(srv.url)) and total(samples, m.DB_POOL_SIZE) != 10 * workers:
            assert time.monotonic() < deadline, "db pool gauge never appeared"
            time.sleep(0.1)
        for name, labels in CONTRACT.items():
            found = series(samples, name)
            assert found, f"{name} missing"
            assert all(labels <= set(s) for s in found), (name, found)
            assert all(s["target"] == target and s["server"] == server for s in found), (name, found)
        assert total(samples, m.WORKERS) == workers
        assert total(samples, m.THREADPOOL_LIMIT) == 40 * workers
        assert len(series(samples, m.PROCESS_CPU)) == workers
        for scenario in SCENARIOS.values():
            if target in scenario.targets:  # counted by route template, never by raw path
                assert total(samples, m.HTTP_REQUESTS, route=scenario.route, status="200") == 1, scenario.name
        unserved = sum(target not in s.targets for s in SCENARIOS.values())  # e.g. the anti-patterns on sync
        assert total(samples, m.HTTP_REQUESTS, route="<unmatched>", status="404") == unserved


def test_async_worker_overlaps_100_waits(tmp_path):
    with serve(tmp_path, "async", "uvicorn") as srv:
        concurrently(srv.url + routes.HELLO, 10)  # warm the connection path
        # overlapped: 0.5 s plus the client's cost of opening 100 connections (1.4 s seen under CI's load);
        # serial would be 50 s
        assert concurrently(f"{srv.url}{routes.IO_SLEEP}?ms=500", 100) < 5.0


def test_blocking_sleep_in_async_serialises_each_worker(tmp_path):
    workers, n, wait_s = 2, 40, 0.1
    with serve(tmp_path, "async", "gunicorn-uvicorn", workers) as srv:
        elapsed = concurrently(f"{srv.url}{routes.BLOCKING_SLEEP}?ms=100", n)
        assert elapsed >= n * wait_s / workers
        lag = total(scrape(srv.url), m.EVENT_LOOP_LAG + "_sum")
        assert lag >= 0.5 * n * wait_s, "a blocked loop must show as event-loop lag"


def test_sync_threadpool_limit_bounds_concurrency(tmp_path):
    url_path = f"{routes.IO_SLEEP}?ms=100"
    with serve(tmp_path, "sync", "uvicorn", 1, "--threads", "4") as srv:
        assert concurrently(srv.url + url_path, 100) >= 100 / 4 * 0.1
        assert total(scrape(srv.url), m.THREADPOOL_LIMIT) == 4
    with serve(tmp_path, "sync", "uvicorn") as srv:  # the default 40 tokens: 3 rounds of 300 ms, not 4 tokens' 25
        assert concurrently(f"{srv.url}{routes.IO_SLEEP}?ms=300", 100) < 4.0


def test_fanout_is_sequential_in_sync_and_concurrent_in_async(tmp_path):
    path = f"{routes.IO_FANOUT}?ms=500&n=3"  # in sequence 1.5 s, gathered 0.5 s
    with serve(tmp_path, "sync", "uvicorn") as sync_srv, serve(tmp_path, "async", "uvicorn") as async_srv:
        httpx.get(sync_srv.url + path, timeout=10), httpx.get(async_srv.url + path, timeout=10)  # warm up
        sync_s = httpx.get(sync_srv.url + path, timeout=10).elapsed.total_seconds()
        async_s = httpx.get(async_srv.url + path, timeout=10).elapsed.total_seconds()
    assert sync_s >= 1.5
    assert async_s < 1.2  # 0.7 s of slack for a loaded machine, still short of two calls in sequence


@pytest.mark.parametrize("server", ["gunicorn-uvicorn", "gunicorn-asgi", "uvicorn-workers"])
def test_counts_survive_a_sigkilled_worker(tmp_path, server):
    n = 300
    with serve(tmp_path, "async", server, 2) as srv:
        concurrently(srv.url + routes.HELLO, n)  # concurrent connections land on both workers
        before = {int(s["pid"]) for s in series(scrape(srv.url), m.PROCESS_CPU)}
        assert len(before) == 2
        victim = min(before)
        os.kill(victim, signal.SIGKILL)

        deadline = time.monotonic() + 30
        while True:  # the server respawns the worker; the dead one's live gauges disappear
            samples = scrape(srv.url)
            pids = {int(s["pid"]) for s in series(samples, m.PROCESS_CPU)}
            if len(pids) == 2 and victim not in pids and total(samples, m.WORKERS) == 2:
                break
            assert time.monotonic() < deadline, f"worker not respawned: {pids}"
            time.sleep(0.2)
        for _ in range(5):  # whichever worker answers the scrape
            assert total(scrape(srv.url), m.HTTP_REQUESTS, route=routes.HELLO) == n


def test_ctrl_c_stops_the_server_and_all_its_workers(tmp_path):
    with serve(tmp_path, "async", "gunicorn-uvicorn", 2) as srv:
        httpx.get(srv.url + f"{routes.CPU_OFFLOAD}?n=1000", timeout=30)  # start process-pool children too
        tree = [srv.proc.pid, *(p.pid for p in psutil.Process(srv.proc.pid).children(recursive=True))]
        assert len(tree) >= 4
        srv.proc.send_signal(signal.SIGINT)
        assert srv.proc.wait(30) == 0
        deadline = time.monotonic() + 15
        while alive := [pid for pid in tree if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]:
            assert time.monotonic() < deadline, f"left behind: {alive}"
            time.sleep(0.1)
