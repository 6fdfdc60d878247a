"""Real processes for tests: `loadlab serve` on free ports, loading them, and scraping their /metrics."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from loadlab.stack import ports, procs

LOADLAB = [sys.executable, "-m", "loadlab"]
START_TIMEOUT_S = 60


@dataclass
class Running:
    proc: subprocess.Popen
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not up after {timeout}s:\n{log.read_text(errors='replace')}")


@contextmanager
def running(args: list[str], ready_path: str, log: Path, env: dict[str, str] | None = None) -> Iterator[Running]:
    """Start `loadlab ARGS` (which must include --port), wait until `ready_path` answers, stop it after."""
    port = args[args.index("--port") + 1]
    proc = procs.start([*LOADLAB, *args], env={**os.environ, **(env or {})}, log=log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + ready_path, proc, log)
        yield Running(proc, url, log)
    finally:
        procs.stop(proc)


@contextmanager
def serve(
    tmp_path: Path,
    target: str,
    server: str = "uvicorn",
    workers: int = 1,
    *extra: str,
    env: dict[str, str] | None = None,
) -> Iterator[Running]:
    port = ports.free_port()
    args = ["serve", "--target", target, "--server", server, "--workers", str(workers), "--port", str(port), *extra]
    with running(args, "/metrics", tmp_path / f"serve-{target}-{server}-{port}.log", env) as server_:
        yield server_


@contextmanager
def serve_upstream(tmp_path: Path) -> Iterator[Running]:
    port = ports.free_port()
    with running(["serve-upstream", "--port", str(port)], "/healthz", tmp_path / f"upstream-{port}.log") as up:
        yield up


async def _concurrently(url: str, n: int, status: int) -> float:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        start = time.perf_counter()
        responses = await asyncio.gather(*(client.get(url) for _ in range(n)))
        elapsed = time.perf_counter() - start
    assert [r.status_code for r in responses] == [status] * n
    return elapsed


def concurrently(url: str, n: int, status: int = 200) -> float:
    """Seconds for `n` GETs of `url` fired at once, each answered with `status`."""
    return asyncio.run(_concurrently(url, n, status))


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of one scrape of `url`/metrics."""
    text = httpx.get(url + "/metrics", timeout=10).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: dict[tuple[str, frozenset], float], name: str, /, **labels: str) -> float:
    """Sum of the samples named `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def series(samples: dict[tuple[str, frozenset], float], name: str) -> list[dict[str, str]]:
    return [dict(ls) for (n, ls) in samples if n == name]
