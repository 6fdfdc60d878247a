"""Prometheus's HTTP API as a run uses it: instant and range queries, raw samples with their scrape
times, the active scrape targets, and waits for a target's first or next successful scrape.

`PrometheusAPI` needs only a base `url` and an httpx client (`_http`); `loadlab.stack.prometheus.Prometheus`
is the process that provides them.
"""

import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from loadlab import queries
from loadlab.contract.metrics import TARGETS_JOB
from loadlab.errors import FAILED, LoadlabError

POLL_S = 0.1


@dataclass(frozen=True)
class Sample:
    """One series of an instant query: its labels and its value at `time` (Unix seconds)."""

    labels: dict[str, str]
    value: float
    time: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and its (time, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


class PrometheusAPI:
    """Queries and waits against the Prometheus at `url`."""

    url: str
    _http: httpx.Client | None = None

    def active_targets(self) -> list[dict[str, Any]]:
        """`/api/v1/targets` active targets: labels, scrapeUrl, health ("up", "down", "unknown"), lastError."""
        return self._api("/api/v1/targets", {"state": "active"})["activeTargets"]

    def discovered(self, address: str, job: str = TARGETS_JOB) -> bool:
        """Whether Prometheus scrapes `address` in `job` already (up or not): its first scrape is then at most
        one scrape interval away from the moment the process listens."""
        return any(
            t["labels"].get("instance") == address and t["labels"].get("job") == job for t in self.active_targets()
        )

    def wait_until_up(self, address: str, job: str = TARGETS_JOB, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until Prometheus has discovered `address` in `job` and scraped it successfully."""
        deadline = time.monotonic() + timeout
        seen: dict[str, Any] | None = None
        while True:
            for t in self.active_targets():
                if t["labels"].get("instance") == address and t["labels"].get("job") == job:
                    seen = t
                    if t["health"] == "up":
                        return t
            if time.monotonic() > deadline:
                state = f"{seen['health']}: {seen['lastError'] or 'not scraped yet'}" if seen else "not discovered"
                raise LoadlabError(f"Prometheus target {job}/{address} not up within {timeout:g}s ({state})", FAILED)
            time.sleep(POLL_S)

    def wait_for_scrape(self, address: str, after: float, job: str = TARGETS_JOB, timeout: float = 30.0) -> float:
        """Wait until a successful scrape of `address` that started after `after` (Unix time) is queryable.

        Everything the process counted before `after` is then in the TSDB, even if it exited since
        (its later scrapes fail). Returns that scrape's time.
        """
        selector = queries.scrape_up(job, address)
        deadline = time.monotonic() + timeout
        while True:
            window = f"{max(5, math.ceil(time.time() - after) + 5)}s"
            scraped = [
                t for series in self.samples(selector, window) for t, up in series.points if up == 1 and t > after
            ]
            if scraped:
                return min(scraped)
            if time.monotonic() > deadline:
                raise LoadlabError(f"no successful scrape of {job}/{address} within {timeout:g}s", FAILED)
            time.sleep(POLL_S)

    def query(self, promql: str, time: float | datetime | None = None) -> list[Sample]:
        """Instant query: one Sample per series (a scalar result is one Sample with no labels)."""
        params = {"query": promql}
        if time is not None:
            params["time"] = _unix(time)
        data = self._api("/api/v1/query", params)
        kind, result = data["resultType"], data["result"]
        if kind == "vector":
            return [Sample(s["metric"], float(s["value"][1]), float(s["value"][0])) for s in result]
        if kind == "scalar":
            return [Sample({}, float(result[1]), float(result[0]))]
        raise LoadlabError(f"instant query gave a {kind}, not a vector (use query_range): {promql}", FAILED)

    def scalar(self, promql: str, time: float | datetime | None = None) -> float | None:
        """The value of a query that yields one number (e.g. a `sum(...)`); None when it yields none."""
        samples = self.query(promql, time)
        if not samples or not math.isfinite(samples[0].value):
            return None
        return samples[0].value

    def samples(self, selector: str, window: str, time: float | datetime | None = None) -> list[Series]:
        """The raw samples of `selector` over the last `window` (e.g. "30s"), with their scrape times."""
        params = {"query": queries.raw_samples(selector, window)}
        if time is not None:
            params["time"] = _unix(time)
        data = self._api("/api/v1/query", params)
        return [Series(s["metric"], [(float(t), float(v)) for t, v in s["values"]]) for s in data["result"]]

    def query_range(self, promql: str, start: float | datetime, end: float | datetime, step: float) -> list[Series]:
        """Range query from `start` to `end` every `step` seconds: one Series per series."""
        params = {"query": promql, "start": _unix(start), "end": _unix(end), "step": str(step)}
        data = self._api("/api/v1/query_range", params)
        return [Series(s["metric"], [(float(t), float(v)) for t, v in s["values"]]) for s in data["result"]]

    def _api(self, path: str, params: dict[str, str]) -> Any:
        if self._http is None:
            raise LoadlabError("Prometheus is not running", FAILED)
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise LoadlabError(f"Prometheus at {self.url} did not answer {path}: {exc}", FAILED) from None
        try:
            body = response.json()
        except ValueError:
            raise LoadlabError(f"Prometheus {path} gave HTTP {response.status_code}, not JSON", FAILED) from None
        if body.get("status") != "success":
            query = params.get("query", "")
            raise LoadlabError(f"Prometheus {path} failed: {body.get('error', response.status_code)} {query}", FAILED)
        return body["data"]


def _unix(t: float | datetime) -> str:
    value = t.timestamp() if isinstance(t, datetime) else float(t)
    if not math.isfinite(value):
        raise LoadlabError(f"not a time: {t!r}", FAILED)
    return f"{value:.3f}"
