"""Two runs on one machine at once: each takes ports of its own, or refuses at once naming who holds one."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from loadlab.contract.ports import LOCUST_MASTER_PORT
from loadlab.results.folder import RunFolder
from tests.helpers import LOADLAB

SHORT = ["--server", "uvicorn", "--workers", "1", "--warmup", "0", "--duration", "2", "--users", "5"]


def _start(tmp_path: Path, run_id: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*LOADLAB, "run", "--run-id", run_id, "--results", str(tmp_path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.fixture
def nothing_left() -> Iterator[None]:
    """After the test, no process of this test's is left: the session's own (its upstream) may run on."""
    before = _descendants()
    yield
    assert _descendants() <= before


def test_two_runs_started_at_once_both_measure_every_request(tmp_path: Path, nothing_left: None) -> None:
    runs = {
        "first": _start(tmp_path, "first", "--target", "sync", "--scenario", "io-sleep", *SHORT),
        "second": _start(tmp_path, "second", "--target", "async", "--scenario", "io-sleep", *SHORT),
    }
    outputs = {run_id: proc.communicate(timeout=300) for run_id, proc in runs.items()}
    for run_id, proc in runs.items():
        out, err = outputs[run_id]
        assert proc.returncode == 0, f"{run_id}: {err}{out}"
        (point,) = RunFolder(tmp_path / run_id).summary().points
        assert point.requests > 0 and point.failures == 0
        assert point.requests == point.client_requests == point.server_requests, point


def test_two_runs_with_several_locust_processes_each_use_a_master_port_of_their_own(
    tmp_path: Path, nothing_left: None
) -> None:
    # Locust's --processes makes a master and workers that meet on a port: by default 5557 on every interface
    args = ["--scenario", "io-sleep", "--processes", "2", *SHORT]
    runs = {
        run_id: _start(tmp_path, run_id, "--target", target, *args)
        for run_id, target in (("a", "sync"), ("b", "async"))
    }
    outputs = {run_id: proc.communicate(timeout=300) for run_id, proc in runs.items()}
    for run_id, proc in runs.items():
        out, err = outputs[run_id]
        assert proc.returncode == 0, f"{run_id}: {err}{out}"
        (point,) = RunFolder(tmp_path / run_id).summary().points
        assert point.requests == point.client_requests == point.server_requests > 0, point


_HOLD = (
    "import socket, sys, time\ns = socket.socket()\n"
    "for _ in range(300):\n"  # another engineer's test may hold it a moment: wait for it
    "    try:\n        s.bind(('127.0.0.1', int(sys.argv[1]))); break\n"
    "    except OSError:\n        time.sleep(0.1)\n"
    "s.listen(); print('held', flush=True); sys.stdin.read()"
)


def test_a_run_whose_fixed_port_is_taken_refuses_at_once_naming_who_has_it(tmp_path: Path, nothing_left: None) -> None:
    # Locust's master port is fixed when its workers run apart (the compose stack's): they know it.
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(LOCUST_MASTER_PORT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    with holder:
        try:
            assert holder.stdout.readline() == "held\n"
            env = {**os.environ, "LOADLAB_WORKERS_TIMEOUT_S": "5"}  # before the fix: no waiting a minute
            args = ["--target", "sync", "--scenario", "io-sleep", "--locust-workers", "2", *SHORT]
            result = subprocess.run(
                [*LOADLAB, "run", "--run-id", "held", "--results", str(tmp_path), *args],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
            )
        finally:
            holder.stdin.close()
            holder.wait(10)
    assert result.returncode == 2, result.stderr + result.stdout
    assert result.stderr.count("\n") == 1, result.stderr  # one line
    line = result.stderr.strip()
    assert f"port {LOCUST_MASTER_PORT} on 127.0.0.1 (Locust's master port" in line
    assert f"pid {holder.pid} ({sys.executable} -c import socket" in line
    assert not (tmp_path / "held").exists()  # refused before anything was started or written
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
