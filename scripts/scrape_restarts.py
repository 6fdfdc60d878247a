#!/usr/bin/env python3
"""Scrape time of a target's /metrics fresh and after many requests and worker SIGKILLs (issue 19,
item 3): dead workers' files are folded into one archive, so scrape time should depend on live
workers only. Goal: within 1.2x of fresh after 1M requests and 100 restarts, counts still exact.

    .venv/bin/python scripts/scrape_restarts.py [--restarts 100] [--requests 1000000] [--workers 8]
        [--server gunicorn-uvicorn]

The async target on 127.0.0.1 (needs the lab's PostgreSQL and starts its own upstream). /hello is
loaded with wrk between kills, never during one; after each round the count is scraped, one random
worker SIGKILLed, its respawn awaited and the count scraped again: the two must be equal (the dead
worker's counts folded into the archive, none lost or doubled). wrk's own total leaves out the
requests in flight when it stops (at most its 32 connections a round), which the server did count:
so the server's total must lie between wrk's and wrk's plus 32 a round. Scrape time is the median
(and max) of SCRAPES scrapes of the metrics port, fresh (after a first round of load) and at the end;
then a fresh server of the same kind is started and the two are scraped alternately, SCRAPES pairs,
so that the machine's load at that moment (it is shared) weighs on both sides alike. Prints one
line per figure; exits 1 when a count is off.
"""

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from loadlab.contract import metrics as m
from loadlab.contract import routes
from loadlab.contract.settings import UPSTREAM_URL_ENV
from loadlab.stack import ports, services
from loadlab.stack.servers import ServerSpec

SCRAPES = 50
MAX_ROUND_S = 5
_REQUESTS = re.compile(r"(\d+) requests in")
_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*")


def scrape(url: str) -> tuple[float, float, set[int]]:
    """(seconds the scrape took, /hello requests counted, live worker pids)."""
    start = time.perf_counter()
    text = httpx.get(url + routes.METRICS, timeout=30).text
    took = time.perf_counter() - start
    hello, pids = 0.0, set()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == m.HTTP_REQUESTS and s.labels.get("route") == routes.HELLO:
                hello += s.value
            elif s.name == m.PROCESS_CPU:
                pids.add(int(s.labels["pid"]))
    return took, hello, pids


def scrape_times(url: str) -> list[float]:
    return [scrape(url)[0] for _ in range(SCRAPES)]


def wrk(url: str, seconds: int) -> int:
    """Requests wrk completed against `url`; an error or a non-2xx answer stops the script."""
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", url], capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    if _ERRORS.search(out):
        sys.exit(f"wrk saw errors:\n{out}")
    return int(_REQUESTS.search(out).group(1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--restarts", type=int, default=100)
    p.add_argument("--requests", type=int, default=1_000_000)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--server", default="gunicorn-uvicorn")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loadlab-scrape-restarts-"))
    upstream = services.start_upstream(ports.free_port(), work / "upstream.log")
    os.environ[UPSTREAM_URL_ENV] = upstream.url
    port = ports.free_port()
    spec = ServerSpec("async", args.server, args.workers, port=port, metrics_port=ports.free_port(preferred=port + 1))
    target = services.start_target(spec, work / "target.log")
    started = time.monotonic()
    try:
        hello = spec.url + routes.HELLO
        sent = wrk(hello, 2)
        fresh = scrape_times(spec.metrics_url)
        # seconds a round, from the first round's rate, within bounds: the rest comes after the restarts
        per_round = min(MAX_ROUND_S, max(1, round(2 * (args.requests - sent) / (args.restarts * sent))))
        rounds, changed = 1, []
        for i in range(args.restarts):
            sent += wrk(hello, per_round)
            rounds += 1
            _, before, pids = scrape(spec.metrics_url)
            victim = random.choice(sorted(pids))
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while (pids := scrape(spec.metrics_url)[2]) and (len(pids) != args.workers or victim in pids):
                if time.monotonic() > deadline:
                    sys.exit(f"worker {victim} not replaced within 60 s")
                time.sleep(0.05)
            if (after := scrape(spec.metrics_url)[1]) != before:
                changed.append((before, after))
            if (i + 1) % 10 == 0:
                print(f"{i + 1} restarts, {sent} requests, {time.monotonic() - started:.0f} s", flush=True)
        while sent < args.requests:
            sent += wrk(hello, per_round)
            rounds += 1
        after = scrape_times(spec.metrics_url)
        counted = [scrape(spec.metrics_url)[1] for _ in range(8)]  # whichever worker answers
        files = sorted(f.name for f in target.scratch.iterdir())
        # the same again against a fresh server started now, scrapes alternating: the machine's load
        # at this moment hits both sides alike
        port = ports.free_port()
        fresh_spec = replace(spec, port=port, metrics_port=ports.free_port(preferred=port + 1))
        fresh_target = services.start_target(fresh_spec, work / "fresh.log")
        try:
            wrk(fresh_spec.url + routes.HELLO, 2)
            pairs = [(scrape(fresh_spec.metrics_url)[0], scrape(spec.metrics_url)[0]) for _ in range(SCRAPES)]
        finally:
            fresh_target.stop()
    finally:
        target.stop()
        upstream.stop()
    ms = 1000
    print(f"server: async, {args.server} x{args.workers}, {args.restarts} SIGKILLs, {sent} requests sent")
    print(f"fresh: median {ms * statistics.median(fresh):.1f} ms, max {ms * max(fresh):.1f} ms ({SCRAPES} scrapes)")
    print(f"after: median {ms * statistics.median(after):.1f} ms, max {ms * max(after):.1f} ms ({SCRAPES} scrapes)")
    print(f"ratio of medians, after / fresh at the start: {statistics.median(after) / statistics.median(fresh):.2f}")
    now_fresh, now_after = (statistics.median(side) for side in zip(*pairs, strict=True))
    ratios = sorted(b / a for a, b in pairs)
    print(
        f"alternating with a fresh server started at the end: fresh {ms * now_fresh:.1f} ms, after "
        f"{ms * now_after:.1f} ms (medians of {SCRAPES}); ratio of medians {now_after / now_fresh:.2f}, "
        f"median of the {SCRAPES} pairs' ratios {statistics.median(ratios):.2f} (goal <= 1.2)"
    )
    print(
        f"server counted {counted[0]:.0f}, every scrape alike: {len(set(counted)) == 1}; wrk completed {sent}, "
        f"plus at most 32 in flight at each of its {rounds} stops"
    )
    print(f"counts changed across a kill: {len(changed)} of {args.restarts} {changed[:5]}")
    print(f"files in the metrics directory at the end: {len(files)} ({', '.join(files)})")
    print(f"wall time {time.monotonic() - started:.0f} s")
    exact = not changed and len(set(counted)) == 1 and sent <= counted[0] <= sent + 32 * rounds
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
