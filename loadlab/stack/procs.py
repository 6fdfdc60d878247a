"""Starting and stopping process trees, and the ports they listen on.

Every process loadlab starts leads its own session (process group), so stopping it stops its
whole tree: Gunicorn's workers, Uvicorn's workers and their process-pool children. Each also gets
SIGTERM from the kernel if loadlab itself dies, so no exit path leaves a server behind.
"""

import contextlib
import ctypes
import fcntl
import os
import pwd
import resource
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

import psutil

from loadlab.errors import FAILED, USAGE, LoadlabError

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
    """
    if user is not None and nice:
        raise ValueError("start: give user or nice, not both")
    preexec = _as_user(user) if user is not None else _die_with_parent_at(nice) if nice else _die_with_parent
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


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# --- ports reserved across runs ---
#
# A port picked ahead of its server (a run picks every point's ports at its start) is free when it is
# picked, not when its server binds it: another run picking at the same time would get it too. So a
# port is handed out only with its lock: an flock on PORTS_DIR/<port>, held by the process it was
# handed to until it calls `release` or exits (the kernel drops the lock of a process that dies, so no
# lock outlives its run). Every user's runs share the folder, like /tmp itself (mode 1777).

PORTS_DIR = Path(tempfile.gettempdir()) / "loadlab-ports"
FIRST_PORT = 8100
_held: dict[int, int] = {}  # port -> the file descriptor holding its lock
_held_guard = threading.Lock()


def _ports_dir() -> Path:
    try:
        PORTS_DIR.mkdir()
        os.chmod(PORTS_DIR, 0o1777)  # every user's runs lock their ports here; only a file's owner deletes it
    except FileExistsError:
        pass
    st = os.lstat(PORTS_DIR)
    if not stat.S_ISDIR(st.st_mode):
        raise LoadlabError(f"{PORTS_DIR} is not a folder: loadlab locks the ports its runs use there; remove it")
    return PORTS_DIR


def _lock_file(port: int) -> int | None:
    """An open descriptor of `port`'s lock file (created if need be); None when it cannot be opened."""
    path = _ports_dir() / str(port)
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW  # read-only is enough to flock
    for _ in range(2):
        try:
            return os.open(path, flags)
        except FileNotFoundError:
            try:  # O_EXCL: never opens another user's file through O_CREAT (protected_regular refuses that)
                return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o444)
            except FileExistsError:
                continue  # created meanwhile by another run: open that one
            except OSError:
                return None
        except OSError:  # a symlink, or a file we may not read: treat the port as taken
            return None
    return None


def _claim(host: str, port: int) -> bool:
    """Lock `port` for this process if no one else (no other run, no other call here) has it and it is free."""
    with _held_guard:
        if port in _held:
            return False
        fd = _lock_file(port)
        if fd is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        if not port_is_free(host, port):
            os.close(fd)  # closing releases the lock
            return False
        _held[port] = fd
        return True


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count: int, host: str = "127.0.0.1", first: int = FIRST_PORT) -> list[int]:
    """`count` free ports from `first` upwards, each locked for this process until `release` or its
    exit, so another run picking ports at the same time gets others. They stay below the kernel's
    ephemeral range: a port picked ahead of its server must not be taken meanwhile as an outgoing
    connection's source."""
    ports: list[int] = []
    end = _ephemeral_start()
    for port in range(first, end):
        if len(ports) == count:
            break
        if _claim(host, port):
            ports.append(port)
    if len(ports) < count:
        release(ports)
        raise LoadlabError(f"fewer than {count} free ports on {host} from {first} to {end - 1}", FAILED)
    return ports


def free_port(host: str = "127.0.0.1", preferred: int | None = None) -> int:
    """`preferred` when it is free and no other run has it, else the first such port from FIRST_PORT
    on; locked for this process like `free_ports`'."""
    if preferred and _claim(host, preferred):
        return preferred
    return free_ports(1, host)[0]


def release(ports: Iterable[int]) -> None:
    """Hand ports back (their servers have stopped): other runs may take them from now on."""
    with _held_guard:
        for port in ports:
            fd = _held.pop(port, None)
            if fd is not None:
                os.close(fd)


def held() -> set[int]:
    """The ports this process holds: a run hands back those it took once its processes have stopped."""
    with _held_guard:
        return set(_held)


def claim(host: str, port: int, what: str) -> None:
    """Take a port that must be this one (its clients know it), or refuse in one line naming who has it."""
    if not _claim(host, port):
        raise LoadlabError(f"port {port} on {host} ({what}) is taken: {holder(port)}", USAGE)


def holder(port: int) -> str:
    """Who has `port`: the process listening on it, else the run that locked it, as "pid N (command)"."""
    pids = [c.pid for c in _tcp_connections() if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid]
    if not pids:
        pids = _lock_holders(port)
    if not pids:
        return "a process this user cannot see (or one that has just let it go)"
    return ", ".join(_describe(pid) for pid in sorted(set(pids)))


def _tcp_connections() -> list:
    try:
        return psutil.net_connections(kind="tcp")
    except psutil.Error:
        return []


def _lock_holders(port: int) -> list[int]:
    """The processes holding `port`'s lock file, from /proc/locks ("1: FLOCK ADVISORY WRITE pid maj:min:inode ...")."""
    try:
        inode = os.stat(PORTS_DIR / str(port), follow_symlinks=False).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    pids = []
    for line in lines:
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
            pids.append(int(fields[4]))
    return pids


def _describe(pid: int) -> str:
    try:
        process = psutil.Process(pid)
        command = " ".join(process.cmdline()) or process.name()
        user = process.username()
    except psutil.Error:
        return f"pid {pid}"
    return f"pid {pid} ({' '.join(command.split())[:200]}, user {user})"  # one line, whatever the command
