"""`loadlab run`: the whole native stack for one run, data flowing one way.

    config -> stack (Prometheus; for the lab's targets PostgreSQL if none answers, upstream)  start_stack
           -> for each point: target, Locust (processes) -> load (drive)
           -> Locust's CSV + Prometheus -> PointResult, verdicts (collect)
           -> results/<run_id>/summary.json (after every point) -> table

The run's time goes to load. Prometheus passes new scrape targets to its scrapers only every
5 s, so every point's scrape targets (fixed ports, full labels) are registered when it starts
(slots), and each is scraped from the moment its process listens. The next point's processes start
during the current point's warm-up at the lowest CPU priority (nice 19), so that they run almost only
on CPU the measured point leaves idle: its target, and its Locust, which waits at its gate. They get
their normal priority the moment the current point's users stop, while Locust and the finished
target hand their final counts to Prometheus. A finished target stops in the background. Each
point's timing (set-up, warm-up, load, drain) goes to `logs/run.log` and into its result.

Every process it starts is stopped on every exit path (success, failure, Ctrl-C, SIGTERM): they
are entered into one ExitStack, and each also dies with loadlab through PR_SET_PDEATHSIG. Ctrl-C
in the middle of a point keeps that point, summarized as far as it got and marked partial.
"""

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import asdict, replace
from pathlib import Path

from loadlab import durations
from loadlab.config.run_config import RunConfig, plan
from loadlab.contract.settings import DATABASE_URL_ENV, UPSTREAM_URL_ENV, Settings
from loadlab.errors import LoadlabError
from loadlab.judge import slo
from loadlab.results.folder import RunFolder
from loadlab.results.point import PhaseTiming, PointResult, RunSummary
from loadlab.run.collect import Collector
from loadlab.run.drive import Driver, check_health
from loadlab.run.processes import EARLY_NICE, Pair, Processes, Upcoming
from loadlab.run.progress import RunProgress
from loadlab.run.slots import Slot, slots
from loadlab.stack import database, pinning, ports, procs, servers, services
from loadlab.stack.placement import MASTER_PORT, Placement, reach, reach_targets
from loadlab.stack.prometheus import Prometheus, find_binary
from loadlab.stack.servers import ServerSpec
from loadlab.stack.user_app import wait_healthy

WARMUP_FOR_FIRST_SCRAPE_S = 2.0  # a warm-up this long holds a target's first scrape (1 s interval)
FIRST_SCRAPE_MARGIN_S = 0.5  # a target's first scrape comes at least this long before its measured window

log = logging.getLogger(__name__)

NextRate = Callable[[list[PointResult]], float | None]


class Run:
    def __init__(
        self, config: RunConfig, folder: RunFolder, stack: ExitStack, progress: RunProgress, limits: slo.Limits
    ) -> None:
        self.config, self.folder, self.stack, self.progress, self.limits = config, folder, stack, progress, limits
        self.summary = RunSummary(folder.run_id, "running", time.time(), asdict(config))
        folder.write_summary(self.summary)
        self.env: dict[str, str] = {}
        self.interrupted = False  # Ctrl-C came while a finished point was being summarized
        self.placement = Placement.from_env(config.master_bind, config.target_host)
        self.processes = Processes(config, folder, self.env, self.placement)
        self.next_rate: NextRate | None = None  # a capacity search: each point's rate from the results so far
        self.early_starts = procs.can_raise_priority()

    def start_stack(self, run_slots: list[Slot]) -> None:
        c = self.config
        # Prometheus first: it hands its targets to its scrapers only 5 s after its start (see
        # Prometheus.first_scrape_by), and the rest of the stack starts meanwhile
        self.prometheus = Prometheus(self.folder.prometheus_dir)
        self.prometheus.set_targets(t for s in run_slots for t in s.scrape_targets())
        self.placement.publish(t for s in run_slots for t in s.scrape_targets())
        self.stack.callback(self.placement.unpublish)
        with pinning.side(c.cpus, pinning.GENERATOR):  # Prometheus measures: on the generator's side
            self.stack.enter_context(self.prometheus)
        # a user's app calls neither the lab's upstream nor its PostgreSQL; targets elsewhere call theirs
        if c.own is None and c.target_host is None:
            self.start_lab_services()
        self.driver = Driver(c, self.folder, self.prometheus, self.progress, self.processes)
        self.collector = Collector(c, self.folder, self.prometheus, self.limits)
        log.info(f"stack up: Prometheus {self.prometheus.url}, {c.server} x{c.workers}")
        log.info(f"CPUs: {pinning.describe(c.cpus)}")

    def start_lab_services(self) -> None:
        """What the lab's targets call: PostgreSQL (a private one when none answers) and the upstream."""
        with pinning.side(self.config.cpus, pinning.TARGET):  # what the target calls runs on its side
            database_url, why = database.for_run(self.stack, self.folder.log("postgres"))
            upstream = services.start_upstream(ports.free_port(), self.folder.log("upstream"))
        if database_url:
            self.env[DATABASE_URL_ENV] = database_url
            self.progress.note(f"loadlab: {why}")
            log.info(why)
        # the queueing model's max_connections limit is the server's own figure (a private one's too)
        self.summary.database_max_connections = database.max_connections(database_url or Settings().database_url)
        self.stack.callback(upstream.stop)
        self.env[UPSTREAM_URL_ENV] = upstream.url
        log.info(f"upstream {upstream.url}")

    def measure_all(self, run_slots: list[Slot]) -> None:
        # On the way out (the stack unwinds in reverse) targets and Locusts stop first, which also ends
        # the waits for them running beside the main thread; then those threads are joined.
        self.stack.callback(self.processes.background.shutdown, wait=True, cancel_futures=True)
        self.stack.callback(self.processes.stop_all)
        self.processes.searching = self.next_rate is not None
        upcoming: Upcoming | None = self.processes.upcoming(run_slots[0])
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
        if c.own:  # a user's service: its own health path
            wait_healthy(target.url + c.own.health, target.alive)
        else:
            check_health(slot.point, target.url)
        self.wait_for_first_scrape(slot, target)
        next_point: list[Upcoming] = []
        early: list[Pair] = []  # started while this point runs

        def before_measuring() -> None:  # the last target is gone before this point's measured window
            if previous_stop is not None:
                previous_stop.result()

        def in_warmup() -> None:
            if following is not None and self.early_starts:
                early.append(self.processes.start_pair(following, nice=EARLY_NICE))

        def start_following() -> None:  # the moment this point's users have stopped
            if following is None:
                return
            if early:
                early[0].raise_priority()
            next_point.append(self.processes.upcoming(following, early[0] if early else None))

        try:
            timing = PhaseTiming(setup_s=time.monotonic() - since, warmup_s=c.warmup_s)
            driven = self.driver.drive(upcoming, target, before_measuring, in_warmup, start_following)
            timing.load_s = driven.load_s
            drain_from = time.monotonic() - (time.time() - driven.stopped_at)
            result, interrupted = self.collector.drain(slot, driven)
        finally:
            stop = self.processes.background.submit(target.stop)
        timing.drain_s = time.monotonic() - drain_from
        result.timing = timing
        self.report_point(slot, result, timing, driven.partial)
        if interrupted and not driven.partial:
            self.interrupted = True  # after this point, which is whole: measure_all keeps it, then stops
        return result, (next_point[0] if next_point else None), stop

    def wait_for_first_scrape(self, slot: Slot, target: services.Service) -> None:
        """Prometheus must have scraped the target before the measured window. When it already scrapes
        its address, that happens within one interval, during the warm-up. A Prometheus just started (the
        first point) discovers its targets at a known time after its start: load may begin once that
        falls inside the warm-up. A short warm-up waits for the first scrape."""
        c = self.config
        if c.warmup_s < WARMUP_FOR_FIRST_SCRAPE_S:
            self.driver.wait_until_up(slot, target)
        elif not self.prometheus.discovered(slot.locust_address if slot.external else slot.metrics_address):
            warmup_ends = time.monotonic() + c.warmup_s - FIRST_SCRAPE_MARGIN_S
            time.sleep(max(0.0, self.prometheus.first_scrape_by() - warmup_ends))

    def report_point(self, slot: Slot, result: PointResult, timing: PhaseTiming, partial: bool) -> None:
        log.info(
            f"{slot.point.id}: set-up {timing.setup_s:.1f}s, warm-up {timing.warmup_s:g}s, "
            f"load {timing.load_s:.1f}s, drain {timing.drain_s:.1f}s{' (partial)' if partial else ''}"
        )
        self.progress.point_done(
            f"{slot.title}: {result.requests} requests, {result.rps or 0:.1f} rps, p99 {_fmt(result.p99_ms)} ms"
            f"{' (UNTRUSTWORTHY)' if result.untrustworthy else ''}{' (partial)' if partial else ''}"
            f"  [set-up {timing.setup_s:.1f}s, drain {timing.drain_s:.1f}s]"
        )

    def finish(self, status: str) -> None:
        self.summary.status = status
        self.summary.ended_at = time.time()
        self.folder.write_summary(self.summary)


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


def run(config: RunConfig, next_rate: NextRate | None = None, steps: int = 0) -> tuple[RunFolder, RunSummary]:
    """Measure every point; return the folder and the summary. Raises LoadlabError on failure, with
    the summary so far written; KeyboardInterrupt (Ctrl-C, SIGTERM) likewise, status "interrupted".

    A capacity search (loadlab sweep) gives `next_rate` and `steps`: the run's one point is measured
    up to `steps` times in one stack, each time at the rate `next_rate` returns from the results so
    far, until it returns None."""
    points = plan(config)
    if next_rate is not None:
        points = [replace(points[0], step=i + 1) for i in range(steps)]
    # a bad SLO file, a server spec no server runs or a missing Prometheus fails before anything starts
    limits = slo.load(Path(config.slo_file))
    spec = ServerSpec("sync", config.server, config.workers, wrapped=config.own is not None)
    servers.check(spec, config.threads, config.db_pool)
    find_binary()
    if config.target_host:  # the targets served by hand there, or one line saying how to start them
        reach_targets(config.target_host, [point.target for point in points])
    if config.metrics_url:
        reach(f"{config.metrics_url}/metrics", "--metrics-url", "is the service's metrics port open to this machine?")
    config = replace(config, cpus=pinning.resolve(config.pin))  # config.json records the split
    held_before = ports.held()  # every port this run takes (its own and its processes') is handed back at its end
    if config.locust_workers:  # the one port the workers started apart know: this run's, or refused now
        bind = Placement.from_env(config.master_bind).bind
        ports.claim(bind, MASTER_PORT, "Locust's master port, which its workers know")
    folder = RunFolder.create(Path(config.results_root), config.run_id)
    folder.write_config(asdict(config))
    handler = logging.FileHandler(folder.log("run"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    run_log = logging.getLogger("loadlab.run")  # this package's modules log below it
    run_log.addHandler(handler)
    run_log.setLevel(logging.INFO)
    wall_start = time.monotonic()
    log.info(f"run {folder.run_id}: {len(points)} points of {durations.render(config.load_s)} each")
    try:
        with RunProgress(len(points), config.load_s) as progress, ExitStack() as stack:
            run_ = Run(config, folder, stack, progress, limits)
            run_.next_rate = next_rate
            try:
                run_slots = slots(config, folder.run_id, points, run_.placement)
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
        run_log.removeHandler(handler)
        handler.close()
        ports.release(ports.held() - held_before)
    return folder, run_.summary
