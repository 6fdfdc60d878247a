"""Reading what Locust writes with `--csv`: the final stats of a request, and a ramp's steps."""

import csv
from pathlib import Path
from typing import Any

from loadlab.errors import FAILED, LoadlabError
from loadlab.results.point import RampStep


def read_locust_row(prefix: Path, name: str) -> dict[str, Any]:
    """requests, failures, rps and percentiles (ms) of request `name` from Locust's `_stats.csv`."""
    path = Path(f"{prefix}_stats.csv")
    try:
        rows = list(csv.DictReader(path.open()))
    except OSError:
        raise LoadlabError(f"Locust wrote no stats ({path} missing); see its log", FAILED) from None
    row = next((r for r in rows if r["Name"] == name), None)
    if row is None:
        return {
            "requests": 0,
            "failures": 0,
            "rps": 0.0,
            "p50_ms": None,
            "p95_ms": None,
            "p99_ms": None,
            "max_ms": None,
        }

    def num(key: str) -> float | None:
        return None if row[key] in ("N/A", "") else float(row[key])

    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": num("Requests/s"),
        "p50_ms": num("50%"),
        "p95_ms": num("95%"),
        "p99_ms": num("99%"),
        "max_ms": num("Max Response Time"),
    }


def read_ramp_steps(prefix: Path) -> list[RampStep]:
    """Throughput and latency at each user count of a ramp, from Locust's `_stats_history.csv`
    (one row a second): rps is the requests completed while the step lasted, over its length;
    p95 is Locust's rolling p95 at the step's end."""
    path = Path(f"{prefix}_stats_history.csv")
    try:
        rows = [r for r in csv.DictReader(path.open()) if r["Name"] == "Aggregated" and int(r["User Count"]) > 0]
    except OSError:
        return []
    steps: list[dict[str, Any]] = []
    for row in rows:
        t, users, total = int(row["Timestamp"]), int(row["User Count"]), int(row["Total Request Count"])
        if steps and steps[-1]["users"] == users:
            step = steps[-1]
        else:
            step = {"users": users, "t0": t, "n0": total}
            steps.append(step)
        step.update(t1=t, n1=total, p95_ms=None if row["95%"] == "N/A" else float(row["95%"]))
    return [
        RampStep(s["users"], s["t1"] - s["t0"], (s["n1"] - s["n0"]) / (s["t1"] - s["t0"]), s["p95_ms"])
        for s in steps
        if s["t1"] > s["t0"] and s["n1"] >= s["n0"]  # a one-row step has no length; a warm-up reset, no rate
    ]
