"""Counts how many times one request of each scenario borrows a thread from anyio's limiter.

    LOADLAB_TARGET=sync python -m tests.trip_probe sync

Imports the target's app (targets/sync_app.py or targets/async_app.py) in this process, wraps
`anyio.to_thread.run_sync` (what Starlette's and FastAPI's `run_in_threadpool` call, and so every
borrowing of the limiter) with a counter, runs the app's lifespan under Starlette's TestClient, sends
each scenario the target serves once, and prints {scenario: borrowings} as JSON. A process of its own
(tests/test_threadpool_trips.py starts it), since importing a target sets process-wide state
(PROMETHEUS_MULTIPROC_DIR, the metrics registry) that the test process must not carry.
"""

import importlib
import json
import sys
import threading

import anyio.to_thread
from starlette.testclient import TestClient

from loadlab.contract.scenarios import SCENARIOS


def main(target: str) -> None:
    app = importlib.import_module(f"targets.{target}_app").app
    borrowed = 0
    lock = threading.Lock()
    run_sync = anyio.to_thread.run_sync

    async def counting(*args, **kwargs):
        nonlocal borrowed
        with lock:
            borrowed += 1
        return await run_sync(*args, **kwargs)

    anyio.to_thread.run_sync = counting
    found = {}
    with TestClient(app) as client:
        for scenario in SCENARIOS.values():
            if target not in scenario.targets:
                continue
            client.get(scenario.path)  # the first request of a route may set things up: count the second
            with lock:
                borrowed = 0
            response = client.get(scenario.path)
            if response.status_code != 200:
                raise SystemExit(f"{scenario.name}: {response.status_code} {response.text}")
            with lock:
                found[scenario.name] = borrowed
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1])
