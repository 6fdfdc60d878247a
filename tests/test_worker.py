"""`loadlab worker`'s bad input, on loopback: a master that never answers, and a worker whose loadlab
differs from its master's (a copy of this checkout with another version), refused at connect."""

import os
import shutil
import subprocess
import sys

from loadlab import REPO
from loadlab.stack import ports

SHORT = ["--server", "uvicorn", "--workers", "1", "--warmup", "0", "--duration", "3s"]


def test_a_master_that_never_answers_is_retried_for_a_bounded_time_then_one_line_and_status_1():
    port = ports.free_port()
    result = subprocess.run(
        [sys.executable, "-m", "loadlab", "worker", "--master", f"127.0.0.1:{port}", "--connect-timeout", "3s"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    ports.release([port])
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"loadlab worker: error: no Locust master answers at 127.0.0.1:{port} after 3s of retries"
    ]


def test_a_bad_master_address_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "loadlab", "worker", "--master", "host:port"], capture_output=True, text=True
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result
    assert "expected HOST or HOST:PORT, got 'host:port'" in result.stderr


def test_a_worker_with_another_loadlab_version_is_refused_at_connect_naming_both(tmp_path):
    other = tmp_path / "other"
    for folder in ("loadlab", "locustfiles"):
        shutil.copytree(REPO / folder, other / folder, ignore=shutil.ignore_patterns("__pycache__"))
    init = other / "loadlab" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9.9.9-'))
    options = ["--scenario", "io-sleep", "--target", "async", "--expect-workers", "1", *SHORT]
    run = subprocess.Popen(
        [sys.executable, "-m", "loadlab", "run", *options, "--results", str(tmp_path / "results"), "--run-id", "x"],
        cwd=REPO,
        env={**os.environ, "LOADLAB_WORKERS_TIMEOUT_S": "20"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        worker = subprocess.run(
            [sys.executable, "-m", "loadlab", "worker", "--master", "127.0.0.1", "--connect-timeout", "40s"],
            cwd=other,
            capture_output=True,
            text=True,
            timeout=90,
        )
        _out, run_err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert worker.returncode == 1, worker
    error = worker.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("loadlab worker: error: refused by the master at 127.0.0.1:"), error
    assert "master has loadlab 0.1.0, load code" in error[0] and "this worker loadlab 9.9.9-0.1.0" in error[0], error
    # the run was not fooled: it counted no worker, said who was refused, and stopped
    assert run.returncode == 1 and "Traceback" not in run_err, run_err
    assert "did not see 1 workers" in run_err and "0 arrived; refused" in run_err and "9.9.9-0.1.0" in run_err
