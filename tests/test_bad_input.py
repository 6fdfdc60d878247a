"""Bad input gets a clear answer: 422 for bad query strings, one line and status 2 from the CLI,
503/502 when a dependency is down while the other routes keep serving."""

import asyncio
import contextlib
import os
import socket
import subprocess
import threading

import httpx
import pytest

from loadlab import REPO
from loadlab.contract import routes
from loadlab.stack import ports
from tests.helpers import LOADLAB, serve


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*LOADLAB, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def assert_one_line_usage_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--server", "nginx"], ["invalid choice", "gunicorn-asgi"]),
        (["--workers", "0"], ["--workers", "at least 1"]),
        (["--workers", "two"], ["whole number"]),
        (["--server", "uvicorn", "--workers", "2"], ["uvicorn-workers"]),
        (["--threads", "0"], ["--threads"]),
    ],
)
def test_serve_rejects_bad_arguments(args, words):
    assert_one_line_usage_error(run_cli("serve", "--target", "async", "--port", str(ports.free_port()), *args), *words)


def test_serve_rejects_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_one_line_usage_error(run_cli("serve", "--target", "sync", "--port", str(port)), str(port), "in use")


def test_serve_rejects_an_unreachable_database():
    dead = f"postgresql://postgres:secret@127.0.0.1:{ports.free_port()}/postgres"
    result = run_cli("serve", "--target", "sync", "--port", str(ports.free_port()), env={"LOADLAB_DATABASE_URL": dead})
    assert_one_line_usage_error(result, "cannot reach PostgreSQL", "LOADLAB_DATABASE_URL")
    assert "secret" not in result.stderr


@pytest.mark.usefixtures("with_upstream")
@pytest.mark.parametrize("target", ["sync", "async"])
def test_malformed_or_out_of_range_parameters_get_422(tmp_path, target):
    with serve(tmp_path, target) as srv:
        for query in (
            "/io/sleep?ms=-1",
            "/io/sleep?ms=abc",
            "/io/sleep?ms=30001",
            "/io/fanout?n=0",
            "/io/fanout?n=21",
            "/cpu?n=0",
            "/io/db?ms=1.5",
        ):
            response = httpx.get(srv.url + query, timeout=10)
            assert response.status_code == 422, query
            assert response.json()["detail"][0]["loc"][-1] in ("ms", "n"), response.text


class TcpRelay:
    """A real TCP relay to PostgreSQL that the test can cut, as if the database went down."""

    def __init__(self, upstream_port: int = 5432) -> None:
        self.port = ports.free_port()
        self.upstream_port = upstream_port
        self.loop = asyncio.new_event_loop()
        self.writers: set[asyncio.StreamWriter] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", self.port), self.loop
        ).result(5)

    async def _relay(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self.writers |= {writer, up_writer}

        async def pipe(src, dst):
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        async def _cut():
            self.server.close()
            for w in self.writers:
                w.transport.abort()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(_cut(), self.loop).result(5)

    def close(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.mark.usefixtures("with_upstream")
@pytest.mark.parametrize("target", ["sync", "async"])
def test_database_down_gives_503_and_the_other_routes_keep_serving(tmp_path, target):
    relay = TcpRelay()
    db_url = f"postgresql://postgres@127.0.0.1:{relay.port}/postgres"
    env = {"LOADLAB_DATABASE_URL": db_url, "LOADLAB_DB_TIMEOUT_S": "2"}
    try:
        with serve(tmp_path, target, env=env) as srv:
            assert httpx.get(srv.url + "/io/db?ms=10", timeout=10).status_code == 200
            relay.cut()
            for _ in range(2):  # the broken pooled connection, then no connection at all
                response = httpx.get(srv.url + "/io/db?ms=10", timeout=30)
                assert response.status_code == 503, response.text
                assert "database unavailable" in response.json()["detail"]
            assert httpx.get(srv.url + "/io/sleep?ms=10", timeout=10).status_code == 200
            health = httpx.get(srv.url + routes.HEALTHZ, timeout=10)
            assert health.status_code == 503
            assert health.json()["down"] == ["database"]
    finally:
        relay.close()


@pytest.mark.parametrize("target", ["sync", "async"])
def test_upstream_down_gives_502_and_health_names_it(tmp_path, target):
    env = {"LOADLAB_UPSTREAM_URL": f"http://127.0.0.1:{ports.free_port()}"}
    with serve(tmp_path, target, env=env) as srv:
        response = httpx.get(srv.url + "/io/http?ms=10", timeout=10)
        assert response.status_code == 502
        assert "upstream unavailable" in response.json()["detail"]
        health = httpx.get(srv.url + routes.HEALTHZ, timeout=10)
        assert (health.status_code, health.json()["down"]) == (503, ["upstream"])
        assert httpx.get(srv.url + routes.HELLO, timeout=10).status_code == 200


def test_compose_without_an_engine_says_so_in_one_line():
    nowhere = f"unix:///tmp/no-docker-{os.getpid()}.sock"
    result = run_cli("compose", "up", env={"DOCKER_HOST": nowhere})
    assert_one_line_usage_error(result, "no Docker engine answers", "make loadtest")


def test_compose_loadtest_checks_its_run_options_before_touching_the_stack():
    result = run_cli("compose", "loadtest", "--duration", "soon", env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert_one_line_usage_error(result, "--duration")


def test_the_stack_refuses_to_start_without_passwords(tmp_path):
    """Compose itself, reading docker-compose.yml with no .env: it names the missing variable."""
    from tests.compose.engine import compose_binary

    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD")}
    result = subprocess.run(
        [str(compose_binary()), "--env-file", str(empty), "-f", "docker-compose.yml", "config", "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr or "set GRAFANA_ADMIN_PASSWORD in .env" in result.stderr
