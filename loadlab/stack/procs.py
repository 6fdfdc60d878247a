"""Starting and stopping process trees, and their priorities.

Every process loadlab starts leads its own session (process group), so stopping it stops its
whole tree: Gunicorn's workers, Uvicorn's workers and their process-pool children. Each also gets
SIGTERM from the kernel if loadlab itself dies, so no exit path leaves a server behind.
"""

import contextlib
import ctypes
import os
import pwd
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def sigterm_as_ctrl_c() -> None:
    """SIGTERM (a supervisor, `timeout`, `docker stop`) takes the Ctrl-C path: every exit path that
    keeps what was measured and stops every process runs for it too."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    with contextlib.suppress(OSError):  # not glibc: the process group still covers the normal exit paths
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _die_with_parent_at(nice: int) -> Callable[[], None]:
    def child() -> None:
        _die_with_parent()
        set_group_priority(os.getpid(), nice)  # the new group's leader: the group is just this process

    return child


def can_raise_priority() -> bool:
    """Whether this process may give a process it niced back its normal priority (nice 0): root, or
    an RLIMIT_NICE that allows it (most users' is 0, which does not)."""
    return os.geteuid() == 0 or resource.getrlimit(resource.RLIMIT_NICE)[0] >= 20


def set_group_priority(pgid: int, nice: int) -> None:
    """Give every process of the group the niceness `nice` (a child forked later inherits it). With
    the kernel's autogroups, CPU is shared between sessions first, so the session's group is set too."""
    with contextlib.suppress(ProcessLookupError):
        os.setpriority(os.PRIO_PGRP, pgid, nice)
    with contextlib.suppress(OSError):
        Path(f"/proc/{pgid}/autogroup").write_text(str(nice))


def _as_user(user: str) -> Callable[[], None]:
    """Like `_die_with_parent`, but the child also becomes `user` (which needs root).

    The user and its groups are looked up here, in the parent: the child only makes system calls.
    Credentials change before the parent-death signal is set, since changing them clears it.
    """
    pw = pwd.getpwnam(user)  # KeyError: no such user
    uid, gid = pw.pw_uid, pw.pw_gid
    groups = os.getgrouplist(pw.pw_name, gid)

    def child() -> None:
        os.setsid()
        if (os.getuid(), os.geteuid()) != (uid, uid):
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return child


_cpus = threading.local()  # .cpus: the CPUs the processes this thread starts run on (None: any)


@contextlib.contextmanager
def on_cpus(cpus: Collection[int] | None) -> Iterator[None]:
    """Inside the block, every process `start` starts from this thread runs on `cpus` only, and so
    does every process and thread it starts (they inherit the affinity): it is set in the child
    before exec. None: wherever this process may run."""
    previous = getattr(_cpus, "cpus", None)
    _cpus.cpus = frozenset(cpus) if cpus is not None else None
    try:
        yield
    finally:
        _cpus.cpus = previous


def _pinned(preexec: Callable[[], None], cpus: frozenset[int]) -> Callable[[], None]:
    def child() -> None:
        os.sched_setaffinity(0, cpus)
        preexec()

    return child


def start(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    nice: int = 0,
) -> subprocess.Popen:
    """Start `cmd` as the leader of a new process group; its output goes to `log` (appended), or ours.

    With `user`, the process runs as that user (with its groups): that needs root, unless it is us.
    With `nice`, it (and every process it starts) runs at that lower priority until told otherwise.
    Inside `on_cpus(cpus)`, it (and every process it starts) runs on those CPUs only.
    """
    if user is not None and nice:
        raise ValueError("start: give user or nice, not both")
    preexec = _as_user(user) if user is not None else _die_with_parent_at(nice) if nice else _die_with_parent
    if (cpus := getattr(_cpus, "cpus", None)) is not None:
        preexec = _pinned(preexec, cpus)
    out: IO | None = open(log, "ab") if log else None  # noqa: SIM115 - closed once the child has it
    try:
        return subprocess.Popen(
            list(cmd),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if log else None,
            preexec_fn=preexec,
        )
    finally:
        if out is not None:
            out.close()


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> int | None:
    """SIGTERM the process group, SIGKILL whatever is left after `timeout`; return the exit code."""
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)
    # Children may outlive a leader that exited first: give them the rest of the grace time.
    deadline = time.monotonic() + timeout
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    _signal_group(proc.pid, signal.SIGKILL)
    try:
        return proc.wait(5)
    except subprocess.TimeoutExpired:
        return None


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs. Zombies do not count: an orphan that exited stays
    in its group until init reaps it, which some inits (containers, micro-VMs) do only every second
    or so; waiting for them made every multi-worker server take 1.5-2 s to stop instead of 0.3 s."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:  # no procfs: the kernel's answer has to do
        return True
    return any(_running_in_group(pid, pgid) for pid in pids)


def _running_in_group(pid: int, pgid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:  # gone meanwhile
        return False
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")"
    state, _ppid, pgrp = stat[stat.rindex(b")") + 2 :].split(b" ", 3)[:3]
    return int(pgrp) == pgid and state not in (b"Z", b"X")
