"""Reading what Locust writes with `--csv <prefix>`: the one place that opens its files.

- `<prefix>_stats.csv`: one row per request name and an `Aggregated` row, over everything since
  the stats were last reset (the warm-up's end): `stats_rows`, and from it `read_locust_row` (a
  request's final figures) and `read_percentiles` (its known percentiles, for an interval).
- `<prefix>_stats_history.csv`: an `Aggregated` row several times a second (every
  CSV_STATS_INTERVAL_SEC), with an integer timestamp and running totals since the last reset:
  `read_history` gives them as `HistoryRow`s, and from them `read_ramp_steps` (a ramp's steps) and
  `read_per_second` (a point's per-second samples after the warm-up, for `loadlab compare`).

Where a point's prefix is: `RunFolder.locust_prefix(point)` (loadlab.results.folder).
"""

import csv
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadlab.errors import FAILED, LoadlabError
from loadlab.results.point import PointResult, RampStep

AGGREGATED = "Aggregated"


def stats_path(prefix: Path) -> Path:
    return Path(f"{prefix}_stats.csv")


def history_path(prefix: Path) -> Path:
    return Path(f"{prefix}_stats_history.csv")


def _rows(path: Path) -> list[dict[str, str]]:
    """Every row of one of Locust's CSV files; OSError or csv.Error when it cannot be read."""
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- _stats.csv


def stats_rows(prefix: Path) -> list[dict[str, str]]:
    """The rows of `<prefix>_stats.csv` as Locust wrote them (column: text); OSError, csv.Error."""
    return _rows(stats_path(prefix))


def read_locust_row(prefix: Path, name: str) -> dict[str, Any]:
    """requests, failures, rps and percentiles (ms) of request `name` from Locust's `_stats.csv`."""
    path = stats_path(prefix)
    try:
        rows = stats_rows(prefix)
    except OSError:
        raise LoadlabError(f"Locust wrote no stats ({path} missing); see its log", FAILED) from None
    except (csv.Error, ValueError) as exc:  # ValueError: not text
        raise LoadlabError(f"{path} is not Locust's stats ({exc})", FAILED) from None
    try:
        return _figures(rows, name)
    except (KeyError, TypeError, ValueError) as exc:  # a column missing, a row cut short, a cell not a number
        raise LoadlabError(f"{path} is not Locust's stats ({type(exc).__name__}: {exc})", FAILED) from None


def _figures(rows: list[dict[str, str]], name: str) -> dict[str, Any]:
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


def read_percentiles(prefix: Path, name: str) -> tuple[int, dict[float, float]] | None:
    """(requests, {quantile: ms}) of request `name` (else of the aggregate) from Locust's
    `_stats.csv` (after the warm-up), with 0 for the minimum; None when the file or the row is
    missing or unreadable."""
    try:
        rows = stats_rows(prefix)
        row = next((r for r in rows if r.get("Name") == name), None) or next(
            (r for r in rows if r.get("Name") == AGGREGATED), None
        )
        if row is None or not int(row["Request Count"]):
            return None
        known = {
            float(k[:-1]) / 100: float(v) for k, v in row.items() if k and k.endswith("%") and v not in ("N/A", "")
        }
        if not known:
            return None
        known[0.0] = min(float(row["Min Response Time"]), min(known.values()))
        return int(row["Request Count"]), known
    except (OSError, KeyError, TypeError, ValueError, csv.Error):
        return None


# ---------------------------------------------------------------- _stats_history.csv


@dataclass(frozen=True)
class HistoryRow:
    """One `Aggregated` row of the history; a field is None where its cell is missing, empty,
    "N/A" or not a number."""

    timestamp: int | None
    users: int | None  # User Count
    requests: int | None  # Total Request Count, since the last reset
    mean_ms: float | None  # Total Average Response Time, since the last reset
    p95_ms: float | None  # Locust's rolling p95


def _int(text: str | None) -> int | None:
    try:
        return int(text or "")
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    try:
        return float(text or "")
    except ValueError:  # "N/A"
        return None


def read_history(prefix: Path) -> list[HistoryRow]:
    """The `Aggregated` rows of `<prefix>_stats_history.csv`, in the file's order; OSError
    (FileNotFoundError when there is none) or csv.Error when it cannot be read."""
    return [
        HistoryRow(
            _int(r.get("Timestamp")),
            _int(r.get("User Count")),
            _int(r.get("Total Request Count")),
            _float(r.get("Total Average Response Time")),
            _float(r.get("95%")),
        )
        for r in _rows(history_path(prefix))
        if r.get("Name") == AGGREGATED
    ]


def read_ramp_steps(prefix: Path) -> list[RampStep]:
    """Throughput and latency at each user count of a ramp, from Locust's `_stats_history.csv`
    (one row a second): rps is the requests completed while the step lasted, over its length;
    p95 is Locust's rolling p95 at the step's end."""
    try:
        rows = [r for r in read_history(prefix) if r.users is not None and r.users > 0]
    except (OSError, csv.Error, ValueError):  # ValueError: not text
        return []
    steps: list[dict[str, Any]] = []
    for row in rows:
        t, users, total = row.timestamp, row.users, row.requests
        if t is None or total is None:
            continue
        if steps and steps[-1]["users"] == users:
            step = steps[-1]
        else:
            step = {"users": users, "t0": t, "n0": total}
            steps.append(step)
        step.update(t1=t, n1=total, p95_ms=row.p95_ms)
    return [
        RampStep(s["users"], s["t1"] - s["t0"], (s["n1"] - s["n0"]) / (s["t1"] - s["t0"]), s["p95_ms"])
        for s in steps
        if s["t1"] > s["t0"] and s["n1"] >= s["n0"]  # a one-row step has no length; a warm-up reset, no rate
    ]


@dataclass
class PerSecond:
    """A point's per-second samples from Locust's history file, after the warm-up."""

    rps: list[float] = field(default_factory=list)  # requests completed in each second
    mean_ms: list[float] = field(default_factory=list)  # mean latency of each second's requests
    whole_mean_ms: float | None = None  # mean latency of the whole measured window
    problem: str = ""  # why there are none, when there are none


def read_per_second(prefix: Path, point: PointResult) -> PerSecond:
    """Samples from `<prefix>_stats_history.csv`: the seconds after the warm-up (where Locust's
    running count restarts) and before the users stop."""
    path = history_path(prefix)
    try:
        history = read_history(prefix)
    except FileNotFoundError:
        return PerSecond(problem=f"no {path.name}")
    except OSError as exc:
        return PerSecond(problem=f"cannot read {path.name}: {exc.strerror}")
    except (csv.Error, ValueError):  # ValueError: not text
        return PerSecond(problem=f"{path.name} is not Locust's stats history")
    rows = [(r.timestamp, r.users, r.requests, r.mean_ms) for r in history]
    if any(None in r for r in rows):
        return PerSecond(problem=f"{path.name} is not Locust's stats history")
    # the warm-up ends with a reset of Locust's stats: the running count drops; keep what follows
    start = max((i for i in range(1, len(rows)) if rows[i][2] < rows[i - 1][2]), default=0)
    begin = math.floor(point.started_at + point.warmup_s) if point.warmup_s and not start else -math.inf
    rows = [r for r in rows[start:] if r[0] >= begin]
    # ...until the users stop: a second in which the user count fell to 0 after being above it is not whole
    ran = False
    stop = math.inf
    for t, users, _, _ in rows:
        ran = ran or users > 0
        if ran and users == 0:
            stop = t
            break
    found = PerSecond()
    if rows and rows[-1][2]:
        found.whole_mean_ms = rows[-1][3]  # the running average over everything since the reset
    last: dict[int, tuple[int, float]] = {}  # second → (count, total latency) of its last row
    for t, _, count, mean in rows:
        if t < stop:
            last[t] = (count, count * mean)
    seconds = sorted(last)
    for before, now in itertools.pairwise(seconds):
        n = last[now][0] - last[before][0]
        found.rps.append(n / (now - before))
        if n > 0:
            found.mean_ms.append((last[now][1] - last[before][1]) / n)
    if not found.rps:
        found.problem = f"{path.name} has no whole second after the warm-up"
    return found
