""".ci/run on a fresh machine (no PostgreSQL tools at all) and on one whose cluster is installed but down.

Every command .ci/run calls besides the shell's basics is a stub that logs its call, so the order of
set-up, database start, lint and test is what is checked, not the commands themselves."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from loadlab import REPO

BASICS = ["bash", "env", "dirname", "ls", "seq", "sleep", "awk", "cat", "grep", "head", "id", "touch"]


def _stub(bin_dir: Path, name: str, body: str) -> None:
    (bin_dir / name).write_text(f'#!/bin/bash\necho "{name} $*" >> "$CALLS"\n{body}\n')
    (bin_dir / name).chmod(0o755)


def _run_ci(tmp_path: Path, cluster: bool) -> tuple[int, list[str], str]:
    repo, bin_dir = tmp_path / "repo", tmp_path / "bin"
    (repo / ".ci").mkdir(parents=True)
    bin_dir.mkdir()
    shutil.copy(REPO / ".ci" / "run", repo / ".ci" / "run")
    for tool in BASICS:
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    _stub(bin_dir, "make", "exit 0")
    if cluster:  # a cluster installed on 5432, down until pg_ctlcluster starts it
        state = tmp_path / "up"
        _stub(bin_dir, "pg_isready", f"[ -e {state} ]")
        _stub(bin_dir, "pg_ctlcluster", f"touch {state}")
        _stub(bin_dir, "pg_lsclusters", "echo '15 main 5432 down postgres /var/lib/postgresql/15/main log'")
    calls = tmp_path / "calls"
    calls.touch()
    env = {"PATH": str(bin_dir), "CALLS": str(calls), "HOME": str(tmp_path)}
    done = subprocess.run(
        [str(bin_dir / "bash"), str(repo / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60
    )
    return done.returncode, calls.read_text().splitlines(), done.stdout + done.stderr


def test_a_fresh_machine_without_postgresql_runs_setup_lint_and_test(tmp_path):
    code, calls, out = _run_ci(tmp_path, cluster=False)
    assert code == 0, out
    assert calls == ["make setup", "make lint", "make test"], out


@pytest.mark.skipif(
    not os.listdir("/etc/postgresql") if os.path.isdir("/etc/postgresql") else True,
    reason="no /etc/postgresql: no cluster to start",
)
def test_an_installed_cluster_that_is_down_is_started_after_setup(tmp_path):
    code, calls, out = _run_ci(tmp_path, cluster=True)
    assert code == 0, out
    assert [c for c in calls if c.startswith("make")] == ["make setup", "make lint", "make test"], out
    start = next(i for i, c in enumerate(calls) if c.startswith("pg_ctlcluster"))
    assert calls.index("make setup") < start < calls.index("make lint"), calls
    assert "15 main start" in calls[start], calls
