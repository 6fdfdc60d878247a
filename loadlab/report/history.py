"""Locust's per-second rows of a point (`<point>_stats_history.csv`), for the figures over time.

Locust appends a row several times a second with an integer timestamp; its own "Requests/s" column
is a lagging rolling rate, so throughput here is counted from "Total Request Count" instead: what
completed within each second (a count that drops is the warm-up's reset and counts from 0 again).
The last second is usually cut short by the end of the load and is left out. The file is read by
loadlab.results.locust_csv.
"""

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from loadlab.results.locust_csv import read_history


@dataclass(frozen=True)
class Second:
    t_s: float  # start of the second, from the point's start (Locust's start)
    rps: float  # requests completed during the second
    p95_ms: float  # Locust's rolling p95 at the second's last row (NaN before the first response)


def read(prefix: Path, started_at: float) -> list[Second]:
    """The aggregated per-second figures of one point; [] when Locust wrote none (or not readable)."""
    try:
        rows = read_history(prefix)
    except (OSError, csv.Error):
        return []
    seconds: dict[float, list[float]] = {}  # timestamp: [completed, p95]
    previous = 0.0
    for row in rows:
        if row.timestamp is None or row.requests is None:
            continue
        t, total = float(row.timestamp), float(row.requests)
        done = total - previous if total >= previous else total
        previous = total
        second = seconds.setdefault(t, [0.0, math.nan])
        second[0] += done
        second[1] = math.nan if row.p95_ms is None else row.p95_ms
    ordered = sorted(seconds.items())[:-1]
    return [Second(t - started_at, done, p95) for t, (done, p95) in ordered]
