"""Dead workers' counters and histograms folded into one archive (loadlab.contract.multiproc): exact
counts while workers are SIGKILLed under a thread that scrapes all the time, scrape time that depends
on live workers only, and folds that are themselves killed midway."""

import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from loadlab.contract import metrics as m
from loadlab.contract import multiproc, routes
from loadlab.stack import ports, services
from loadlab.stack.serve import wipe_metrics_dir
from loadlab.stack.servers import ServerSpec
from targets.request_metrics import fold_dead_workers, read_totals
from tests.helpers import concurrently, scrape, total

KILLS = 12
PER_ROUND = 100  # requests between kills
SCRAPES = 30  # per scrape-time sample
SCRAPE_TIME_BOUND = 1.5  # generous: the 1M-request, 100-kill figure is in docs/metrics.md
FAKE_PID = 4_000_000  # above any pid_max: never alive


def worker_pids(metrics_url: str) -> set[int]:
    return {int(dict(ls)["pid"]) for (name, ls) in scrape(metrics_url) if name == m.PROCESS_CPU}


def pids_with_files(metrics_dir: Path) -> set[int]:
    pids = set()
    for f in metrics_dir.iterdir():
        stem = f.name.rsplit(".", 1)[0]
        if f.is_file() and stem.rsplit("_", 1)[-1].isdigit():
            pids.add(int(stem.rsplit("_", 1)[-1]))
    return pids


def scrape_times(url: str, n: int = SCRAPES) -> list[float]:
    took = []
    with httpx.Client(timeout=10) as client:
        for _ in range(n):
            start = time.perf_counter()
            client.get(url + routes.METRICS).raise_for_status()
            took.append(time.perf_counter() - start)
    return took


class Scraper(threading.Thread):
    """Scrapes without a pause until stopped; keeps each successful scrape's /hello count and loop-lag count."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.seen, self.failed, self.done = url, [], 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                samples = scrape(self.url)
            except httpx.HTTPError:  # the worker whose thread answered was killed
                self.failed += 1
                continue
            hello = total(samples, m.HTTP_REQUESTS, route=routes.HELLO)
            self.seen.append((hello, total(samples, m.EVENT_LOOP_LAG + "_count")))


@pytest.mark.usefixtures("with_upstream")
@pytest.mark.parametrize("server", ["gunicorn-uvicorn", "uvicorn-workers"])
def test_sigkilled_workers_fold_exactly_while_scraped_and_scrape_time_stays(tmp_path, server):
    port = ports.free_port()
    spec = ServerSpec("async", server, 2, port=port, metrics_port=ports.free_port(preferred=port + 1))
    service = services.start_target(spec, tmp_path / f"{server}.log")
    try:
        metrics_dir = service.scratch
        concurrently(spec.url + routes.HELLO, PER_ROUND)
        sent = PER_ROUND
        scrape_times(spec.metrics_url, 5)  # warm
        fresh = scrape_times(spec.metrics_url)
        scraper = Scraper(spec.metrics_url)
        scraper.start()
        killed: set[int] = set()
        for _ in range(KILLS):
            concurrently(spec.url + routes.HELLO, PER_ROUND)  # between kills: every response counted
            sent += PER_ROUND
            victim = random.choice(sorted(worker_pids(spec.metrics_url)))
            os.kill(victim, signal.SIGKILL)
            killed.add(victim)
            deadline = time.monotonic() + 60
            while len(pids := worker_pids(spec.metrics_url)) != 2 or pids & killed:
                assert time.monotonic() < deadline, f"worker not respawned: {pids}"
                time.sleep(0.1)
        scraper.done.set()
        scraper.join(30)
        after = scrape_times(spec.metrics_url)
        for _ in range(4):  # whichever worker's thread answers
            assert total(scrape(spec.metrics_url), m.HTTP_REQUESTS, route=routes.HELLO) == sent
        hellos = [hello for hello, _ in scraper.seen]
        lags = [lag for _, lag in scraper.seen]
        assert len(scraper.seen) > 3 * KILLS, f"{len(scraper.seen)} scrapes during {KILLS} kills"
        assert hellos == sorted(hellos) and hellos[-1] == sent, "a count was lost or doubled during a fold"
        assert lags == sorted(lags), "the loop-lag histogram (prometheus_client's files) went back"
        live = worker_pids(spec.metrics_url)
        assert pids_with_files(metrics_dir) <= live, "a dead worker's files are still read at every scrape"
        ratio = statistics.median(after) / statistics.median(fresh)
        print(
            f"{server}: scrape {1000 * statistics.median(fresh):.1f} ms fresh, "
            f"{1000 * statistics.median(after):.1f} ms after {KILLS} kills ({ratio:.2f}x)"
        )
        assert ratio < SCRAPE_TIME_BOUND
    finally:
        service.stop()


WRITER = """
import os, sys
from prometheus_client import Counter, Histogram
from targets.request_metrics import RequestMetrics

n = int(sys.argv[1])
requests, counter = RequestMetrics("t", "s"), Counter("jobs", "Jobs.", ["kind"])
histogram = Histogram("lag_seconds", "Lag.", buckets=(0.01, 0.1, 1.0))
for i in range(n):
    requests.record("/a", "GET", 200 if i % 3 else 500, i / n)
    counter.labels("x").inc()
    histogram.observe(i / n)
"""


def dead_worker(metrics_dir: Path, n: int, as_pid: int | None = None) -> None:
    """A worker that counted n requests (a third of them 500s) and exited; with `as_pid`, its files
    renamed to that pid, which never runs."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(n)], env=env)
    assert proc.wait(60) == 0
    if as_pid is not None:
        for f in metrics_dir.glob(f"*_{proc.pid}.*"):
            f.rename(f.with_name(f.name.replace(f"_{proc.pid}.", f"_{as_pid}.")))


def ok_count(n: int) -> int:
    return n - len(range(0, n, 3))


def everything(metrics_dir: Path) -> dict:
    """What a scrape sums, flat: the request metrics' slots and prometheus_client's samples."""
    flat = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in multiproc.ArchivedCollector(str(metrics_dir)).collect()
        for s in family.samples
    }
    for key, values in read_totals(str(metrics_dir)).items():
        flat.update({(key, i): value for i, value in enumerate(values)})
    return flat


def test_fold_keeps_every_count_and_resumes_after_a_fold_killed_midway(tmp_path):
    expected_dir = tmp_path / "expected"  # the same workers, never folded
    metrics_dir = tmp_path / "metrics"
    expected_dir.mkdir()
    metrics_dir.mkdir()
    rounds = 12
    for i in range(rounds):
        n = 30 + i
        dead_worker(expected_dir, n, FAKE_PID + i)
        dead_worker(metrics_dir, n, FAKE_PID + i)
        # a fold in its own process, SIGKILLed at a random moment (or not at all)
        folder = subprocess.Popen(
            [sys.executable, "-c", FOLDER, str(metrics_dir)],
            stdout=subprocess.PIPE,
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
        )
        assert folder.stdout.readline() == b"go\n"
        time.sleep(random.uniform(0, 0.004))
        folder.kill()
        folder.wait()
        folder.stdout.close()
        # sums may differ in the last bit (added in another order); counts are exact
        assert everything(metrics_dir) == pytest.approx(everything(expected_dir), rel=1e-12), f"round {i}"
    fold_dead_workers(str(metrics_dir))
    assert everything(metrics_dir) == pytest.approx(everything(expected_dir), rel=1e-12)
    assert pids_with_files(metrics_dir) == set(), "dead workers' files left after a complete fold"
    assert not list((metrics_dir / multiproc.ARCHIVE / "staged").iterdir())
    totals = read_totals(str(metrics_dir))
    assert totals[(m.HTTP_REQUESTS, ("t", "s", "/a", "GET", "200"))][0] + totals[
        (m.HTTP_REQUESTS, ("t", "s", "/a", "GET", "500"))
    ][0] == sum(30 + i for i in range(rounds))
    assert totals[(m.HTTP_REQUESTS, ("t", "s", "/a", "GET", "200"))][0] == sum(ok_count(30 + i) for i in range(rounds))


FOLDER = """
import sys
from targets.request_metrics import fold_dead_workers
print("go", flush=True)
fold_dead_workers(sys.argv[1])
"""


def test_a_new_worker_after_a_fold_starts_from_zero_and_a_stale_archive_is_wiped(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    dead_worker(metrics_dir, 10)
    assert fold_dead_workers(str(metrics_dir)) == 1
    assert pids_with_files(metrics_dir) == set()  # a worker that gets the dead one's pid finds no files
    dead_worker(metrics_dir, 5)  # files of its own; the archive keeps the first worker's counts
    key = (m.HTTP_REQUESTS, ("t", "s", "/a", "GET", "200"))
    assert read_totals(str(metrics_dir))[key] == [ok_count(10) + ok_count(5)]
    assert fold_dead_workers(str(metrics_dir)) == 1
    assert read_totals(str(metrics_dir))[key] == [ok_count(10) + ok_count(5)]
    wipe_metrics_dir(metrics_dir)  # `loadlab serve` at start: nothing of an earlier server
    assert read_totals(str(metrics_dir)) == {}
