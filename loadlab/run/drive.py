"""Driving one point: open Locust's gate once the target is healthy and scraped, follow the load to
its end, and stop Locust; a target that dies ends the run, Ctrl-C keeps what was measured.

In a capacity search, a step that is clearly broken is stopped early (see `Driver.clearly_broken`).
"""

import logging
import math
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from loadlab import queries
from loadlab.config.run_config import Point, RunConfig
from loadlab.contract import metrics as m
from loadlab.contract import routes
from loadlab.errors import FAILED, LoadlabError
from loadlab.results.folder import RunFolder
from loadlab.run import apart
from loadlab.run.processes import LINGER_S, Processes, Upcoming
from loadlab.run.progress import RunProgress
from loadlab.run.slots import Slot
from loadlab.stack import procs, services
from loadlab.stack.prometheus import LOCUST_JOB, TARGETS_JOB, Prometheus

STOP_POLL_S = 0.1
TICK_S = 0.5
# A capacity search's step is stopped early when, this long into its measured window, the target
# served under this share of the offered rate over the last CUT_WINDOW (a step must serve 90 % to hold)
CUT_CHECK_AFTER_S = 2.0
CUT_SERVED_SHARE = 0.75
CUT_WINDOW = "3s"
WORKERS_TIMEOUT_S = 60.0  # how long a Locust master waits for workers started apart (--locust-workers)
WORKERS_TIMEOUT_ENV = "LOADLAB_WORKERS_TIMEOUT_S"

log = logging.getLogger(__name__)


@dataclass
class Driven:
    """How a point's load went: when it started and stopped (Unix time), how long it loaded, whether
    Ctrl-C cut it (partial) and why a search stopped it early ("" when it ran to its end)."""

    started: float
    stopped_at: float
    load_s: float
    partial: bool
    cut: str
    baseline_at: float | None = None  # a long-lived target's last scrape before the load (Slot.long_lived)


class Driver:
    def __init__(
        self,
        config: RunConfig,
        folder: RunFolder,
        prometheus: Prometheus,
        progress: RunProgress,
        processes: Processes,
    ) -> None:
        self.config, self.folder, self.prometheus = config, folder, prometheus
        self.progress, self.processes = progress, processes

    def drive(
        self,
        upcoming: Upcoming,
        target: services.Service,
        before_measuring: Callable[[], None],
        in_warmup: Callable[[], None],
        on_users_stopped: Callable[[], None],
    ) -> Driven:
        """Open Locust's gate and run it until its users have stopped. `before_measuring` runs once
        both sides are scraped, `in_warmup` right after, `on_users_stopped` when the load ends whole."""
        c, slot = self.config, upcoming.slot
        point = slot.point
        log_file = self.folder.log(f"{point.id}-locust")
        if upcoming.locust is None:
            upcoming.locust = self.processes.start_locust(slot)
        locust = upcoming.locust
        if locust.poll() is not None:
            raise LoadlabError(
                f"Locust exited with status {locust.returncode} before its start; see {log_file}", FAILED
            )
        # a target not started for this point (--target-host): its counts before the load, scraped now
        baseline_at = scraped_after(self.prometheus, slot, time.time()) if slot.long_lived else None
        self.processes.open_gate(slot)  # the target answers its health check: load from now on
        if c.locust_workers:
            self.wait_for_workers(locust, slot)  # the master starts the test once they have all connected
        started, start = time.time(), time.monotonic()
        planned_end = start + c.load_s
        deadline = planned_end + 60 + LINGER_S
        partial, cut = False, ""
        next_check = start + c.warmup_s + CUT_CHECK_AFTER_S
        try:
            self.wait_until_up(slot, target)
            if (late := time.monotonic() - (start + c.warmup_s)) > 0:
                log.warning(f"{point.id}: Prometheus first scraped the target {late:.1f}s into the measured window")
            self.prometheus.wait_until_up(slot.locust_address, job=LOCUST_JOB)
            before_measuring()
            in_warmup()
            while not self.users_stopped(locust, slot, planned_end):
                if not target.alive():
                    raise target_died(point, target)
                if time.monotonic() > deadline:
                    raise LoadlabError(f"Locust did not finish within {c.load_s:g}s of load; see {log_file}", FAILED)
                elapsed = time.monotonic() - start
                phase = "warm-up" if elapsed < c.warmup_s else "measuring" if elapsed < c.load_s else "stopping"
                self.progress.phase(slot.title, f"{phase} {min(elapsed, c.load_s):.0f}/{c.load_s:g}s", elapsed)
                if self.processes.searching and next_check <= time.monotonic() < planned_end - 1:
                    next_check = time.monotonic() + 1
                    cut = self.clearly_broken(slot)
                    if cut:
                        self.progress.phase(slot.title, f"stopped early: {cut}")
                        break
                time.sleep(TICK_S if time.monotonic() < planned_end - TICK_S else STOP_POLL_S)
        except KeyboardInterrupt:
            partial = True
            self.progress.phase(slot.title, "interrupted: keeping what was measured")
        stopped_at = time.time()
        load_s = max(0.0, time.monotonic() - start - c.warmup_s)
        if not partial:
            on_users_stopped()
        # Locust lingers until Prometheus has its final counts; on Ctrl-C, SIGTERM makes it quit the same way.
        try:
            code = procs.stop(locust, timeout=LINGER_S + 10) if partial or cut else locust.wait(LINGER_S + 10)
        except subprocess.TimeoutExpired:
            code = procs.stop(locust)
        except KeyboardInterrupt:
            partial = True
            code = procs.stop(locust, timeout=LINGER_S + 10)
        if not partial and not cut and code not in (0, 1):  # 1: some requests failed, which the result reports
            raise LoadlabError(f"Locust exited with status {code}; see {log_file}", FAILED)
        return Driven(started, stopped_at, load_s, partial, cut, baseline_at)

    def clearly_broken(self, slot: Slot) -> str:
        """Why a search's step need not run to its end, or "": over the last seconds the target served
        well under the rate offered, far below what a step must serve to hold (judge.capacity)."""
        rate = slot.point.rate
        sel = queries.selector(
            run_id=slot.labels["run_id"], target=slot.point.target, scenario=slot.point.scenario.name
        )
        served = self.prometheus.scalar(queries.client_rps(sel, CUT_WINDOW), time.time()) if rate else None
        if rate and served is not None and served < CUT_SERVED_SHARE * rate:
            return f"served {served:.0f} of {rate:g} rps offered over the last {CUT_WINDOW}"
        return ""

    def wait_for_workers(self, locust: subprocess.Popen, slot: Slot) -> None:
        """Until Locust's test runs: its master has seen --expect-workers workers connect."""
        timeout = float(os.environ.get(WORKERS_TIMEOUT_ENV, WORKERS_TIMEOUT_S))
        self.progress.phase(slot.title, f"waiting for {self.config.locust_workers} Locust workers")
        deadline = time.monotonic() + timeout
        while not locust_test_running(f"http://{slot.locust_address}"):
            if locust.poll() is not None or time.monotonic() > deadline:
                procs.stop(locust)
                raise LoadlabError(
                    f"Locust's master did not see {self.config.locust_workers} workers within {timeout:g}s "
                    f"({apart.arrivals(apart.workers_file(self.folder, slot.point.id))}; are the workers up? "
                    f"see {self.folder.log(slot.point.id + '-locust')})",
                    FAILED,
                )
            time.sleep(STOP_POLL_S)

    def wait_until_up(self, slot: Slot, target: services.Service) -> None:
        """Until Prometheus has scraped the target; a target that died meanwhile is named as such.
        A service loadlab did not start (`--url`) has no metrics to scrape."""
        if slot.external:
            return
        try:
            self.prometheus.wait_until_up(slot.metrics_address)
        except LoadlabError:
            if not target.alive():
                raise target_died(slot.point, target) from None
            raise

    def users_stopped(self, locust: subprocess.Popen, slot: Slot, planned_end: float) -> bool:
        """Locust has exited, or (once the planned load is over) reports its test no longer running."""
        if locust.poll() is not None:
            return True
        if time.monotonic() < planned_end:
            return False
        return locust_test_running(f"http://{slot.locust_address}") is False


def scraped_after(prometheus: Prometheus, slot: Slot, after: float, timeout: float = 30.0) -> float:
    """The time of the first successful scrape of the slot's own target series (its labels: several
    points' series share one long-lived target's address) that started after `after` (Unix time)."""
    selector = queries.scrape_up(TARGETS_JOB, slot.metrics_address, queries.selector(run_id=slot.labels["run_id"]))
    deadline = time.monotonic() + timeout
    while True:
        window = f"{max(5, math.ceil(time.time() - after) + 5)}s"
        samples = prometheus.samples(selector, window)
        scraped = [t for series in samples for t, up in series.points if up == 1 and t > after]
        if scraped:
            return min(scraped)
        if time.monotonic() > deadline:
            raise LoadlabError(f"no successful scrape of {slot.metrics_address} within {timeout:g}s", FAILED)
        time.sleep(STOP_POLL_S)


def target_died(point: Point, target: services.Service) -> LoadlabError:
    return LoadlabError(f"{point.target} target died mid-run (exit {target.proc.returncode}); see {target.log}", FAILED)


def check_health(point: Point, url: str) -> None:
    """Load only a target whose database and upstream answer: else every request would be an error."""
    try:
        response = httpx.get(url + routes.HEALTHZ, timeout=10)
    except httpx.HTTPError as exc:
        raise LoadlabError(f"{point.target} target at {url} does not answer: {exc}", FAILED) from None
    if response.status_code != 200:
        down = response.json().get("down", []) if "json" in response.headers.get("content-type", "") else []
        raise LoadlabError(
            f"{point.target} target is not healthy ({', '.join(down) or response.status_code} down): "
            f"{response.text[:200]}",
            FAILED,
        )


def locust_test_running(url: str) -> bool | None:
    """Locust's `locust_test_running` gauge at `url`; None when its exporter does not answer."""
    try:
        text = httpx.get(url + "/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    for family in text_string_to_metric_families(text):
        if family.name == m.LOCUST_TEST_RUNNING:
            return bool(family.samples[0].value)
    return None
