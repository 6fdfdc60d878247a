"""`loadlab run` end to end: real targets, real Locust (a subprocess), real Prometheus."""

import json
import math
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from loadlab import queries
from loadlab.load.command import worker_command
from loadlab.results.folder import RunFolder
from loadlab.stack import ports, procs
from loadlab.stack.postgres_cluster import MAX_CONNECTIONS as PRIVATE_MAX_CONNECTIONS
from loadlab.stack.prometheus import Prometheus
from tests.helpers import LOADLAB

SHORT = ["--server", "uvicorn", "--workers", "1", "--warmup", "0"]


def loadlab_run(
    tmp_path: Path, run_id: str, *args: str, env: dict | None = None, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    # a relative results folder, as `make loadtest` uses: every process must find its files all the same
    cmd = [*LOADLAB, "run", "--run-id", run_id, "--results", ".", *args]
    environ = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=environ)


def summary(tmp_path: Path, run_id: str) -> dict:
    return json.loads(RunFolder(tmp_path / run_id).summary_file.read_text())


def test_repeated_points_run_interleaved_each_counted_exactly_and_print_medians_with_intervals(tmp_path):
    result = loadlab_run(
        tmp_path, "rep", "--scenario", "io-sleep", "--users", "5", "--duration", "2s", "--repeat", "2", *SHORT
    )
    assert result.returncode == 0, result.stderr + result.stdout
    s = summary(tmp_path, "rep")
    # interleaved: both targets once, then both again; each repetition its own series, counted exactly
    assert [e["point"] for e in s["points"]] == [f"{t}-io-sleep-r{n}" for n in (1, 2) for t in ("sync", "async")]
    for e in s["points"]:
        assert e["requests"] > 0 and e["requests"] == e["client_requests"] == e["server_requests"], e
    assert [(g["point"], g["repetitions"]) for g in s["repeated"]] == [("sync-io-sleep", 2), ("async-io-sleep", 2)]
    assert "Repeated points: median [lowest–highest]" in result.stdout
    assert "50 % confidence at 2 repetitions" in result.stdout


def test_closed_run_counts_agree_on_both_sides_and_results_are_complete(tmp_path):
    result = loadlab_run(
        tmp_path, "closed", "--scenario", "io-sleep,blocking-sleep", "--users", "10", "--duration", "4s", *SHORT
    )
    assert result.returncode == 0, result.stderr + result.stdout
    s = summary(tmp_path, "closed")
    assert s["status"] == "complete"
    # blocking-sleep exists on the async target only: 3 points, not 4
    assert [e["point"] for e in s["points"]] == ["sync-io-sleep", "async-io-sleep", "async-blocking-sleep"]
    for e in s["points"]:
        # with no warm-up, Locust's CSV, the client counter and the server counter in Prometheus agree exactly
        assert e["requests"] > 0
        assert e["requests"] == e["client_requests"] == e["server_requests"], e
        assert e["failures"] == 0
        assert e["p50_ms"] >= 100  # every request waits 100 ms
        # what Prometheus saw, beside Locust's figures
        assert e["server_cpu_ms_per_request"] > 0
        assert 0 < e["generator_cpu_max"] < 100
        assert e["loop_lag_p99_ms"] is not None
        assert not e["untrustworthy"] and not e["partial"]
        assert e["timing"]["load_s"] >= 4 and e["timing"]["drain_s"] < 10
    blocking = s["points"][2]
    assert blocking["rps"] <= 1.2 * 10  # one worker whose loop is blocked 100 ms per request
    assert s["points"][1]["rps"] > 3 * blocking["rps"]
    # a loop blocked 100 ms per request lags by about that; one that awaits its sleeps hardly at all
    assert blocking["loop_lag_p99_ms"] >= 50 > s["points"][1]["loop_lag_p99_ms"]
    assert RunFolder(tmp_path / "closed").log("run").read_text().count("set-up") == 3
    run = RunFolder(tmp_path / "closed")
    for path in (
        run.config_file,
        Path(f"{run.locust_prefix('sync-io-sleep')}_stats.csv"),
        run.log("upstream"),
        run.log("async-io-sleep-target"),
        run.log("async-io-sleep-locust"),
        run.prometheus_dir / "data",
    ):
        assert path.exists(), path
    assert "C1" in result.stdout and "C3 " in result.stdout

    assert_every_query_answers(run.prometheus_dir, s["points"])

    shown = subprocess.run([*LOADLAB, "show", "closed", "--results", str(tmp_path)], capture_output=True, text=True)
    assert shown.returncode == 0
    assert "async-blocking-sleep" not in shown.stdout  # the table shows target and scenario in columns
    assert shown.stdout.count("io-sleep") >= 2 and "blocking-sleep" in shown.stdout


def assert_every_query_answers(prometheus_dir: Path, points: list[dict]) -> None:
    """Each PromQL builder of loadlab.queries returns data from the run's own TSDB, reopened."""
    with Prometheus(prometheus_dir, port=ports.free_port(), scrape=False) as prom:
        for e in points:
            sel = queries.selector(run_id="closed", target=e["target"], scenario=e["scenario"])
            whole, at = f"{math.ceil(e['ended_at'] - e['started_at']) + 15}s", e["ended_at"] + 5
            built = {
                "server_requests_total": queries.server_requests_total(sel, whole, e["route"]),
                "client_requests_total": queries.client_requests_total(sel, whole, e["route"]),
                "server_cpu_seconds": queries.server_cpu_seconds(sel, whole),
                "server_requests_scraped": queries.server_requests_scraped(sel, whole, e["route"]),
                "generator_cpu_max": queries.generator_cpu_max(sel, whole),
                "server_latency_quantile": queries.server_latency_quantile(0.99, sel, whole, by=("route",)),
                "client_latency_quantile": queries.client_latency_quantile(0.99, sel, whole, by=("name",)),
                "loop_lag_quantile": queries.loop_lag_quantile(0.99, sel, whole),
            }
            if e["scenario"] == "blocking-sleep":
                # its blocked event loop answers /metrics late: scrapes time out under load, and the
                # route's histogram, born with its first request, may have one sample in the window
                # (the other points check this builder)
                del built["server_latency_quantile"]
            for name, promql in built.items():
                values = [s.value for s in prom.query(promql, at) if not math.isnan(s.value)]
                assert values, f"{name} returned no data for {e['point']}: {promql}"
            assert prom.scalar(built["server_requests_total"], at) == e["server_requests"]


def test_open_model_holds_its_rate_and_schedule_latency_exposes_a_stall(tmp_path):
    # A blocked loop serves 10 requests/s; the open model keeps sending 20/s, and with at most 2 in
    # flight most requests go out late: latency from the schedule shows the stall that latency
    # from sending hides.
    rate, seconds = 20, 5
    result = loadlab_run(
        tmp_path,
        "open",
        "--scenario",
        "blocking-sleep",
        "--model",
        "open",
        "--rate",
        str(rate),
        "--max-inflight",
        "2",
        "--duration",
        str(seconds),
        *SHORT,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    (e,) = summary(tmp_path, "open")["points"]
    assert e["requests"] == e["server_requests"]
    assert e["late"] > 0
    assert e["untrustworthy"] and "not sent on time" in e["untrustworthy_reasons"][0]
    assert e["p99_scheduled_ms"] > 2 * e["p99_ms"]
    assert "untrustworthy" in result.stdout

    result = loadlab_run(
        tmp_path,
        "open-fast",
        "--scenario",
        "io-sleep",
        "--target",
        "async",
        "--model",
        "open",
        "--rate",
        str(rate),
        "--duration",
        str(seconds),
        *SHORT,
    )
    assert result.returncode == 0, result.stderr
    (e,) = summary(tmp_path, "open-fast")["points"]
    assert 0.7 * rate * seconds <= e["requests"] <= 1.3 * rate * seconds
    assert e["late"] <= 0.05 * e["requests"] and not e["untrustworthy"]


def test_a_broken_slo_fails_the_run_and_names_it(tmp_path):
    slo = tmp_path / "slo.toml"
    slo.write_text("[scenario.io-sleep]\np99_ms = 50\n")
    result = loadlab_run(
        tmp_path,
        "slo",
        "--scenario",
        "io-sleep",
        "--target",
        "async",
        "--users",
        "5",
        "--duration",
        "2",
        "--slo",
        str(slo),
        *SHORT,
    )
    assert result.returncode == 1
    assert "SLOs broken" in result.stdout and "async-io-sleep: p99_ms" in result.stdout


def test_bad_input_is_one_line_and_status_2(tmp_path):
    for args, words in (
        (["--scenario", "nope"], ["unknown scenario", "io-sleep"]),
        (["--scenario", "io-sleep", "--server", "x"], ["invalid choice", "gunicorn-asgi"]),
        (["--scenario", "io-sleep", "--model", "closed-ish"], ["invalid choice", "open"]),
        (["--scenario", "io-sleep", "--duration", "2x"], ["--duration", "30s, 2m or 1h30m", "'2x'"]),
        (["--scenario", "io-sleep", "--slo", "nope.toml"], ["cannot read SLO file", "nope.toml"]),
        (["--scenario", "io-sleep", "--server", "uvicorn", "--workers", "3"], ["--server uvicorn runs one process"]),
    ):
        result = loadlab_run(tmp_path, "bad", *args)
        assert result.returncode == 2, result
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert all(w in result.stderr for w in words), result.stderr
        assert not (tmp_path / "bad").exists()  # refused before anything started
    venv_bin = str(Path(LOADLAB[0]).parent)
    result = loadlab_run(tmp_path, "noprom", "--scenario", "io-sleep", env={"PATH": venv_bin})
    assert result.returncode == 2
    assert "apt-get install prometheus" in result.stderr and "Traceback" not in result.stderr


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return value


def _start_run(tmp_path: Path, run_id: str, *args: str) -> subprocess.Popen:
    cmd = [*LOADLAB, "run", "--run-id", run_id, "--results", str(tmp_path), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_ctrl_c_mid_run_leaves_no_process_and_a_readable_partial_result(tmp_path):
    proc = _start_run(tmp_path, "int", "--scenario", "io-sleep", "--users", "5", "--duration", "20", *SHORT)
    try:
        # wait until the first point is done and the second one's Locust is running
        _wait_for(
            lambda: RunFolder(tmp_path / "int").summary_file.exists() and summary(tmp_path, "int")["points"],
            120,
            "first point never finished",
        )
        # the second point has been loading for a while: its Locust's gate opened 4 s ago
        gate = RunFolder(tmp_path / "int").start_file("async-io-sleep")
        _wait_for(gate.exists, 60, "the second point never started")
        time.sleep(max(0.0, gate.stat().st_mtime + 4 - time.time()))
        tree = [proc.pid, *(p.pid for p in _descendants(proc.pid))]
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 130, f"{err}\n--- stdout:\n{out[-3000:]}"
        assert "interrupted" in err and "Traceback" not in err
        _wait_for(
            lambda: not [p for p in tree if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"],
            30,
            "processes left behind",
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    s = summary(tmp_path, "int")
    assert s["status"] == "interrupted"
    # the point in progress is kept, summarized as far as it got
    assert [e["point"] for e in s["points"]] == ["sync-io-sleep", "async-io-sleep"]
    cut = s["points"][1]
    assert cut["partial"] and not s["points"][0]["partial"]
    # Ctrl-C lands while each of the 5 users may have a request in flight: Locust may count one that the
    # server, stopping, never finished (seen once: 196 and 195); more than one per user would be a loss
    assert cut["requests"] > 0 and 0 <= cut["client_requests"] - cut["server_requests"] <= 5, cut
    assert cut["timing"]["load_s"] < 20


def test_a_target_that_dies_mid_run_ends_the_run_clearly(tmp_path):
    proc = _start_run(
        tmp_path, "dies", "--scenario", "io-sleep", "--target", "async", "--users", "5", "--duration", "30", *SHORT
    )
    try:
        serve = _wait_for(
            lambda: next((p for p in _descendants(proc.pid) if "targets.async_app:app" in p.cmdline()), None),
            60,
            "no target",
        )
        locust = _wait_for(
            lambda: next((p for p in _descendants(proc.pid) if "locust" in p.cmdline()), None), 60, "no Locust"
        )
        # Locust starts with its target and waits for it: kill the target once load is surely on
        time.sleep(max(0.0, locust.create_time() + 10 - time.time()))
        for p in [serve, *serve.children(recursive=True)]:
            p.kill()
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, err
    assert "target died mid-run" in err and "Traceback" not in err
    assert summary(tmp_path, "dies")["status"] == "failed"


def test_a_target_that_cannot_start_ends_the_run_with_its_reason(tmp_path):
    dead_db = f"postgresql://postgres@127.0.0.1:{ports.free_port()}/postgres"
    result = loadlab_run(
        tmp_path, "nodb", "--scenario", "io-db", "--target", "sync", *SHORT, env={"LOADLAB_DATABASE_URL": dead_db}
    )
    assert result.returncode == 1
    assert "cannot reach PostgreSQL" in result.stderr and "Traceback" not in result.stderr
    assert summary(tmp_path, "nodb")["status"] == "failed"


def _private_postgres_left() -> list[str]:
    return [
        " ".join(p.info["cmdline"])
        for p in psutil.process_iter(["cmdline"])
        if "loadlab-postgres-" in " ".join(p.info["cmdline"] or [])
    ]


def test_a_run_starts_its_own_postgresql_when_none_answers_and_removes_it(tmp_path):
    # LOADLAB_DATABASE_URL unset and the default pointed (through libpq's PGPORT) at a port where nothing listens
    result = loadlab_run(
        tmp_path,
        "pg",
        "--scenario",
        "io-db",
        "--target",
        "async",
        "--users",
        "5",
        "--duration",
        "2",
        *SHORT,
        env={"PGPORT": str(ports.free_port())},
        unset=("LOADLAB_DATABASE_URL",),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "started a private one for this run, on a Unix socket only" in result.stdout  # no TCP port
    (e,) = summary(tmp_path, "pg")["points"]
    assert e["requests"] > 0 and e["failures"] == 0  # every pg_sleep went to the private server
    # the queueing model's max_connections is the private server's own, as it said
    assert summary(tmp_path, "pg")["database_max_connections"] == PRIVATE_MAX_CONNECTIONS
    assert RunFolder(tmp_path / "pg").log("postgres").stat().st_size > 0
    assert not _private_postgres_left()
    assert not list(Path(tempfile.gettempdir()).glob("loadlab-postgres-*"))


def test_ramp_reports_throughput_at_each_step(tmp_path):
    result = loadlab_run(
        tmp_path,
        "ramp",
        "--scenario",
        "io-sleep",
        "--target",
        "async",
        "--model",
        "ramp",
        "--users",
        "6",
        "--step-users",
        "2",
        "--step-seconds",
        "3",
        "--duration",
        "9",
        *SHORT,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    (e,) = summary(tmp_path, "ramp")["points"]
    steps = e["steps"]
    assert [s["users"] for s in steps] == [2, 4, 6]
    # each user waits 100 ms per request: throughput follows the users while the target keeps up
    assert steps[0]["rps"] < steps[1]["rps"] < steps[2]["rps"]
    assert steps[2]["rps"] >= 2 * steps[0]["rps"]
    assert e["requests"] == e["server_requests"]
    assert "ramp steps: 2 users" in result.stdout


def _keep_locust_workers(count: int, stop: threading.Event, logs: Path) -> list[threading.Thread]:
    """`count` Locust workers started apart from the master, each restarted when its master quits
    (as the compose stack's restart policy does), with their own metrics directories."""

    def keep(i: int) -> None:
        while not stop.is_set():
            with tempfile.TemporaryDirectory() as metrics_dir:
                env = {**os.environ, "LOADLAB_FORWARD_METRICS": "1", "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
                proc = procs.start(worker_command("127.0.0.1"), env=env, log=logs / f"worker-{i}.log")
                while proc.poll() is None and not stop.is_set():
                    time.sleep(0.1)
                procs.stop(proc)

    threads = [threading.Thread(target=keep, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    return threads


def test_locust_workers_started_apart_forward_their_counts_to_the_master(tmp_path):
    """The compose stack's mode: the run's Locust is the master of workers it did not start."""
    stop = threading.Event()
    threads = _keep_locust_workers(2, stop, tmp_path)
    try:
        result = loadlab_run(
            tmp_path,
            "apart",
            "--scenario",
            "io-sleep,blocking-sleep",
            "--target",
            "async",
            "--users",
            "10",
            "--duration",
            "4s",
            "--locust-workers",
            "2",
            *SHORT,
        )
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert result.returncode == 0, result.stderr + result.stdout
    points = summary(tmp_path, "apart")["points"]
    assert [p["point"] for p in points] == ["async-io-sleep", "async-blocking-sleep"]
    for p in points:
        # both workers' requests, the blocking point's slow last ones included, reach the master's counters
        assert p["requests"] > 0
        assert p["requests"] == p["client_requests"] == p["server_requests"], p
        assert 0 < p["generator_cpu_max"] < 100
        assert (p["locust_workers"], p["locust_workers_min"]) == (2, 2)
        assert not p["untrustworthy"]
    assert "async-io-sleep: 2 Locust workers started apart, at least 2 connected throughout" in result.stdout


LOST = ["--target", "async", "--users", "10", "--duration", "8s", "--locust-workers", "2", *SHORT]


def test_a_locust_worker_that_dies_leaves_the_master_running_and_the_run_says_so(tmp_path):
    """One of two workers is killed while it loads: the master carries on with the other, the run
    completes, and its result names the loss (and is not trusted: part of the load went away)."""
    stop = threading.Event()
    threads = _keep_locust_workers(1, stop, tmp_path)
    with tempfile.TemporaryDirectory() as metrics_dir:
        env = {**os.environ, "LOADLAB_FORWARD_METRICS": "1", "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        doomed = procs.start(worker_command("127.0.0.1"), env=env, log=tmp_path / "doomed.log")
        run = procs.start(
            [*LOADLAB, "run", "--results", str(tmp_path), "--run-id", "lost", "--scenario", "io-sleep", *LOST],
            log=tmp_path / "run.log",
        )
        try:
            deadline = time.monotonic() + 120
            while "measuring" not in (tmp_path / "run.log").read_text() and time.monotonic() < deadline:
                assert run.poll() is None, (tmp_path / "run.log").read_text()
                time.sleep(0.2)
            time.sleep(1)
            os.killpg(doomed.pid, signal.SIGKILL)  # gone without a word to the master
            code = run.wait(180)
        finally:
            procs.stop(run)
            procs.stop(doomed)
            stop.set()
            for t in threads:
                t.join(timeout=30)
    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    (p,) = summary(tmp_path, "lost")["points"]
    assert p["requests"] > 0
    assert (p["locust_workers"], p["locust_workers_min"]) == (2, 1), p
    assert "Locust workers: 1 of 2 stayed connected" in " ".join(p["untrustworthy_reasons"])
    assert "2 Locust workers started apart, at least 1 connected throughout" in output


def test_a_run_whose_locust_workers_never_come_says_so(tmp_path):
    result = loadlab_run(
        tmp_path,
        "noworkers",
        "--scenario",
        "io-sleep",
        "--target",
        "async",
        "--locust-workers",
        "2",
        *SHORT,
        env={"LOADLAB_WORKERS_TIMEOUT_S": "5"},
    )
    assert result.returncode == 1
    assert "did not see 2 workers" in result.stderr and "Traceback" not in result.stderr


def _autogroup_nice(pid: int) -> int:
    """The niceness of the process's session among sessions ("/autogroup-25 nice 19"); 0 without autogroups."""
    try:
        return int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return 0


def test_the_next_point_starts_early_at_the_lowest_priority_and_runs_at_normal_priority(tmp_path):
    # the second point's target and Locust start during the first point, at nice 19 (CPU the first
    # point leaves idle), and have nice 0 by the time the second point's load begins; so does their
    # session's autogroup, where the kernel shares CPU between sessions first
    if not procs.can_raise_priority():
        pytest.skip(
            "this process may not raise a priority again (not root, RLIMIT_NICE below 20): "
            "a run starts the next point's processes between points, not early at nice 19"
        )
    seconds = 5
    proc = _start_run(tmp_path, "nice", "--scenario", "io-sleep", "--users", "5", "--duration", str(seconds), *SHORT)
    seen: list[tuple[float, int]] = []  # (time, niceness of the second point's target or Locust)
    try:
        while proc.poll() is None:
            for p in _descendants(proc.pid):
                try:
                    command = " ".join(p.cmdline())
                    if "targets.async_app:app" in command or ("locust" in command and "async-io-sleep" in command):
                        seen.append((time.time(), p.nice()))
                        seen.append((time.time(), _autogroup_nice(p.pid)))
                except psutil.NoSuchProcess:
                    pass
            time.sleep(0.1)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    first, second = (
        RunFolder(tmp_path / "nice").start_file(f"{t}-io-sleep").stat().st_mtime for t in ("sync", "async")
    )
    # the first point loads from its gate on, for `seconds` (no warm-up)
    assert {nice for t, nice in seen if first < t < first + seconds - 1} == {19}, seen
    assert {nice for t, nice in seen if t > second} == {0}, seen
    assert [p["client_requests"] == p["server_requests"] > 0 for p in summary(tmp_path, "nice")["points"]] == [True] * 2
