"""`loadlab run --pin`: every process a run starts runs on its side's CPUs, and config.json says so."""

import contextlib
import json
import os
import pwd
import subprocess
import time

import psutil
import pytest

from loadlab.stack import pinning, procs
from tests.helpers import LOADLAB

CPUS = os.sched_getaffinity(0)
needs_two = pytest.mark.skipif(len(CPUS) < 2, reason="pinning needs 2 CPUs")


def kind(command: str) -> str:
    """Which of a run's processes a command line is."""
    if os.path.basename(command.split()[0]) == "prometheus":
        return "prometheus/reopen" if "prometheus/reopen" in command else "prometheus"
    for name in ("locust", "upstream", "targets.", "multiprocessing"):  # the last: Uvicorn's workers
        if name in command:
            return name
    return command


def affinities(pid: int) -> set[frozenset[int]]:
    """The CPU affinity of every thread of `pid` (a thread may have its own)."""
    found = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # gone meanwhile
            found.add(frozenset(os.sched_getaffinity(int(tid))))
    return found


def watch(run: subprocess.Popen) -> dict[int, tuple[str, set[frozenset[int]]]]:
    """Every process the run started, seen while it ran: pid -> (command line, thread affinities)."""
    seen: dict[int, tuple[str, set[frozenset[int]]]] = {}
    parent = psutil.Process(run.pid)
    # a child still showing the run's own command line is forked and not yet exec'd: its affinity is
    # set just before exec (procs.on_cpus), so it is seen once it runs its own program
    own = " ".join(parent.cmdline())
    while run.poll() is None:
        try:
            children = parent.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        for child in children:
            try:
                cmdline = " ".join(child.cmdline())
                found = affinities(child.pid)
            except (psutil.Error, OSError):
                continue
            if cmdline and cmdline != own and found:
                command, before = seen.get(child.pid, (cmdline, set()))
                seen[child.pid] = (command, before | found)
        time.sleep(0.2)
    return seen


@needs_two
def test_pin_on_puts_the_target_and_the_generator_on_separate_cpus_and_config_json_records_it(tmp_path):
    cmd = [
        *LOADLAB,
        "run",
        "--scenario",
        "io-sleep",
        "--target",
        "async",
        "--server",
        "uvicorn-workers",
        "--workers",
        "2",
        "--users",
        "20",
        "--duration",
        "3",
        "--warmup",
        "2",
        "--pin",
        "on",
        "--run-id",
        "pinned",
        "--results",
        str(tmp_path),
    ]
    run = procs.start(cmd, log=tmp_path / "out.log")
    try:
        seen = watch(run)
        status = run.wait(timeout=120)
    finally:
        procs.stop(run)
    assert status == 0, (tmp_path / "out.log").read_text()[-3000:]
    expected = pinning.split(CPUS)
    target, generator = frozenset(expected["target"]), frozenset(expected["generator"])
    assert target and generator and not target & generator
    kinds: dict[str, int] = {}
    for pid, (command, found) in seen.items():
        what = kind(command)
        if what == "prometheus/reopen":
            continue  # the report's Prometheus, reopened on the stored data once the run has ended
        # the generator's side: Locust and Prometheus, which measures; everything else the target's
        side = generator if what in ("locust", "prometheus") else target
        assert found == {side}, f"pid {pid} ({command[:120]}) runs on {found}, not {set(side)}"
        kinds[what] = kinds.get(what, 0) + 1
    # Locust, Prometheus, the upstream, the target's server and its 2 workers (and their resource tracker)
    assert kinds.keys() == {"locust", "prometheus", "upstream", "targets.", "multiprocessing"}, seen
    assert kinds["prometheus"] == 1 and kinds["multiprocessing"] >= 2, seen
    config = json.loads((tmp_path / "pinned" / "config.json").read_text())
    assert config["pin"] == "on"
    assert config["cpus"] == {"target": sorted(target), "generator": sorted(generator)}
    assert "CPUs: target on CPU" in (tmp_path / "pinned" / "logs" / "run.log").read_text()


def test_pin_on_with_one_cpu_refuses_in_one_line_before_anything_starts(tmp_path):
    one = min(CPUS)
    result = subprocess.run(
        [*LOADLAB, "run", "--scenario", "io-sleep", "--pin", "on", "--run-id", "one", "--results", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.sched_setaffinity(0, {one}),
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"loadlab run: error: --pin on needs 2 CPUs or more to keep generator and target apart; loadlab may run on 1 "
        f"(CPU {one}): use --pin off"
    ]
    assert not (tmp_path / "one").exists()


def test_an_unknown_pin_is_a_usage_error():
    cmd = [*LOADLAB, "run", "--scenario", "io-sleep", "--pin", "maybe"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--pin: invalid choice: 'maybe'" in result.stderr
    assert "Traceback" not in result.stderr


@needs_two
@pytest.mark.parametrize("how", ["plain", "nice", "user"])
def test_every_way_of_starting_a_process_takes_the_cpus_and_its_children_inherit_them(how):
    cpu = max(CPUS)
    options = {"plain": {}, "nice": {"nice": 5}, "user": {"user": pwd.getpwuid(os.getuid()).pw_name}}[how]
    with procs.on_cpus({cpu}):
        proc = procs.start(["sh", "-c", "sleep 30 & sleep 30"], **options)
    unpinned = procs.start(["sleep", "30"])
    try:
        deadline = time.monotonic() + 5
        while len(psutil.Process(proc.pid).children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        tree = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children())]
        assert len(tree) == 3
        assert all(os.sched_getaffinity(pid) == {cpu} for pid in tree)
        assert os.sched_getaffinity(unpinned.pid) == CPUS  # outside the block: wherever we may run
    finally:
        procs.stop(proc)
        procs.stop(unpinned)
