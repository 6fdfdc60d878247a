"""The private PostgreSQL: real initdb and postgres processes, no mocks."""

import os
import pwd
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from loadlab.errors import USAGE, LoadlabError
from loadlab.stack import ports, procs
from loadlab.stack.postgres import PrivatePostgres, answers
from loadlab.stack.postgres_cluster import INSTALL_HINT, find_server_bin

AS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not AS_ROOT, reason="switching users needs root")


@pytest.fixture
def directory() -> Iterator[Path]:
    """A folder the server can reach: as root it runs as `postgres`, and pytest's tmp_path is private to root."""
    with tempfile.TemporaryDirectory(prefix="loadlab-test-postgres-") as folder:
        yield Path(folder)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _assert_all_gone(pg: PrivatePostgres, pid: int, seen: list[psutil.Process]) -> None:
    assert not answers(pg.url)  # a killed server leaves its socket file, but nothing listens on it
    assert not procs.group_alive(pid)
    assert not [p for p in seen if _alive(p)]
    assert pg.processes() == []


def test_starts_answers_on_its_unix_socket_only_and_stops(directory: Path) -> None:
    with PrivatePostgres(directory, 6543) as pg:
        assert pg.url == f"postgresql://postgres@/postgres?host={directory.resolve()}&port=6543"
        pid = pg.pid
        seen = pg.processes()
        assert pid in {p.pid for p in seen} and len(seen) > 1  # the postmaster and its children
        if AS_ROOT:
            assert {p.username() for p in seen} == {"postgres"}
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT pg_sleep(0.01)").fetchone() == ("",)
            assert conn.execute("SHOW listen_addresses").fetchone() == ("",)
            assert conn.execute("SELECT inet_server_addr()").fetchone() == (None,)  # not TCP
            assert conn.execute("SHOW max_connections").fetchone() == ("200",)
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
        assert answers(pg.url)
    assert not pg.running
    _assert_all_gone(pg, pid, seen)
    assert not answers(pg.url)
    assert pg.stop() is None  # idempotent
    assert (directory / "data" / "PG_VERSION").exists()  # the folder is the caller's
    assert "database system is shut down" in (directory / "postgres.log").read_text()


def test_stop_after_the_server_was_killed(directory: Path) -> None:
    pg = PrivatePostgres(directory).start()
    try:
        pid, seen = pg.pid, pg.processes()
        os.kill(pid, signal.SIGKILL)
        pg.stop()
        _assert_all_gone(pg, pid, seen)
    finally:
        pg.stop()


def test_no_tcp_and_no_other_user_gets_in(directory: Path) -> None:
    # Trust on 127.0.0.1 made every local user a superuser: a run's database must admit only the run's user.
    port = ports.free_port()  # not 5432, where the system PostgreSQL may listen
    with PrivatePostgres(directory, port) as pg:
        cluster = {p.pid for p in pg.processes()}
        listening = [c for c in psutil.net_connections("inet") if c.pid in cluster]
        assert listening == []  # no TCP (nor UDP) socket at all
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2).close()
        assert stat.S_IMODE(pg.cluster.directory.stat().st_mode) == 0o700
        with psycopg.connect(pg.url) as conn:  # the run's user (here, whoever runs the tests) gets in
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
        if AS_ROOT:  # another user, through the socket and through TCP: refused both ways
            for url in (pg.url, f"postgresql://postgres@127.0.0.1:{port}/postgres"):
                code, output = _psql_as("nobody", pg.cluster.bin / "psql", url, directory)
                assert code != 0 and "FATAL" not in output, output  # refused before PostgreSQL saw it
                assert "Permission denied" in output or "Connection refused" in output, output


def _psql_as(user: str, psql: Path, url: str, folder: Path) -> tuple[int, str]:
    log = folder.parent / f"{folder.name}-psql.log"  # outside the private folder: written by us, read here
    try:
        cmd = [str(psql), "-X", "-w", url, "-c", "SELECT 1"]
        code = procs.start(cmd, env={"PATH": "/usr/bin:/bin"}, log=log, user=user).wait(30)
        return code, log.read_text(errors="replace")
    finally:
        log.unlink(missing_ok=True)


def test_a_server_that_exits_at_once_is_reported_with_its_log(directory: Path) -> None:
    (directory / "data").mkdir()
    (directory / "data" / "PG_VERSION").write_text("1\n")  # a cluster of no version this server can run
    with pytest.raises(LoadlabError, match=r"PostgreSQL exited with status \d+ before .*postgres\.log") as info:
        PrivatePostgres(directory).start(timeout=15)
    assert "\n" not in str(info.value)


def test_no_server_binaries(tmp_path: Path) -> None:
    with pytest.raises(LoadlabError, match=INSTALL_HINT) as info:
        find_server_bin(tmp_path / "nowhere")
    assert info.value.status == USAGE
    assert "apt-get install postgresql" in str(info.value)


def test_the_newest_server_is_chosen(tmp_path: Path) -> None:
    for version in ("9.6", "10", "17"):
        (tmp_path / version / "bin").mkdir(parents=True)
        for name in ("initdb", "postgres"):
            (tmp_path / version / "bin" / name).touch()
    (tmp_path / "99" / "bin").mkdir(parents=True)  # no binaries in it
    assert find_server_bin(tmp_path) == tmp_path / "17" / "bin"


@root_only
def test_a_folder_the_postgres_user_cannot_reach(directory: Path) -> None:
    directory.chmod(0o755)
    closed = directory / "closed"
    closed.mkdir(mode=0o700)  # root's, like pytest's tmp_path
    with pytest.raises(LoadlabError, match=f"cannot enter {closed} ") as info:
        PrivatePostgres(closed / "pg").start()
    assert "use a folder under /tmp" in str(info.value)


@root_only
def test_a_process_started_as_another_user_still_dies_with_its_parent() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom loadlab.stack import procs\n"
            "print(procs.start(['sleep', '60'], user='postgres').pid, flush=True)\nsys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with parent:
        child = psutil.Process(int(parent.stdout.readline()))
        try:
            assert child.uids().real == pwd.getpwnam("postgres").pw_uid
            assert child.gids().real == pwd.getpwnam("postgres").pw_gid
            parent.stdin.close()  # the parent exits: the kernel must SIGTERM its child
            assert parent.wait(10) == 0
            deadline = time.monotonic() + 5
            while _alive(child) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not _alive(child)
        finally:
            if _alive(child):
                child.kill()
