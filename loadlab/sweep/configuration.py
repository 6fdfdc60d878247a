"""One configuration's capacity search, driven through one `loadlab run` (one stack: Prometheus,
upstream) whose point is measured again at each rate the search (loadlab.tuning.search) asks for;
each step judged by loadlab.judge.capacity and stored in the sweep's summary as soon as it is
measured, so an interrupted search resumes from its stored steps."""

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from loadlab.config.run_config import RunConfig
from loadlab.judge.capacity import judge_step
from loadlab.results.point import PointResult
from loadlab.results.sweep import ConfigResult, Configuration, SweepFolder, SweepStep, SweepSummary
from loadlab.sweep.settings import SweepConfig
from loadlab.tuning.search import Decision, SearchSettings, Step, decide, interval

log = logging.getLogger("loadlab.sweep")

Progress = Callable[[str], None]


class ConfigSearch:
    """Searches one configuration after another of a sweep; `save()` stores the sweep's summary."""

    def __init__(self, config: SweepConfig, layout: SweepFolder, save: Callable[[], None], progress: Progress) -> None:
        self.config, self.layout, self.save, self.progress = config, layout, save, progress
        self.settings = config.search()

    def search(self, summary: SweepSummary, result: ConfigResult, title: str, eta: Callable[[], str]) -> float | None:
        """The capacity search of one configuration, from its stored steps on; returns the wall
        seconds per step it measured (None when it measured none)."""
        c = result.config
        p99_limit, error_limit = self.config.limits(c.scenario)
        if result.start_rps is None:  # stored with the first step, so a resumed search replays the same
            result.start_rps = self.config.start_rate if result.steps else start_from(summary, c, self.settings)
        settings = replace(self.settings, start=result.start_rps, floor=self.settings.start)
        run_id = self.next_run_id(c)
        judged = 0  # the run's points already turned into steps
        announced = -1  # the step whose start was last printed

        def next_rate(points: list[PointResult]) -> float | None:
            nonlocal judged, announced
            for point in points[judged:]:
                step = self.step(point, run_id, p99_limit, error_limit)
                result.steps.append(step)
                self.save()
                verdict = "held" if step.passed else "broke: " + "; ".join(step.why)
                self.progress(f"    {step.rps or 0:.0f} rps served, p99 {_ms(step.p99_ms)} ms: {verdict}")
            judged = len(points)
            decision = next_step(result.steps, settings)
            if decision.rate is not None and announced != len(result.steps):
                announced = len(result.steps)
                self.progress(f"{title} {c.label}: step {len(result.steps) + 1} at {decision.rate:g} rps{eta()}")
            else:
                result.stopped = decision.stopped or ""
            return decision.rate

        per_step = None
        if next_rate([]) is not None:  # something left to measure (a resumed search may be over already)
            from loadlab.run import run  # the engine of `loadlab run`

            started, before = time.monotonic(), len(result.steps)
            run(self.run_config(c, run_id), next_rate, settings.most_steps - len(result.steps))
            measured, elapsed = len(result.steps) - before, time.monotonic() - started
            per_step = elapsed / max(1, measured)
            log.info(f"{run_id}: {measured} steps in {elapsed:.1f}s")
        if not result.stopped:  # the run's points ran out before the search ended (max steps)
            next_rate([])
        self.conclude(result)
        log.info(f"{c.id}: capacity {result.capacity_rps} rps; {result.stopped}")
        self.progress(f"{title} {c.label}: {capacity_line(result)} ({result.stopped})")
        return per_step

    def conclude(self, result: ConfigResult) -> None:
        """The capacity interval from the steps the search judges (search_steps), and the figures at its
        lower end from its median step."""
        result.capacity_rps, result.broke_rps = interval(search_steps(result.steps)[0])
        result.generator_saturated = any(s.generator_saturated for s in result.at(result.broke_rps) if not s.passed)
        step = result.capacity_step()
        if step is not None:
            point = self.point(step)
            result.capacity_measured_rps = point.rps
            result.capacity_p99_ms = step.p99_ms
            result.cpu_ms_per_request = point.server_cpu_ms_per_request

    def next_run_id(self, c: Configuration) -> str:
        """The configuration's run folder under steps/: `<config>`, then `<config>.2`, ... when resumed."""
        n = 1
        while self.layout.step_run(c.id if n == 1 else f"{c.id}.{n}").path.exists():
            n += 1
        return c.id if n == 1 else f"{c.id}.{n}"

    def run_config(self, c: Configuration, run_id: str) -> RunConfig:
        return RunConfig(
            points=[(c.scenario, c.target)],
            server=c.server,
            workers=c.workers,
            threads=c.threads,
            db_pool=c.db_pool,
            model="open",
            rate=self.config.start_rate,  # each step's own rate replaces it
            duration_s=self.config.duration_s,
            warmup_s=self.config.warmup_s,
            slo_file=self.config.slo_file,
            pin=self.config.pin,
            locust_workers=self.config.locust_workers,
            master_bind=self.config.master_bind,
            target_host=self.config.target_host,
            run_id=run_id,
            results_root=str(self.layout.steps_dir),
            own=self.config.own,  # a user's app and load, or None: the lab's targets
        )

    @staticmethod
    def step(point: PointResult, run_id: str, p99_limit: float | None, error_limit: float | None) -> SweepStep:
        rate = point.rate or 0.0
        verdict = judge_step(point, rate, p99_limit, error_limit)
        return SweepStep(
            rate,
            verdict.passed,
            run_id,
            point.rps,
            point.p99_ms,
            point.error_ratio,
            verdict.why,
            verdict.generator_saturated,
            point.point,
            verdict.untrusted,
        )

    def point(self, step: SweepStep) -> PointResult:
        points = self.layout.step_run(step.run_id).summary().points
        return next(p for p in points if p.point == step.point) if step.point else points[0]


def search_steps(steps: list[SweepStep]) -> tuple[list[Step], float | None]:
    """(the steps the search judges, a rate to measure again first or None). A step that broke only
    because its measurement cannot be trusted (`untrusted`: requests sent late or counts apart, within
    the SLO) is measured again at once, and only the measurement again counts; when that one is
    untrusted too, it counts as broke. Every step stays stored and shown: nothing measured is lost."""
    judged: list[Step] = []
    again = None
    for s in steps:
        if again is None and s.untrusted:
            again = s.rate  # the next step measures it again and stands for it
            continue
        judged.append(Step(s.rate, s.passed))
        again = None
    return judged, again


def next_step(steps: list[SweepStep], settings: SearchSettings) -> Decision:
    """What the search does after `steps`: measure an untrusted step's rate again, or decide on the rest."""
    judged, again = search_steps(steps)
    return Decision(again) if again is not None else decide(judged, settings)


def start_from(summary: SweepSummary, c: Configuration, settings: SearchSettings) -> float:
    """Where a configuration's search starts: the capacity of the same configuration with the nearest
    smaller worker count, measured earlier in this sweep (more workers rarely hold less, and when they
    do the search steps down); else the sweep's start rate. Saves the steps up from the start rate."""
    smaller = [
        r
        for r in summary.configs
        if r.done
        and r.capacity_rps is not None
        and not r.generator_saturated
        and r.config.workers < c.workers
        and replace(r.config, workers=c.workers) == c
    ]
    if not smaller:
        return settings.start
    nearest = max(smaller, key=lambda r: r.config.workers)
    return min(settings.max_rate, max(settings.start, nearest.capacity_rps or 0.0))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def capacity_line(result: ConfigResult) -> str:
    if result.capacity_rps is None:
        return f"no capacity: no rate held every time ({result.confirmed})"
    return f"capacity {result.interval} rps [held every time, broke] ({result.confirmed})"
