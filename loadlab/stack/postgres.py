"""A private PostgreSQL for one run: its server started (after initdb), ready, stopped.

Its cluster's files and configuration, and who may connect (its Unix socket only, in a folder only
the run's user can open; as root the server runs as the `postgres` user), are `postgres_cluster`'s.
The folder belongs to the caller (e.g. a TemporaryDirectory): `stop` leaves it in place.
"""

import contextlib
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil
import psycopg

from loadlab.errors import FAILED, LoadlabError
from loadlab.stack import procs
from loadlab.stack.postgres_cluster import PORT, Cluster

READY_TIMEOUT_S = 30.0
FAST_SHUTDOWN_S = 10.0
POLL_S = 0.1
_ERROR_MARKS = ("error:", "FATAL:", "PANIC:")  # initdb's errors, the server's


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
        self.cluster = Cluster(directory, port, log=log)  # finds the binaries: fails before anything else is started
        self._proc: subprocess.Popen | None = None
        self._ready_with: list[psutil.Process] = []
        self._log_offset = 0  # where the output of the process started last begins in the log

    @property
    def url(self) -> str:
        return self.cluster.url

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The postmaster, leader of its own process group (its children lead their own); None when not started."""
        return self._proc.pid if self._proc is not None else None

    def processes(self) -> list[psutil.Process]:
        return self.cluster.processes()

    def start(self, timeout: float = READY_TIMEOUT_S) -> Self:
        """Create the cluster (unless there is one), start the server and return once it accepts connections."""
        if self._proc is not None:
            raise LoadlabError("PostgreSQL is already started", FAILED)
        deadline = time.monotonic() + timeout
        try:
            self.cluster.prepare()
            if not self.cluster.initialized:
                self._initdb(deadline)
            self._proc = self._spawn(self.cluster.server_command())
            self._wait_ready(deadline, timeout)
            self._ready_with = self.processes()  # the postmaster's auxiliary processes, for stop()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, cmd: list[str]) -> subprocess.Popen:
        cluster = self.cluster
        try:
            self._log_offset = cluster.log_file.stat().st_size
        except OSError:
            self._log_offset = 0
        try:
            return procs.start(cmd, log=cluster.log_file, cwd=cluster.directory, user=cluster.user)
        except (OSError, subprocess.SubprocessError) as exc:
            raise LoadlabError(f"could not start {cmd[0]}: {exc}", FAILED) from None

    def _initdb(self, deadline: float) -> None:
        log = self.cluster.log_file
        proc = self._spawn(self.cluster.initdb_command())
        try:
            code = proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise LoadlabError(f"PostgreSQL's initdb did not finish in time (log: {log})", FAILED) from None
        finally:
            if proc.poll() is None:  # timed out, or interrupted
                procs.stop(proc, timeout=2)
        if code != 0:
            raise LoadlabError(
                f"PostgreSQL's initdb failed with status {code}: {self._last_log_line()} (log: {log})", FAILED
            )

    def _wait_ready(self, deadline: float, timeout: float) -> None:
        log = self.cluster.log_file
        while True:
            code = self._proc.poll()
            if code is not None:
                raise LoadlabError(
                    f"PostgreSQL exited with status {code} before it accepted connections: {self._last_log_line()} "
                    f"(log: {log})",
                    FAILED,
                )
            try:
                with psycopg.connect(self.url, connect_timeout=1):
                    return
            except psycopg.OperationalError:
                pass  # not listening yet, or "the database system is starting up"
            if time.monotonic() > deadline:
                raise LoadlabError(f"PostgreSQL did not accept connections within {timeout:g}s (log: {log})", FAILED)
            time.sleep(POLL_S)

    def _last_log_line(self) -> str:
        """The last error the process we started last logged, else its last line."""
        try:
            with open(self.cluster.log_file, "rb") as log:
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
