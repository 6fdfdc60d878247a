"""Hand-made point results for the unit tests: realistic defaults, override what a test is about."""

from typing import Any

from loadlab.contract.scenarios import SCENARIOS
from loadlab.results.point import PointResult


def point(scenario: str = "io-sleep", target: str = "async", **fields: Any) -> PointResult:
    values: dict[str, Any] = {
        "point": f"{target}-{scenario}",
        "scenario": scenario,
        "target": target,
        "route": SCENARIOS[scenario].route,
        "server": "uvicorn-workers",
        "workers": 4,
        "threads": 40,
        "db_pool": 10,
        "load_model": "closed",
        "users": 100,
        "rate": None,
        "duration_s": 12.0,
        "warmup_s": 3.0,
        "started_at": 1_700_000_000.0,
        "ended_at": 1_700_000_015.0,
        "requests": 1000,
        "failures": 0,
        "rps": 900.0,
        "p50_ms": 100.0,
        "p95_ms": 120.0,
        "p99_ms": 150.0,
        "max_ms": 200.0,
        "generator_cpu_max": 40.0,
        "server_requests": 1300.0,
        "client_requests": 1300.0,
        "server_cpu_ms_per_request": 0.5,
        "loop_lag_p99_ms": 2.0,
    }
    values.update(fields)
    return PointResult(**values)
