"""A point's result once both sides' final counts are in Prometheus: Locust's CSV (after warm-up)
with the percentiles of the point's HdrHistograms (loadlab.results.latency), plus what Prometheus
saw of the target and of Locust, judged against the SLO and for trust."""

import math
import time

from loadlab import queries
from loadlab.config.run_config import RunConfig
from loadlab.errors import FAILED, LoadlabError
from loadlab.judge import slo, trust
from loadlab.results import latency
from loadlab.results.folder import RunFolder
from loadlab.results.locust_csv import AGGREGATED, read_locust_row, read_ramp_steps
from loadlab.results.point import PointResult
from loadlab.run import apart
from loadlab.run.drive import STOP_POLL_S, Driven, scraped_after
from loadlab.run.slots import Slot
from loadlab.stack.prometheus import LOCUST_JOB, Prometheus


class Collector:
    def __init__(self, config: RunConfig, folder: RunFolder, prometheus: Prometheus, limits: slo.Limits) -> None:
        self.config, self.folder, self.prometheus, self.limits = config, folder, prometheus, limits

    def drain(self, slot: Slot, driven: Driven) -> tuple[PointResult, bool]:
        """The point's result once both sides' final counts are in Prometheus. A Ctrl-C meanwhile does
        not lose the point: the result is finished first; (result, whether Ctrl-C came)."""
        interrupted = False
        while True:
            try:
                at = self.final_locust_scrape(slot, driven.stopped_at)
                if slot.long_lived:  # its own series: other points' share its address
                    at = max(at, scraped_after(self.prometheus, slot, driven.stopped_at))
                elif not slot.external:  # a service loadlab did not start (--url) has no server metrics
                    at = max(at, self.prometheus.wait_for_scrape(slot.metrics_address, after=driven.stopped_at))
                return self.result(slot, driven, at), interrupted
            except KeyboardInterrupt:
                interrupted = True

    def final_locust_scrape(self, slot: Slot, stopped_at: float, timeout: float = 30.0) -> float:
        """The time of the first scrape of Locust that shows its test stopped: its counts are final there.

        Locust may be scraped, and quit, before this process notices its users stopped, so this looks
        for the change of `locust_test_running` from 1 to 0 (or a 0 scraped after `stopped_at`)."""
        selector = queries.locust_running(LOCUST_JOB, slot.locust_address)
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

    def result(self, slot: Slot, driven: Driven, at: float) -> PointResult:
        """One point's result: Locust's CSV (post warm-up) plus what Prometheus saw on both sides, as
        of `at`, a time both sides' final counts were scraped by."""
        c, point = self.config, slot.point
        started, stopped_at = driven.started, driven.stopped_at
        # a user's own load has many request names: its totals (the route "" stands for all of them)
        row = read_locust_row(self.folder.locust_prefix(point.id), point.scenario.route or AGGREGATED)
        measured = f"{max(1, round(at - (started + c.warmup_s)))}s"  # the measured part, after warm-up
        whole = f"{math.ceil(at - started) + 10}s"  # the whole point, for totals
        sel = queries.selector(run_id=slot.labels["run_id"], target=point.target, scenario=point.scenario.name)
        # a service of the user's elsewhere (--url, --metrics-url) names itself in its `target` label
        by_name = c.own and c.own.url
        server = queries.selector(run_id=slot.labels["run_id"], scenario=point.scenario.name) if by_name else sel
        route = point.scenario.route
        q = self.prometheus.scalar
        # the target is new with the point, so its counters hold the whole point; its CPU per request
        # counts from its first scrape (after its start-up, and on a first point after load began) on
        server_requests = q(queries.server_requests_total(server, whole, route), at)
        server_cpu_s = q(queries.server_cpu_seconds(server, whole), at)
        scraped_requests = q(queries.server_requests_scraped(server, whole, route), at)
        if driven.baseline_at is not None:  # a long-lived target: what it counted from just before the load
            before = q(queries.server_requests_total(server, "30s", route), driven.baseline_at) or 0.0
            server_requests = None if server_requests is None else server_requests - before
            since = f"{round(1000 * (at - driven.baseline_at))}ms"
            server_cpu_s = q(queries.server_cpu_seconds(server, since), at)
            scraped_requests = q(queries.server_requests_scraped(server, since, route), at)
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
            loop_lag_p99_ms=_ms(q(queries.loop_lag_quantile(0.99, server, measured), at)),
            partial=driven.partial,
            repeat=point.repeat,
        )
        if c.locust_workers:
            result.locust_workers = c.locust_workers
            result.locust_worker_hosts = apart.took_part(apart.workers_file(self.folder, point.id))
            # while its users ran (after they stop, the workers leave with their master)
            under_load = stopped_at - 1
            window = f"{max(1, round(under_load - (started + c.warmup_s)))}s"
            result.locust_workers_min = q(queries.locust_workers_min(sel, window), under_load)
        if c.model == "ramp":
            result.steps = read_ramp_steps(self.folder.locust_prefix(point.id))
        if c.model == "open":
            result.late = q(queries.late_total(sel, whole), at)
            result.p99_scheduled_ms = _ms(q(queries.scheduled_latency_quantile(0.99, sel, measured), at))
        latency.apply(result, self.folder.latency_log(point.id))  # exact percentiles; Prometheus's and Locust's else
        result.untrustworthy_reasons = trust.reasons(result)
        result.slo_broken = slo.check(result, self.limits)
        result.cut_short = driven.cut
        return result


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000 * seconds
