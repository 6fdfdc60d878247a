"""The ports a run's processes listen on: free ones, locked per run, and who holds a taken one.

A port picked ahead of its server (a run picks every point's ports at its start) is free when it is
picked, not when its server binds it: another run picking at the same time would get it too. So a
port is handed out only with its lock: an flock on PORTS_DIR/<port>, held by the process it was
handed to until it calls `release` or exits (the kernel drops the lock of a process that dies, so no
lock outlives its run). Every user's runs share the folder, like /tmp itself (mode 1777).
"""

import fcntl
import os
import socket
import stat
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import psutil

from loadlab.errors import FAILED, USAGE, LoadlabError

PORTS_DIR = Path(tempfile.gettempdir()) / "loadlab-ports"
FIRST_PORT = 8100
_held: dict[int, int] = {}  # port -> the file descriptor holding its lock
_held_guard = threading.Lock()


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


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
