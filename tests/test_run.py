"""`loadlab run` end to end: real targets, real Locust (a subprocess), real Prometheus."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from loadlab.stack import procs
from tests.helpers import LOADLAB

SHORT = ["--server", "uvicorn", "--workers", "1", "--warmup", "0"]


def loadlab_run(tmp_path: Path, run_id: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # a relative results folder, as `make loadtest` uses: every process must find its files all the same
    cmd = [*LOADLAB, "run", "--run-id", run_id, "--results", ".", *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**os.environ, **(env or {})}
    )


def summary(tmp_path: Path, run_id: str) -> dict:
    return json.loads((tmp_path / run_id / "summary.json").read_text())


def test_closed_run_counts_agree_on_both_sides_and_results_are_complete(tmp_path):
    result = loadlab_run(
        tmp_path, "closed", "--scenario", "io-sleep,blocking-sleep", "--users", "10", "--duration", "4", *SHORT
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
    blocking = s["points"][2]
    assert blocking["rps"] <= 1.2 * 10  # one worker whose loop is blocked 100 ms per request
    assert s["points"][1]["rps"] > 3 * blocking["rps"]
    run = tmp_path / "closed"
    for path in (
        "config.json",
        "locust/sync-io-sleep_stats.csv",
        "logs/upstream.log",
        "logs/async-io-sleep-target.log",
        "logs/async-io-sleep-locust.log",
        "prometheus/data",
    ):
        assert (run / path).exists(), path
    assert "C1" in result.stdout and "C3 " in result.stdout

    shown = subprocess.run([*LOADLAB, "show", "closed", "--results", str(tmp_path)], capture_output=True, text=True)
    assert shown.returncode == 0
    assert "async-blocking-sleep" not in shown.stdout  # the table shows target and scenario in columns
    assert shown.stdout.count("io-sleep") >= 2 and "blocking-sleep" in shown.stdout


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
    ):
        result = loadlab_run(tmp_path, "bad", *args)
        assert result.returncode == 2, result
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert all(w in result.stderr for w in words), result.stderr
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
            lambda: (tmp_path / "int" / "summary.json").exists() and summary(tmp_path, "int")["points"],
            120,
            "first point never finished",
        )
        _wait_for(lambda: any("locust" in " ".join(p.cmdline()) for p in _descendants(proc.pid)), 60, "no Locust")
        tree = [proc.pid, *(p.pid for p in _descendants(proc.pid))]
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == 130, err
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
    assert [e["point"] for e in s["points"]] == ["sync-io-sleep"]


def test_a_target_that_dies_mid_run_ends_the_run_clearly(tmp_path):
    proc = _start_run(
        tmp_path, "dies", "--scenario", "io-sleep", "--target", "async", "--users", "5", "--duration", "30", *SHORT
    )
    try:
        serve = _wait_for(
            lambda: next(
                (p for p in _descendants(proc.pid) if "serve" in p.cmdline() and "--target" in p.cmdline()), None
            ),
            60,
            "no target",
        )
        _wait_for(lambda: any("locust" in " ".join(p.cmdline()) for p in _descendants(proc.pid)), 60, "no Locust")
        time.sleep(1)
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
    dead_db = f"postgresql://postgres@127.0.0.1:{procs.free_port()}/postgres"
    result = loadlab_run(
        tmp_path, "nodb", "--scenario", "io-db", "--target", "sync", *SHORT, env={"LOADLAB_DATABASE_URL": dead_db}
    )
    assert result.returncode == 1
    assert "cannot reach PostgreSQL" in result.stderr and "Traceback" not in result.stderr
    assert summary(tmp_path, "nodb")["status"] == "failed"


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
