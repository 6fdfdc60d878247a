"""FastAPI's second threadpool trip on the real targets: each scenario borrows the threads the
catalogue says, and under a saturated limiter the second trip waits for the whole backlog.

A `def` route with a response model (io-sleep: `-> dict[str, int]`) borrows a thread for its handler,
then again for FastAPI's validation of the response; io-sleep-1trip returns a JSONResponse and
borrows once (targets/sync_app.py). With 1 uvicorn worker and 4 threads, a burst of requests fills
the limiter's queue with first trips; each second trip joins behind all of them, so the two-trip
route answers every request at about the time the last one's first trip ends, while the one-trip
route answers in waves from the first 100 ms on (the model's `burst_latency`).

The burst is sent over raw asyncio streams, every connection opened and used once beforehand: an
httpx.AsyncClient firing 120 requests at once on this 2-core machine spreads their sending over
seconds (measured: the two-trip route's latencies then ran from 1.3 s to 5.0 s), which is no burst.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadlab import model
from loadlab.contract import routes
from loadlab.contract.scenarios import SCENARIOS
from tests.helpers import Running, serve

ROOT = Path(__file__).resolve().parents[1]
N, THREADS = 120, 4


@pytest.mark.parametrize("target", ["sync", "async"])
def test_each_scenario_borrows_as_many_threads_as_the_catalogue_says(tmp_path, target, upstream: Running):
    env = {
        **os.environ,
        "LOADLAB_TARGET": target,
        "LOADLAB_UPSTREAM_URL": upstream.url,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    probe = [sys.executable, "-W", "ignore", "-m", "tests.trip_probe", target]
    done = subprocess.run(probe, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    borrowed = json.loads(done.stdout.splitlines()[-1])
    assert borrowed == {s.name: s.trips(target) for s in SCENARIOS.values() if target in s.targets}
    if target == "sync":
        assert (borrowed["io-sleep"], borrowed["io-sleep-1trip"]) == (2, 1)


async def _exchange(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter], path: str) -> None:
    reader, writer = stream
    writer.write(f"GET {path} HTTP/1.1\r\nHost: loadlab\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    lengths = [line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    length = int(lengths[0])
    await reader.readexactly(length)


async def _timed(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter], path: str, start: float) -> float:
    await _exchange(stream, path)
    return time.perf_counter() - start


async def _bursts(url: str, paths: list[str], n: int) -> dict[str, list[float]]:
    """Seconds each of `n` requests took, per path, all `n` sent at once on connections opened before."""
    host, port = url.removeprefix("http://").split(":")
    streams = await asyncio.gather(*(asyncio.open_connection(host, int(port)) for _ in range(n)))
    await asyncio.gather(*(_exchange(s, routes.HELLO) for s in streams))  # every connection accepted and used
    found = {}
    for path in paths:
        start = time.perf_counter()
        found[path] = sorted(await asyncio.gather(*(_timed(s, path, start) for s in streams)))
    for _, writer in streams:
        writer.close()
    return found


def test_under_a_saturated_limiter_the_second_trip_waits_for_the_whole_backlog(tmp_path):
    two, one = SCENARIOS["io-sleep"], SCENARIOS["io-sleep-1trip"]
    wait = model.wait_s(two.name, "sync")
    with serve(tmp_path, "sync", "uvicorn", 1, "--threads", str(THREADS)) as srv:
        found = asyncio.run(_bursts(srv.url, [two.path, one.path], N))
    (two_lat, one_lat) = found[two.path], found[one.path]
    for name, lat in ((two.name, two_lat), (one.name, one_lat)):
        print(f"{name}: {N} at once, min {lat[0]:.3f} s, p50 {statistics.median(lat):.3f} s, max {lat[-1]:.3f} s")
    backlog = model.burst_latency(N, 1, THREADS, wait, two.trips("sync"))  # all done together, at 3.0 s
    waves = model.burst_latency(N, 1, THREADS, wait, one.trips("sync"))  # 0.1 s to 3.0 s, p50 1.5 s
    assert (backlog.min_s, backlog.max_s) == (pytest.approx(waves.max_s), pytest.approx(waves.max_s))

    # both take about the whole backlog at the slowest: the same threads serve the same waits
    for lat in (two_lat, one_lat):
        assert 0.8 * backlog.max_s <= lat[-1] <= 1.6 * backlog.max_s, lat
    # two trips: even the fastest request waited for the whole backlog
    assert two_lat[0] >= 0.8 * backlog.min_s, two_lat
    assert two_lat[-1] - two_lat[0] <= 0.2 * two_lat[-1], two_lat
    # one trip: the first wave is done in a fraction of that, and the spread is wide
    assert one_lat[0] <= 0.25 * backlog.min_s, one_lat
    assert one_lat[-1] - one_lat[0] >= 0.6 * one_lat[-1], one_lat
    assert statistics.median(one_lat) <= 0.75 * statistics.median(two_lat)
