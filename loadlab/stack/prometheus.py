"""A private, native Prometheus for a run: config, start, scrape targets, queries, stop.

Everything it writes lives in one folder (e.g. `results/<run_id>/prometheus/`): the rendered
config, the file_sd file of scrape targets, the TSDB (`data/`) and the log. Scrape targets are set
while it runs by rewriting the file_sd file atomically. Prometheus sees the file change at once but
passes discovered targets on to its scrapers only every 5 s (fixed in 2.x), so a new target is first
scraped 5-10 s after `set_targets`: call `wait_until_up` before starting load. Each target carries
the run labels, so series of different runs, targets, servers, worker counts and scenarios stay
apart in one TSDB.
"""

import fcntl
import json
import math
import os
import shutil
import string
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from loadlab import REPO, queries
from loadlab.contract.metrics import LOCUST_JOB, RUN_LABELS, TARGETS_JOB
from loadlab.errors import FAILED, LoadlabError
from loadlab.stack import procs

TEMPLATE = REPO / "prometheus" / "prometheus.yml.tmpl"
RULES_FILE = REPO / "prometheus" / "rules" / "loadlab.rules.yml"
BINARY = "prometheus"
INSTALL_HINT = "apt-get install prometheus"
PREFERRED_PORT = 9091  # 9090 is the packaged system Prometheus's
HOST = "127.0.0.1"  # never 0.0.0.0: the lab's Prometheus is private

# Scrape jobs of the template (the file_sd ones named by the metric contract); a file_sd entry names
# the one that scrapes it.
SELF_JOB = "prometheus"
FILE_SD_JOBS = (TARGETS_JOB, LOCUST_JOB)


READY_TIMEOUT_S = 30.0
# A Prometheus just started hands the targets it was started with to its scrapers this long after its
# start (the 5 s throttle of 2.x; measured 5.04-5.09 s here), and scrapes each within one interval.
FIRST_DISCOVERY_S = 5.25
SCRAPE_INTERVAL_S = 1.0  # the template's scrape_interval
HTTP_TIMEOUT_S = 10.0
POLL_S = 0.1


@dataclass(frozen=True)
class ScrapeTarget:
    """One process to scrape (`host:port`, path /metrics) and the run labels of its series."""

    job: str  # TARGETS_JOB or LOCUST_JOB
    address: str
    run_id: str
    target: str
    server: str
    workers: int
    scenario: str

    def file_sd_entry(self) -> dict[str, Any]:
        labels = {"job": self.job, **{name: str(getattr(self, name)) for name in RUN_LABELS}}
        return {"targets": [self.address], "labels": labels}


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


def find_binary(binary: str | os.PathLike[str] = BINARY) -> str:
    """The full path of `binary` (a name on PATH or a path), or a one-line error saying how to install it."""
    path = shutil.which(os.fspath(binary))
    if path is None:
        raise LoadlabError(f"Prometheus not found ({binary}); install it with: {INSTALL_HINT}")
    return path


def render_config(self_address: str, targets_file: Path | list[str], rules_file: Path | str = RULES_FILE) -> str:
    """The scrape config: `targets_file` is the run's file_sd file (or a list of paths and globs)."""
    files = targets_file if isinstance(targets_file, list) else [str(targets_file)]
    # paths and addresses JSON-quoted; the job names bare, as the rendered files have always had them
    return string.Template(TEMPLATE.read_text()).substitute(
        self_address=json.dumps(self_address),
        targets_files=json.dumps(files),
        rules_file=json.dumps(str(rules_file)),
        targets_job=TARGETS_JOB,
        locust_job=LOCUST_JOB,
        self_job=SELF_JOB,
    )


def render_reopened_config(rules_file: Path = RULES_FILE) -> str:
    """A finished run's TSDB, reopened to be queried: the same rules, and no scrape job to add to it."""
    return f"# A finished run's TSDB, reopened: nothing is scraped.\nrule_files:\n  - {json.dumps(str(rules_file))}\n"


def write_atomically(path: Path, text: str) -> None:
    """Readers (Prometheus's file watcher) see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Prometheus:
    """A Prometheus process whose config, file_sd targets, TSDB and log all live in `directory`.

    Use it as a context manager (`with Prometheus(dir) as prom:`) so every exit path stops it.
    """

    def __init__(
        self,
        directory: Path,
        *,
        binary: str | os.PathLike[str] = BINARY,
        port: int | None = None,
        scrape: bool = True,
    ) -> None:
        """`scrape=False` reopens a finished run's TSDB to query it: nothing is scraped, so nothing is added."""
        self.binary = find_binary(binary)  # fail before anything else of a run is started
        self.directory = Path(directory).resolve()  # Prometheus runs with its own working directory
        self.port = port
        self.scrape = scrape
        self.config_file = self.directory / ("prometheus.yml" if scrape else "reopened.yml")
        self.targets_file = self.directory / "targets.json"
        self.data_dir = self.directory / "data"
        self.log_file = self.directory / "prometheus.log"
        self._lock: int | None = None
        self._proc: subprocess.Popen | None = None
        self.started_at: float | None = None  # time.monotonic() at its start
        self._http: httpx.Client | None = None

    @property
    def address(self) -> str:
        if self.port is None:
            raise LoadlabError("Prometheus has no port before it is started", FAILED)
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The Prometheus process, leader of its own process group; None when not started."""
        return self._proc.pid if self._proc is not None else None

    def command(self) -> list[str]:
        return [
            self.binary,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.data_dir}",
            # Retention counts back from the newest sample: keep a run's data when its TSDB is reopened later.
            "--storage.tsdb.retention.time=10y",
            f"--web.listen-address={self.address}",
        ]

    def start(self, timeout: float = READY_TIMEOUT_S) -> Self:
        """Render the config, start Prometheus and return once `/-/ready` answers 200."""
        if self._proc is not None:
            raise LoadlabError("Prometheus is already started", FAILED)
        if not self.scrape and not (self.data_dir.is_dir() and any(self.data_dir.iterdir())):
            raise LoadlabError(f"no Prometheus data to reopen in {self.data_dir}")
        if self.port is not None and not procs.port_is_free(HOST, self.port):
            raise LoadlabError(f"port {self.port} on {HOST} is already in use; pick another port for Prometheus")
        self._take_lock()
        try:
            if self.port is None:
                self.port = procs.free_port(HOST, preferred=PREFERRED_PORT)
            elif not procs.port_is_free(HOST, self.port):
                raise LoadlabError(f"port {self.port} on {HOST} is already in use; pick another port for Prometheus")
            if self.scrape:
                self.config_file.write_text(render_config(self.address, self.targets_file))
                if not self.targets_file.exists():
                    self.set_targets([])
            else:
                self.config_file.write_text(render_reopened_config())
            self.started_at = time.monotonic()
            self._proc = procs.start(self.command(), log=self.log_file, cwd=self.directory)
            self._http = httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT_S)
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _take_lock(self) -> None:
        """One Prometheus per folder: two on one TSDB corrupt it, and Debian's build does not lock it by default."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LoadlabError(f"another Prometheus is already using {self.directory}", FAILED) from None
        self._lock = fd

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise LoadlabError(
                    f"Prometheus exited with status {code} before it was ready: {self._last_log_line()} "
                    f"(log: {self.log_file})",
                    FAILED,
                )
            try:
                if self._http.get("/-/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise LoadlabError(f"Prometheus was not ready within {timeout:g}s (log: {self.log_file})", FAILED)
            time.sleep(POLL_S)

    def _last_log_line(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1][:300] if lines else "empty log"

    def stop(self) -> int | None:
        """Stop Prometheus (it flushes its TSDB) and its process group; return its exit code."""
        if self._http is not None:
            self._http.close()
            self._http = None
        proc, self._proc = self._proc, None
        code = procs.stop(proc) if proc is not None else None
        if self._lock is not None:
            os.close(self._lock)  # closing releases the flock
            self._lock = None
        return code

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- scrape targets ---

    def set_targets(self, targets: Iterable[ScrapeTarget]) -> None:
        """Make `targets` the complete set of processes scraped (besides Prometheus itself)."""
        targets = list(targets)
        for t in targets:
            if t.job not in FILE_SD_JOBS:
                raise LoadlabError(f"unknown scrape job {t.job!r}; expected one of {', '.join(FILE_SD_JOBS)}", FAILED)
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomically(self.targets_file, json.dumps([t.file_sd_entry() for t in targets], indent=2) + "\n")

    def active_targets(self) -> list[dict[str, Any]]:
        """`/api/v1/targets` active targets: labels, scrapeUrl, health ("up", "down", "unknown"), lastError."""
        return self._api("/api/v1/targets", {"state": "active"})["activeTargets"]

    def discovered(self, address: str, job: str = TARGETS_JOB) -> bool:
        """Whether Prometheus scrapes `address` in `job` already (up or not): its first scrape is then at most
        one scrape interval away from the moment the process listens."""
        return any(
            t["labels"].get("instance") == address and t["labels"].get("job") == job for t in self.active_targets()
        )

    def first_scrape_by(self) -> float:
        """The time.monotonic() by which a target in the file_sd file at the start, listening by then, has
        been scraped once: its first discovery is due a fixed time after the start."""
        if self.started_at is None:
            raise LoadlabError("Prometheus is not started", FAILED)
        return self.started_at + FIRST_DISCOVERY_S + SCRAPE_INTERVAL_S

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

    # --- queries ---

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
