"""A private, native Prometheus for a run: config, start, scrape targets, stop (its queries: prometheus_api).

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
import os
import shutil
import string
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from loadlab import REPO
from loadlab.contract.metrics import LOCUST_JOB, RUN_LABELS, TARGETS_JOB
from loadlab.errors import FAILED, LoadlabError
from loadlab.stack import ports, procs
from loadlab.stack.prometheus_api import POLL_S, PrometheusAPI

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


def write_targets(path: Path, targets: Iterable[ScrapeTarget]) -> None:
    """The file_sd file listing exactly `targets` (besides Prometheus itself), replaced atomically."""
    targets = list(targets)
    for t in targets:
        if t.job not in FILE_SD_JOBS:
            raise LoadlabError(f"unknown scrape job {t.job!r}; expected one of {', '.join(FILE_SD_JOBS)}", FAILED)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps([t.file_sd_entry() for t in targets], indent=2) + "\n")


def lock_folder(directory: Path) -> int:
    """One Prometheus per folder: two on one TSDB corrupt it, and Debian's build does not lock it by
    default. The lock's file descriptor; closing it releases the lock."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LoadlabError(f"another Prometheus is already using {directory}", FAILED) from None
    return fd


def last_line(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1][:300] if lines else "empty log"


class Prometheus(PrometheusAPI):
    """A Prometheus process whose config, file_sd targets, TSDB and log all live in `directory`; its
    HTTP API (queries, scrape targets, waits) comes from PrometheusAPI.

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
        if self.port is not None and not ports.port_is_free(HOST, self.port):
            raise LoadlabError(f"port {self.port} on {HOST} is already in use; pick another port for Prometheus")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = lock_folder(self.directory)
        try:
            if self.port is None:
                self.port = ports.free_port(HOST, preferred=PREFERRED_PORT)
            elif not ports.port_is_free(HOST, self.port):
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

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise LoadlabError(
                    f"Prometheus exited with status {code} before it was ready: {last_line(self.log_file)} "
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
        write_targets(self.targets_file, targets)

    def first_scrape_by(self) -> float:
        """The time.monotonic() by which a target in the file_sd file at the start, listening by then, has
        been scraped once: its first discovery is due a fixed time after the start."""
        if self.started_at is None:
            raise LoadlabError("Prometheus is not started", FAILED)
        return self.started_at + FIRST_DISCOVERY_S + SCRAPE_INTERVAL_S
