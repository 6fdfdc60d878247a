"""`loadlab run`: the whole native stack for one run, data flowing one way.

    config -> stack (PostgreSQL if none answers, Prometheus, upstream)
           -> for each point: target, Locust -> Locust's CSV + Prometheus -> PointResult
           -> verdicts (SLO, trust) -> results/<run_id>/summary.json (after every point) -> table

The run's time goes to load. Prometheus passes new scrape targets to its scrapers only every
5 s, so every point's scrape targets (fixed ports, full labels) are registered when it starts,
and each is scraped from the moment its process listens. The next point's processes start during
the current point's warm-up at the lowest CPU priority (nice 19), so that they run almost only on
CPU the measured point leaves idle: its target, and its Locust, which waits at its gate. They get
their normal priority the moment the current point's users stop, while Locust and the finished
target hand their final counts to Prometheus. A finished target stops in the background. Each point's timing
(set-up, warm-up, load, drain) goes to `logs/run.log` and into its result.

Every process it starts is stopped on every exit path (success, failure, Ctrl-C, SIGTERM): they
are entered into one ExitStack, and each also dies with loadlab through PR_SET_PDEATHSIG. Ctrl-C
in the middle of a point keeps that point, summarized as far as it got and marked partial.
"""

import json
import logging
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from loadlab import REPO, durations, queries
from loadlab.config.run_config import Point, RunConfig, plan, run_label
from loadlab.console.progress import RunProgress
from loadlab.contract import metrics as m
from loadlab.contract import routes
from loadlab.contract.settings import DATABASE_URL_ENV, UPSTREAM_URL_ENV
from loadlab.errors import FAILED, LoadlabError
from loadlab.judge import slo, trust
from loadlab.load.command import command
from loadlab.results.folder import RunFolder, write_text
from loadlab.results.locust_csv import read_locust_row, read_ramp_steps
from loadlab.results.point import PhaseTiming, PointResult, RunSummary
from loadlab.stack import database, procs, servers, services
from loadlab.stack.placement import MASTER_PORT, Placement
from loadlab.stack.prometheus import LOCUST_JOB, TARGETS_JOB, Prometheus, ScrapeTarget, find_binary
from loadlab.stack.servers import ServerSpec

LINGER_S = 5.0  # at most: Locust serves its final counts until Prometheus has scraped them (about 1 s)
STOP_POLL_S = 0.1
TICK_S = 0.5
HOST = "127.0.0.1"
WARMUP_FOR_FIRST_SCRAPE_S = 2.0
# The next point's target and Locust start in this point's warm-up at the lowest CPU priority: they run
# almost only on CPU this point leaves idle, and get their normal priority (nice 0) the moment this
# point's users stop. Only where loadlab may raise a priority again (root, or RLIMIT_NICE); elsewhere
# they start then.
EARLY_NICE = 19
FIRST_SCRAPE_MARGIN_S = 0.5  # a target's first scrape comes at least this long before its measured window
# A capacity search's step is stopped early when, this long into its measured window, the target
# served under this share of the offered rate over the last CUT_WINDOW (a step must serve 90 % to hold)
CUT_CHECK_AFTER_S = 2.0
CUT_SERVED_SHARE = 0.75
CUT_WINDOW = "3s"
WORKERS_TIMEOUT_S = 60.0  # how long a Locust master waits for workers started apart (--locust-workers)
WORKERS_TIMEOUT_ENV = "LOADLAB_WORKERS_TIMEOUT_S"  # a warm-up this long holds a target's first scrape (1 s interval)

log = logging.getLogger("loadlab.run")

NextRate = Callable[[list[PointResult]], float | None]


@dataclass(frozen=True)
class Slot:
    """A point with the ports and labels it will use, fixed when the run starts."""

    point: Point
    title: str  # "[2/11] async io-sleep"
    target_port: int
    locust_port: int
    labels: dict[str, str]

    @property
    def target_address(self) -> str:
        return f"{HOST}:{self.target_port}"

    @property
    def locust_address(self) -> str:
        return f"{HOST}:{self.locust_port}"

    def scrape_targets(self) -> list[ScrapeTarget]:
        return [
            ScrapeTarget(TARGETS_JOB, self.target_address, **self.labels),
            ScrapeTarget(LOCUST_JOB, self.locust_address, **self.labels),
        ]


def slots(config: RunConfig, run_id: str, points: list[Point]) -> list[Slot]:
    ports = procs.free_ports(2 * len(points))
    return [
        Slot(
            point,
            f"[{i + 1}/{len(points)}] {point.target} {point.scenario.name}",
            ports[2 * i],
            ports[2 * i + 1],
            {
                "run_id": run_label(run_id, point.id),
                "target": point.target,
                "server": config.server,
                "workers": str(config.workers),
                "scenario": point.scenario.name,
            },
        )
        for i, point in enumerate(points)
    ]


@dataclass
class Upcoming:
    """A point's processes, started before it (in the point before's warm-up at nice 19, or once that
    point's users stopped): its target, and its Locust waiting at the gate (loadlab.load.gate) until
    the target is healthy. A Locust whose workers run apart starts only once the last one has quit:
    there is one master port, which the workers know."""

    slot: Slot
    target: Future
    locust: subprocess.Popen | None


class Run:
    def __init__(self, config: RunConfig, folder: RunFolder, stack: ExitStack, progress: RunProgress) -> None:
        self.config, self.folder, self.stack, self.progress = config, folder, stack, progress
        self.limits = slo.load(Path(config.slo_file))
        self.summary = RunSummary(folder.run_id, "running", time.time(), asdict(config))
        folder.write_summary(self.summary)
        self.env: dict[str, str] = {}
        self._targets: list[services.Service] = []  # every process started, for the clean-up
        self._locusts: list[subprocess.Popen] = []
        self.interrupted = False  # Ctrl-C came while a finished point was being summarized
        self.background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="loadlab-stack")
        self.placement = Placement.from_env()
        self.next_rate: NextRate | None = None  # a capacity search: each point's rate from the results so far
        self.early_starts = procs.can_raise_priority()

    # --- the stack ---

    def start_stack(self, run_slots: list[Slot]) -> None:
        c = self.config
        # Prometheus first: it hands its targets to its scrapers only 5 s after its start (see
        # Prometheus.first_scrape_by), and the rest of the stack starts meanwhile
        self.prometheus = Prometheus(self.folder.path / "prometheus")
        self.prometheus.set_targets(t for s in run_slots for t in s.scrape_targets())
        self.placement.publish(t for s in run_slots for t in s.scrape_targets())
        self.stack.callback(self.placement.unpublish)
        self.stack.enter_context(self.prometheus)
        database_url, why = database.for_run(self.stack, self.folder.log("postgres"))
        if database_url:
            self.env[DATABASE_URL_ENV] = database_url
            self.progress.note(f"loadlab: {why}")
            log.info(why)
        self.upstream = services.start_upstream(procs.free_port(preferred=8010), self.folder.log("upstream"))
        self.stack.callback(self.upstream.stop)
        self.env[UPSTREAM_URL_ENV] = self.upstream.url
        log.info(f"stack up: Prometheus {self.prometheus.url}, upstream {self.upstream.url}, {c.server} x{c.workers}")

    def _spec(self, slot: Slot) -> ServerSpec:
        c = self.config
        return ServerSpec(
            slot.point.target, c.server, c.workers, host=self.placement.bind, port=slot.target_port, loop=c.loop
        )

    def _launch_target(self, slot: Slot, nice: int = 0) -> services.Service:
        """The slot's target, started here: every process is started (and known to `_stop_all`) in the
        main thread, so a clean-up never waits for a start to end."""
        c = self.config
        log_file = self.folder.log(f"{slot.point.id}-target")
        target = services.launch_target(self._spec(slot), log_file, c.threads, c.db_pool, env=self.env, nice=nice)
        self._targets.append(target)
        return target

    def _ready(self, slot: Slot, target: services.Service) -> Future:
        """The target once it serves, waited for in the background."""
        return self.background.submit(target.wait_ready, **services.target_ready(self._spec(slot)))

    def _start_locust(self, slot: Slot, nice: int = 0) -> subprocess.Popen:
        """Locust for `slot`, held at its gate until `open_gate(slot)`."""
        c, point = self.config, slot.point
        metrics_dir = self.folder.path / "locust" / f"{point.id}.metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir()
        cmd = command(
            c.load(point),
            # the address Locust's workers reach the target at: in the compose stack they run elsewhere
            f"http://{self.placement.advertise}:{slot.target_port}",
            point.scenario.name,
            c.load_s,
            warmup_s=c.warmup_s,
            csv_prefix=self.folder.locust_prefix(point.id),
            prometheus_port=slot.locust_port,
            linger_s=LINGER_S,
            start_file=self._gate(slot),
            bind=self.placement.bind,
            master_port=MASTER_PORT,
        )
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        locust = procs.start(cmd, env=env, log=self.folder.log(f"{point.id}-locust"), cwd=REPO, nice=nice)
        self._locusts.append(locust)
        return locust

    def _gate(self, slot: Slot) -> Path:
        return self.folder.path / "locust" / f"{slot.point.id}.start"

    def _start_point(self, slot: Slot, locust: subprocess.Popen | None = None) -> Upcoming:
        return Upcoming(slot, self._ready(slot, self._launch_target(slot)), locust)

    def _start_waiting_locust(self, slot: Slot, nice: int = 0) -> subprocess.Popen | None:
        """Locust for `slot`, waiting at its gate; None when its workers run apart: they need the one
        master port free, so that Locust starts only when its point does."""
        return None if self.config.locust_workers else self._start_locust(slot, nice)

    def _start_processes(self, slot: Slot, nice: int = 0) -> tuple[subprocess.Popen | None, services.Service]:
        """The slot's Locust (waiting at its gate) and target, both at niceness `nice`."""
        return self._start_waiting_locust(slot, nice), self._launch_target(slot, nice)

    def _open_gate(self, slot: Slot) -> None:
        """Load from now on. A capacity search's Locust learns its step's rate here: it was started
        before the step before it was judged."""
        settings = {"rate": slot.point.rate} if self.next_rate is not None else {}
        write_text(self._gate(slot), json.dumps(settings) if settings else "")

    def _stop_all(self) -> None:
        for locust in self._locusts:
            procs.stop(locust)
        for target in self._targets:
            target.stop()

    # --- the points ---

    def measure_all(self, run_slots: list[Slot]) -> None:
        # On the way out (the stack unwinds in reverse) targets and Locusts stop first, which also ends
        # the waits for them running beside the main thread; then those threads are joined.
        self.stack.callback(self.background.shutdown, wait=True, cancel_futures=True)
        self.stack.callback(self._stop_all)
        upcoming: Upcoming | None = self._start_point(run_slots[0], self._start_waiting_locust(run_slots[0]))
        previous_stop: Future | None = None
        point_end = time.monotonic()
        for following in [*run_slots[1:], None]:
            assert upcoming is not None  # every point but the last starts the next one's processes
            if self.next_rate is not None:
                rate = self.next_rate(self.summary.points)
                if rate is None:
                    break  # the search is over: the started target is stopped with the rest
                upcoming.slot = replace(upcoming.slot, point=replace(upcoming.slot.point, rate=rate))
            result, upcoming, previous_stop = self.measure(upcoming, following, previous_stop, point_end)
            point_end = time.monotonic()
            self.summary.points.append(result)
            self.folder.write_summary(self.summary)
            if result.partial or self.interrupted:
                raise KeyboardInterrupt
        else:
            if self.next_rate is not None:
                self.next_rate(self.summary.points)  # the last point is judged too
        if previous_stop is not None:
            previous_stop.result()

    def measure(
        self, upcoming: Upcoming, following: Slot | None, previous_stop: Future | None, since: float
    ) -> tuple[PointResult, Upcoming | None, Future | None]:
        """Measure a point; start the following point's processes once this one's users have stopped.
        Returns the result, the following point's processes and this target's stop."""
        c, slot = self.config, upcoming.slot
        self.progress.phase(slot.title, f"starting {c.server} x{c.workers}")
        target = upcoming.target.result()
        check_health(slot.point, target.url)
        # Prometheus must have scraped the target before the measured window. When it already scrapes its
        # address, that happens within one interval, during the warm-up. A Prometheus just started (the
        # first point) discovers its targets at a known time after its start: load may begin once that
        # falls inside the warm-up. A short warm-up waits for the first scrape.
        if c.warmup_s < WARMUP_FOR_FIRST_SCRAPE_S:
            self._wait_until_up(slot, target)
        elif not self.prometheus.discovered(slot.target_address):
            warmup_ends = time.monotonic() + c.warmup_s - FIRST_SCRAPE_MARGIN_S
            time.sleep(max(0.0, self.prometheus.first_scrape_by() - warmup_ends))
        next_point: list[Upcoming] = []
        early: list[tuple[subprocess.Popen | None, services.Service]] = []  # started while this point runs

        def in_warmup() -> None:
            if following is not None and self.early_starts:
                early.append(self._start_processes(following, nice=EARLY_NICE))

        def start_following() -> None:  # the moment this point's users have stopped
            if following is None:
                return
            if early:
                locust, target = early[0]
                for proc in (locust, target.proc):
                    if proc is not None:
                        procs.set_group_priority(proc.pid, 0)
            else:
                locust, target = self._start_processes(following)
            next_point.append(Upcoming(following, self._ready(following, target), locust))

        try:
            timing = PhaseTiming(setup_s=time.monotonic() - since, warmup_s=c.warmup_s)
            started, stopped_at, partial, cut = self.drive(
                upcoming, target, previous_stop, timing, in_warmup, start_following
            )
            drain_from = time.monotonic() - (time.time() - stopped_at)
            result, interrupted = self.drain(slot, started, stopped_at, partial)
        finally:
            stop = self.background.submit(target.stop)
        timing.drain_s = time.monotonic() - drain_from
        result.timing = timing
        result.cut_short = cut
        log.info(
            f"{slot.point.id}: set-up {timing.setup_s:.1f}s, warm-up {timing.warmup_s:g}s, "
            f"load {timing.load_s:.1f}s, drain {timing.drain_s:.1f}s{' (partial)' if partial else ''}"
        )
        self.progress.point_done(
            f"{slot.title}: {result.requests} requests, {result.rps or 0:.1f} rps, p99 {_fmt(result.p99_ms)} ms"
            f"{' (UNTRUSTWORTHY)' if result.untrustworthy else ''}{' (partial)' if partial else ''}"
            f"  [set-up {timing.setup_s:.1f}s, drain {timing.drain_s:.1f}s]"
        )
        if interrupted and not partial:
            self.interrupted = True  # after this point, which is whole: measure_all keeps it, then stops
        return result, (next_point[0] if next_point else None), stop

    def drive(
        self,
        upcoming: Upcoming,
        target: services.Service,
        previous_stop: Future | None,
        timing: PhaseTiming,
        in_warmup: Callable[[], None],
        on_users_stopped: Callable[[], None],
    ) -> tuple[float, float, bool, str]:
        """Open Locust's gate and run it until its users have stopped; return (Unix start, Unix stop,
        partial, why it was cut short or "").

        A target that dies ends the run; Ctrl-C stops Locust gracefully and marks the point partial.
        In a capacity search, a step that is clearly broken is stopped early (see `_clearly_broken`)."""
        c, slot = self.config, upcoming.slot
        point = slot.point
        log_file = self.folder.log(f"{point.id}-locust")
        if upcoming.locust is None:
            upcoming.locust = self._start_locust(slot)
        locust = upcoming.locust
        if locust.poll() is not None:
            raise LoadlabError(
                f"Locust exited with status {locust.returncode} before its start; see {log_file}", FAILED
            )
        self._open_gate(slot)  # the target answers its health check: load from now on
        if c.locust_workers:
            self._wait_for_workers(locust, slot)  # the master starts the test once they have all connected
        started, start = time.time(), time.monotonic()
        planned_end = start + c.load_s
        deadline = planned_end + 60 + LINGER_S
        partial, cut = False, ""
        next_check = start + c.warmup_s + CUT_CHECK_AFTER_S
        try:
            self._wait_until_up(slot, target)
            if (late := time.monotonic() - (start + c.warmup_s)) > 0:
                log.warning(f"{point.id}: Prometheus first scraped the target {late:.1f}s into the measured window")
            self.prometheus.wait_until_up(slot.locust_address, job=LOCUST_JOB)
            if previous_stop is not None:
                previous_stop.result()  # the last target is gone before this point's measured window
            in_warmup()
            while not self._users_stopped(locust, slot, planned_end):
                if not target.alive():
                    raise _target_died(point, target)
                if time.monotonic() > deadline:
                    raise LoadlabError(f"Locust did not finish within {c.load_s:g}s of load; see {log_file}", FAILED)
                elapsed = time.monotonic() - start
                phase = "warm-up" if elapsed < c.warmup_s else "measuring" if elapsed < c.load_s else "stopping"
                self.progress.phase(slot.title, f"{phase} {min(elapsed, c.load_s):.0f}/{c.load_s:g}s", elapsed)
                if self.next_rate is not None and next_check <= time.monotonic() < planned_end - 1:
                    next_check = time.monotonic() + 1
                    cut = self._clearly_broken(slot)
                    if cut:
                        self.progress.phase(slot.title, f"stopped early: {cut}")
                        break
                time.sleep(TICK_S if time.monotonic() < planned_end - TICK_S else STOP_POLL_S)
        except KeyboardInterrupt:
            partial = True
            self.progress.phase(slot.title, "interrupted: keeping what was measured")
        stopped_at = time.time()
        timing.load_s = max(0.0, time.monotonic() - start - c.warmup_s)
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
        return started, stopped_at, partial, cut

    def _clearly_broken(self, slot: Slot) -> str:
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

    def _wait_for_workers(self, locust: subprocess.Popen, slot: Slot) -> None:
        """Until Locust's test runs: its master has seen --expect-workers workers connect."""
        timeout = float(os.environ.get(WORKERS_TIMEOUT_ENV, WORKERS_TIMEOUT_S))
        self.progress.phase(slot.title, f"waiting for {self.config.locust_workers} Locust workers")
        deadline = time.monotonic() + timeout
        while not locust_test_running(f"http://{slot.locust_address}"):
            if locust.poll() is not None or time.monotonic() > deadline:
                procs.stop(locust)
                raise LoadlabError(
                    f"Locust's master did not see {self.config.locust_workers} workers within {timeout:g}s "
                    f"(are the locust-worker containers up? see {self.folder.log(slot.point.id + '-locust')})",
                    FAILED,
                )
            time.sleep(STOP_POLL_S)

    def _wait_until_up(self, slot: Slot, target: services.Service) -> None:
        """Until Prometheus has scraped the target; a target that died meanwhile is named as such."""
        try:
            self.prometheus.wait_until_up(slot.target_address)
        except LoadlabError:
            if not target.alive():
                raise _target_died(slot.point, target) from None
            raise

    def drain(self, slot: Slot, started: float, stopped_at: float, partial: bool) -> tuple[PointResult, bool]:
        """The point's result once both sides' final counts are in Prometheus. A Ctrl-C meanwhile does
        not lose the point: the result is finished first; (result, whether Ctrl-C came)."""
        interrupted = False
        while True:
            try:
                at = max(
                    self.prometheus.wait_for_scrape(slot.target_address, after=stopped_at),
                    self.final_locust_scrape(slot, stopped_at),
                )
                return self.result(slot, started, stopped_at, at, partial), interrupted
            except KeyboardInterrupt:
                interrupted = True

    def final_locust_scrape(self, slot: Slot, stopped_at: float, timeout: float = 30.0) -> float:
        """The time of the first scrape of Locust that shows its test stopped: its counts are final there.

        Locust may be scraped, and quit, before this process notices its users stopped, so this looks
        for the change of `locust_test_running` from 1 to 0 (or a 0 scraped after `stopped_at`)."""
        selector = f'{m.LOCUST_TEST_RUNNING}{{job="{LOCUST_JOB}", instance="{slot.locust_address}"}}'
        deadline = time.monotonic() + timeout
        while True:
            window = f"{math.ceil(time.time() - stopped_at) + math.ceil(self.config.load_s) + 30}s"
            running = False
            for t, value in sorted(p for s in self.prometheus.samples(selector, window) for p in s.points):
                if value == 1:
                    running = True
                elif running or t > stopped_at:
                    return t
            if time.monotonic() > deadline:
                raise LoadlabError(f"Prometheus never scraped Locust's final counts ({slot.locust_address})", FAILED)
            time.sleep(STOP_POLL_S)

    def _users_stopped(self, locust, slot: Slot, planned_end: float) -> bool:
        """Locust has exited, or (once the planned load is over) reports its test no longer running."""
        if locust.poll() is not None:
            return True
        if time.monotonic() < planned_end:
            return False
        return locust_test_running(f"http://{slot.locust_address}") is False

    def result(self, slot: Slot, started: float, stopped_at: float, at: float, partial: bool) -> PointResult:
        """One point's result: Locust's CSV (post warm-up) plus what Prometheus saw on both sides."""
        c, point = self.config, slot.point
        row = read_locust_row(self.folder.locust_prefix(point.id), point.scenario.route)
        measured = f"{max(1, round(at - (started + c.warmup_s)))}s"  # the measured part, after warm-up
        whole = f"{math.ceil(at - started) + 10}s"  # the whole point, for totals
        sel = queries.selector(run_id=slot.labels["run_id"], target=point.target, scenario=point.scenario.name)
        route = point.scenario.route
        q = self.prometheus.scalar
        # the target is new with the point, so its counters hold the whole point; its CPU per request
        # counts from its first scrape (after its start-up, and on a first point after load began) on
        server_requests = q(queries.server_requests_total(sel, whole, route), at)
        server_cpu_s = q(queries.server_cpu_seconds(sel, whole), at)
        scraped_requests = q(queries.server_requests_scraped(sel, whole, route), at)
        result = PointResult(
            point=point.id,
            scenario=point.scenario.name,
            target=point.target,
            route=route,
            server=c.server,
            workers=c.workers,
            threads=c.threads,
            db_pool=c.db_pool,
            load_model=c.model,
            users=(point.users or c.users) if c.model != "open" else None,
            rate=(point.rate or c.rate) if c.model == "open" else None,
            duration_s=c.duration_s,
            warmup_s=c.warmup_s,
            started_at=started,
            ended_at=stopped_at,
            **row,
            generator_cpu_max=q(queries.generator_cpu_max(sel, measured), at),
            server_requests=server_requests,
            client_requests=q(queries.client_requests_total(sel, whole, route), at),
            server_cpu_ms_per_request=1000 * server_cpu_s / scraped_requests
            if scraped_requests and server_cpu_s
            else None,
            loop_lag_p99_ms=_ms(q(queries.loop_lag_quantile(0.99, sel, measured), at)),
            partial=partial,
        )
        if c.locust_workers:
            result.locust_workers = c.locust_workers
            # while its users ran (after they stop, the workers leave with their master)
            under_load = stopped_at - 1
            window = f"{max(1, round(under_load - (started + c.warmup_s)))}s"
            result.locust_workers_min = q(queries.locust_workers_min(sel, window), under_load)
        if c.model == "ramp":
            result.steps = read_ramp_steps(self.folder.locust_prefix(point.id))
        if c.model == "open":
            result.late = q(queries.late_total(sel, whole), at)
            result.p99_scheduled_ms = _ms(q(queries.scheduled_latency_quantile(0.99, sel, measured), at))
        result.untrustworthy_reasons = trust.reasons(result)
        result.slo_broken = slo.check(result, self.limits)
        return result

    def finish(self, status: str) -> None:
        self.summary.status = status
        self.summary.ended_at = time.time()
        self.folder.write_summary(self.summary)


def _target_died(point: Point, target: services.Service) -> LoadlabError:
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


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000 * seconds


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def overhead_line(summary: RunSummary, wall_s: float) -> str:
    load = sum(p.warmup_s + p.duration_s for p in summary.points)
    overhead = wall_s - load
    share = f" ({100 * overhead / load:.0f} % of it)" if load else ""
    return (
        f"wall time {durations.render(wall_s)} for {durations.render(load)} of warm-up and load: "
        f"overhead {overhead:.1f}s{share}"
    )


def run(config: RunConfig, next_rate: "NextRate | None" = None, steps: int = 0) -> tuple[RunFolder, RunSummary]:
    """Measure every point; return the folder and the summary. Raises LoadlabError on failure, with
    the summary so far written; KeyboardInterrupt (Ctrl-C, SIGTERM) likewise, status "interrupted".

    A capacity search (loadlab sweep) gives `next_rate` and `steps`: the run's one point is measured
    up to `steps` times in one stack, each time at the rate `next_rate` returns from the results so
    far, until it returns None."""
    points = plan(config)
    if next_rate is not None:
        points = [replace(points[0], step=i + 1) for i in range(steps)]
    # a bad SLO file, a server spec no server runs or a missing Prometheus fails before anything starts
    slo.load(Path(config.slo_file))
    servers.check(ServerSpec("sync", config.server, config.workers), config.threads, config.db_pool)
    find_binary()
    folder = RunFolder.create(Path(config.results_root), config.run_id)
    folder.write_config(asdict(config))
    handler = logging.FileHandler(folder.log("run"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    wall_start = time.monotonic()
    log.info(f"run {folder.run_id}: {len(points)} points of {durations.render(config.load_s)} each")
    try:
        with RunProgress(len(points), config.load_s) as progress, ExitStack() as stack:
            run_ = Run(config, folder, stack, progress)
            run_.next_rate = next_rate
            try:
                run_slots = slots(config, folder.run_id, points)
                run_.start_stack(run_slots)
                run_.measure_all(run_slots)
            except KeyboardInterrupt:
                run_.finish("interrupted")
                raise
            except LoadlabError:
                run_.finish("failed")
                raise
            run_.finish("complete")
        log.info(overhead_line(run_.summary, time.monotonic() - wall_start))
    finally:
        log.removeHandler(handler)
        handler.close()
    return folder, run_.summary
