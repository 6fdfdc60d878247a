"""Locust's per-second rows of a point (`<point>_stats_history.csv`), for the figures over time.

Locust appends a row several times a second with an integer timestamp; its own "Requests/s" column
is a lagging rolling rate, so throughput here is counted from "Total Request Count" instead: what
completed within each second (a count that drops is the warm-up's reset and counts from 0 again).
The last second is usually cut short by the end of the load and is left out.
"""

import csv
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Second:
    t_s: float  # start of the second, from the point's start (Locust's start)
    rps: float  # requests completed during the second
    p95_ms: float  # Locust's rolling p95 at the second's last row (NaN before the first response)


def _float(text: str | None) -> float:
    try:
        return float(text or "")
    except ValueError:  # "N/A"
        return math.nan


def read(prefix: Path, started_at: float) -> list[Second]:
    """The aggregated per-second figures of one point; [] when Locust wrote none (or not readable)."""
    path = Path(f"{prefix}_stats_history.csv")
    try:
        with path.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("Name") == "Aggregated"]
    except (OSError, csv.Error):
        return []
    seconds: dict[float, list[float]] = {}  # timestamp: [completed, p95]
    previous = 0.0
    for row in rows:
        t, total = _float(row.get("Timestamp")), _float(row.get("Total Request Count"))
        if not (math.isfinite(t) and math.isfinite(total)):
            continue
        done = total - previous if total >= previous else total
        previous = total
        second = seconds.setdefault(t, [0.0, math.nan])
        second[0] += done
        second[1] = _float(row.get("95%"))
    ordered = sorted(seconds.items())[:-1]
    return [Second(t - started_at, done, p95) for t, (done, p95) in ordered]
