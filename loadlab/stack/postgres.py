"""A private PostgreSQL for one run: initdb, start, wait until it accepts connections, stop.

Its cluster (`data/`) and Unix socket live in one folder that belongs to the caller (e.g. a
TemporaryDirectory): `stop` leaves it in place. It trades durability for speed (fsync off): a run's
scratch database, never anyone's data.

Who may connect: it listens on no TCP address at all, only on its Unix socket, and the folder
holding that socket is made mode 0700: only the user the server runs as (and root) can enter it,
so only they can connect. Inside, every connection is trusted as superuser `postgres` without a
password, so nothing secret has to be handed to the targets or kept out of logs: the URL names the
socket's folder (`postgresql://postgres@/postgres?host=<folder>&port=<port>`; the port only names
the socket file, `.s.PGSQL.<port>`).

PostgreSQL refuses to run as root. As root, the folder is handed to the `postgres` system user and
initdb and the server run as that user, which must therefore be able to reach the folder: one
under /tmp (e.g. `tempfile.mkdtemp()`) is fine, one inside a folder private to root is not. Root's
targets still connect (root enters any folder); any other user is refused at the folder.
"""

import contextlib
import os
import pwd
import signal
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

import psutil
import psycopg

from loadlab.errors import FAILED, USAGE, LoadlabError
from loadlab.stack import procs

SERVER_ROOT = Path("/usr/lib/postgresql")  # Debian's layout: <root>/<version>/bin
INSTALL_HINT = "apt-get install postgresql"
PORT = 5432  # names the socket file only: the server listens on no TCP port, and the folder is its own
SUPERUSER = "postgres"  # the cluster's superuser, and the system user the server runs as under root
MAX_CONNECTIONS = 200

READY_TIMEOUT_S = 30.0
FAST_SHUTDOWN_S = 10.0
POLL_S = 0.1
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes, NUL included
_ERROR_MARKS = ("error:", "FATAL:", "PANIC:")  # initdb's errors, the server's


def find_server_bin(root: Path = SERVER_ROOT) -> Path:
    """The bin folder of the newest PostgreSQL under `root` that has both initdb and postgres."""
    found = []
    for folder in root.glob("*/bin"):
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            version = folder.parent.name
            key = tuple(int(part) for part in version.split(".")) if version.replace(".", "").isdigit() else ()
            found.append((key, version, folder))
    if not found:
        raise LoadlabError(f"PostgreSQL server binaries not found; install them with: {INSTALL_HINT}", USAGE)
    return max(found)[2]


def answers(url: str, timeout: float = 2) -> bool:
    """Whether a PostgreSQL at `url` accepts a connection within `timeout` s (libpq waits at least 2 s)."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout))):
            return True
    except psycopg.Error:
        return False


class PrivatePostgres:
    """A PostgreSQL server whose cluster, Unix socket and (by default) log live in `directory`.

    Use it as a context manager (`with PrivatePostgres(dir) as pg:`) so every exit path stops it.
    """

    def __init__(self, directory: Path, port: int = PORT, *, log: Path | None = None) -> None:
        self.bin = find_server_bin()  # fail before anything else of a run is started
        self.directory = Path(directory).resolve()
        self.port = port
        self.data_dir = self.directory / "data"
        self.log_file = Path(log).resolve() if log is not None else self.directory / "postgres.log"
        self.user = SUPERUSER if os.geteuid() == 0 else None  # the system user the processes run as
        self._proc: subprocess.Popen | None = None
        self._ready_with: list[psutil.Process] = []
        self._log_offset = 0  # where the output of the process started last begins in the log

    @property
    def url(self) -> str:
        """Its Unix socket (the port is given too: libpq's PGPORT must not rename the socket file)."""
        return f"postgresql://{SUPERUSER}@/postgres?host={quote(str(self.directory), safe='/')}&port={self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The postmaster, leader of its own process group (its children lead their own); None when not started."""
        return self._proc.pid if self._proc is not None else None

    def initdb_command(self) -> list[str]:
        return [
            str(self.bin / "initdb"),
            f"--pgdata={self.data_dir}",
            f"--username={SUPERUSER}",
            "--auth-local=trust",  # the socket, in a folder only the server's user (and root) may enter
            "--auth-host=reject",  # and were TCP ever switched on, no address would be let in
            "--no-sync",
            "--encoding=UTF8",
            "--no-locale",  # C collation: the same on every machine, whatever locales are installed
        ]

    def command(self) -> list[str]:
        return [
            str(self.bin / "postgres"),
            "-D",
            str(self.data_dir),
            "-h",
            "",  # listen_addresses: none, no TCP
            "-p",
            str(self.port),
            "-k",
            str(self.directory),
            "-c",
            "unix_socket_permissions=0700",  # the socket too, besides its folder
            "-c",
            "fsync=off",
            "-c",
            f"max_connections={MAX_CONNECTIONS}",
        ]

    def start(self, timeout: float = READY_TIMEOUT_S) -> Self:
        """Create the cluster (unless there is one), start the server and return once it accepts connections."""
        if self._proc is not None:
            raise LoadlabError("PostgreSQL is already started", FAILED)
        deadline = time.monotonic() + timeout
        try:
            socket_path = self.directory / f".s.PGSQL.{self.port}"
            if len(os.fsencode(socket_path)) > _SOCKET_PATH_MAX:
                raise LoadlabError(f"PostgreSQL's socket path is too long ({socket_path}); use a shorter folder")
            self.directory.mkdir(parents=True, exist_ok=True)
            self.directory.chmod(0o700)  # the socket's folder: no other user may enter it, so none can connect
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            if self.user is not None:
                self._hand_over(self.user)
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb(deadline)
            self._proc = self._spawn(self.command())
            self._wait_ready(deadline, timeout)
            self._ready_with = self.processes()  # the postmaster's auxiliary processes, for stop()
        except BaseException:
            self.stop()
            raise
        return self

    def _hand_over(self, user: str) -> None:
        """As root: give `directory` to `user`, after checking that user can reach it at all."""
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise LoadlabError(
                f"no {user!r} system user to run PostgreSQL as (it refuses to run as root); "
                f"install the server with: {INSTALL_HINT}"
            ) from None
        groups = set(os.getgrouplist(pw.pw_name, pw.pw_gid))
        for folder in reversed(self.directory.parents):  # / first; permission bits only, ACLs are not read
            st = folder.stat()
            bit = stat.S_IXUSR if st.st_uid == pw.pw_uid else stat.S_IXGRP if st.st_gid in groups else stat.S_IXOTH
            if not st.st_mode & bit:
                raise LoadlabError(
                    f"PostgreSQL runs as the {user!r} user under root, and it cannot enter {folder} "
                    f"(mode {stat.filemode(st.st_mode)}) to reach {self.directory}; use a folder under /tmp"
                )
        for path in (self.directory, *self.directory.rglob("*")):
            os.chown(path, pw.pw_uid, pw.pw_gid, follow_symlinks=False)

    def _spawn(self, cmd: list[str]) -> subprocess.Popen:
        try:
            self._log_offset = self.log_file.stat().st_size
        except OSError:
            self._log_offset = 0
        try:
            return procs.start(cmd, log=self.log_file, cwd=self.directory, user=self.user)
        except (OSError, subprocess.SubprocessError) as exc:
            raise LoadlabError(f"could not start {cmd[0]}: {exc}", FAILED) from None

    def _initdb(self, deadline: float) -> None:
        proc = self._spawn(self.initdb_command())
        try:
            code = proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise LoadlabError(f"PostgreSQL's initdb did not finish in time (log: {self.log_file})", FAILED) from None
        finally:
            if proc.poll() is None:  # timed out, or interrupted
                procs.stop(proc, timeout=2)
        if code != 0:
            raise LoadlabError(
                f"PostgreSQL's initdb failed with status {code}: {self._last_log_line()} (log: {self.log_file})", FAILED
            )

    def _wait_ready(self, deadline: float, timeout: float) -> None:
        while True:
            code = self._proc.poll()
            if code is not None:
                raise LoadlabError(
                    f"PostgreSQL exited with status {code} before it accepted connections: {self._last_log_line()} "
                    f"(log: {self.log_file})",
                    FAILED,
                )
            try:
                with psycopg.connect(self.url, connect_timeout=1):
                    return
            except psycopg.OperationalError:
                pass  # not listening yet, or "the database system is starting up"
            if time.monotonic() > deadline:
                raise LoadlabError(
                    f"PostgreSQL did not accept connections within {timeout:g}s (log: {self.log_file})", FAILED
                )
            time.sleep(POLL_S)

    def _last_log_line(self) -> str:
        """The last error the process we started last logged, else its last line."""
        try:
            with open(self.log_file, "rb") as log:
                log.seek(self._log_offset)
                lines = log.read().decode(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        errors = [line for line in lines if any(mark in line for mark in _ERROR_MARKS)]
        return (errors or lines or ["empty log"])[-1].strip()[:300]

    def stop(self) -> int | None:
        """Fast shutdown (SIGINT: clients are disconnected, then a checkpoint); SIGTERM/SIGKILL after 10 s.

        Returns the postmaster's exit code; does nothing when not running. The folder is left in place.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        # found now, while they still run in the cluster's folder: an exiting process no longer shows its cwd
        cluster = {p.pid: p for p in [*self._ready_with, *self.processes()]}.values()
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)  # the postmaster only: it shuts its children down itself
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(FAST_SHUTDOWN_S)
        code = procs.stop(proc, timeout=5)
        # Each child of the postmaster leads its own process group, so `procs.stop` does not reach them.
        # They exit when it dies; if one lingers (found by its working directory, the cluster), kill it.
        others = [p for p in self.processes() if p.pid not in {c.pid for c in cluster}]  # started meanwhile
        alive = _until_exited([*cluster, *others], timeout=5)
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()
        _until_exited(alive, timeout=5)
        return code

    def processes(self) -> list[psutil.Process]:
        """Every live process of this cluster, the postmaster and its children: all run in `data_dir`."""
        data_dir = str(self.data_dir)
        found = []
        for process in psutil.process_iter(["cwd"]):
            if process.info["cwd"] == data_dir:
                found.append(process)
        return found

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _until_exited(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until each process has exited (a zombie has: it is only waiting to be reaped by its
    parent, which for the postmaster's orphaned children is not us); return those still running."""
    deadline = time.monotonic() + timeout
    while True:
        running = [p for p in processes if _running(p)]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.05)


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
