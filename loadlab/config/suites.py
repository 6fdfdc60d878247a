"""Named sets of points with their settings; `make loadtest` runs the `claims` suite."""

from typing import Any

SUITES: dict[str, dict[str, Any]] = {
    # The article's C1 setup (4 Uvicorn workers, 100 concurrent users, 100 ms waits), then the real
    # I/O, fan-out and CPU scenarios that the other claims need, both targets side by side.
    # C2 is a claim about one request's latency, so fan-out runs with 5 users, far from saturation.
    # 11 points x (3 s warm-up + 12 s) = 165 s of load.
    "claims": {
        "points": [
            ("io-sleep", "sync"),
            ("io-sleep", "async"),
            ("blocking-sleep", "async"),
            ("io-db", "sync"),
            ("io-db", "async"),
            ("io-http", "sync"),
            ("io-http", "async"),
            ("fanout", "sync", 5),
            ("fanout", "async", 5),
            ("cpu", "async"),
            ("cpu-offload", "async"),
        ],
        "server": "uvicorn-workers",
        "workers": 4,
        "users": 100,
        "model": "closed",
        "duration_s": 12,
        "warmup_s": 3,
    },
}
