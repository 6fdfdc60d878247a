"""`loadlab sweep`: each configuration's capacity under the SLO, the model beside it, a recommendation.

    matrix (server × workers × threads × DB pool × target × scenario)
      -> for each configuration: a capacity search (loadlab.tuning.search), one step at a time,
         in one `loadlab run` (one Prometheus, one upstream) whose point is measured again at each
         rate the search asks for: results/<sweep_id>/steps/<config>/, each step judged by
         loadlab.judge.capacity
      -> results/<sweep_id>/sweep.json after every step (loadlab.results.sweep)
      -> the model, the USL and the recommendation (loadlab.tuning.analysis), printed and stored

The open model is used so that overload shows as latency and late requests rather than being
absorbed by users waiting for answers. Re-running the same command resumes: finished
configurations are skipped, and an unfinished one replays its stored steps and measures on (in a
new run folder, `<config>.2`). A step costs its warm-up and duration, its target's start and its
drain; a configuration adds one stack start (Prometheus finds its first target within about 5 s).
"""

import logging
import math
import os
import time
import tomllib
from dataclasses import asdict, dataclass, field, replace
from itertools import product
from pathlib import Path
from typing import Any

from loadlab import durations
from loadlab.config.run_config import RunConfig
from loadlab.contract.scenarios import SCENARIOS, TARGETS
from loadlab.contract.settings import DEFAULT_DB_POOL, DEFAULT_THREADS
from loadlab.errors import LoadlabError
from loadlab.judge import slo
from loadlab.judge.capacity import judge_step
from loadlab.results.folder import write_text
from loadlab.results.point import PointResult
from loadlab.results.sweep import ConfigResult, Configuration, SweepFolder, SweepStep, SweepSummary
from loadlab.stack import servers
from loadlab.tuning import analysis, model
from loadlab.tuning.search import SearchSettings, Step, decide

log = logging.getLogger("loadlab.sweep")

DEFAULT_WORKERS = (1, 2, 3, 4, 6, 8)


@dataclass
class SweepConfig:
    """What `loadlab sweep` is asked for (command line, or a TOML file with the same keys)."""

    servers: list[str] = field(default_factory=lambda: ["uvicorn-workers"])
    workers: list[int] = field(default_factory=lambda: list(DEFAULT_WORKERS))
    threads: list[int] = field(default_factory=lambda: [DEFAULT_THREADS])
    db_pool: list[int] = field(default_factory=lambda: [DEFAULT_DB_POOL])
    targets: list[str] = field(default_factory=lambda: list(TARGETS))
    scenarios: list[str] = field(default_factory=lambda: ["io-sleep"])
    start_rate: float = 50.0
    factor: float = 2.0
    precision: float = 0.05
    max_rate: float = 5000.0
    max_steps: int = 15
    duration_s: float = 5.0  # per step: enough for a p99 at the rates these machines reach
    warmup_s: float = 2.0
    p99_ms: float | None = None  # None: slo.toml's for each scenario
    error_ratio: float | None = None
    slo_file: str = str(slo.DEFAULT_FILE)
    sweep_id: str = ""
    results_root: str = "results"

    def search(self) -> SearchSettings:
        return SearchSettings(self.start_rate, self.factor, self.precision, self.max_rate, self.max_steps)

    def configurations(self) -> list[Configuration]:
        """The matrix, without combinations that cannot run (plain uvicorn has one worker; a
        scenario served by one target only)."""
        found = []
        for server, workers, threads, pool, target, scenario in product(
            self.servers, self.workers, self.threads, self.db_pool, self.targets, self.scenarios
        ):
            if server == "uvicorn" and workers != 1:
                continue
            if target not in SCENARIOS[scenario].targets:
                continue
            found.append(Configuration(target, scenario, server, workers, threads, pool))
        if not found:
            raise LoadlabError("the sweep's matrix is empty: no server, worker count and target combine")
        return found

    def limits(self, scenario: str) -> tuple[float | None, float | None]:
        """(p99 limit ms, error ratio limit) for `scenario`: the overrides, else the SLO file's."""
        applicable = slo.applicable(slo.load(Path(self.slo_file)), scenario)
        p99 = self.p99_ms if self.p99_ms is not None else applicable.get("p99_ms")
        errors = self.error_ratio if self.error_ratio is not None else applicable.get("error_ratio")
        return p99, errors

    def validate(self) -> None:
        unknown = [s for s in self.scenarios if s not in SCENARIOS]
        if unknown:
            raise LoadlabError(f"unknown scenario {unknown[0]!r}; valid: {', '.join(SCENARIOS)}")
        bad = [s for s in self.servers if s not in servers.SERVERS]
        if bad:
            raise LoadlabError(f"unknown server {bad[0]!r}; valid: {', '.join(servers.SERVERS)}")
        bad = [t for t in self.targets if t not in TARGETS]
        if bad:
            raise LoadlabError(f"unknown target {bad[0]!r}; valid: {', '.join(TARGETS)}")
        for name in ("workers", "threads", "db_pool"):
            values = getattr(self, name)
            if not values or any(not isinstance(v, int) or v < 1 for v in values):
                raise LoadlabError(f"{name} must be whole numbers of at least 1, got {values!r}")
        if self.duration_s <= 0 or self.warmup_s < 0:
            raise LoadlabError("a step's duration must be above 0 and its warm-up at least 0")
        self.search()  # its own checks
        for scenario in self.scenarios:
            if self.limits(scenario)[0] is None:
                raise LoadlabError(
                    f"no p99 limit for {scenario!r} in {self.slo_file}: give one with --p99-ms or in the SLO file"
                )


# `loadlab sweep --quick`: a first look in a few minutes (options given beside it still win)
QUICK: dict[str, Any] = {
    "servers": ["uvicorn-workers"],
    "workers": [1, 2, 4],
    "targets": list(TARGETS),
    "scenarios": ["io-sleep"],
    "start_rate": 100.0,
    "factor": 4.0,
    "precision": 0.25,
    "max_rate": 1600.0,
    "duration_s": 2.0,
    "warmup_s": 1.0,
}


def read_toml(path: Path) -> dict[str, Any]:
    """A sweep file's keys, checked against SweepConfig's (one line naming a wrong key)."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LoadlabError(f"cannot read sweep file {path}: {exc}") from None
    known = set(SweepConfig.__dataclass_fields__)
    for key in data:
        if key not in known:
            raise LoadlabError(f"{path}: unknown key {key!r}; known: {', '.join(sorted(known))}")
    return data


def postgres_max_connections() -> int | None:
    """PostgreSQL's max_connections where the targets will connect, as that server says; None (unknown,
    and the model says so) when none answers there: each run then starts its own, out of reach here."""
    from loadlab.contract.settings import Settings

    return model.max_connections(Settings().database_url)


class Sweep:
    def __init__(self, config: SweepConfig) -> None:
        self.config = config
        self.folder = Path(config.results_root).resolve() / config.sweep_id
        self.layout = SweepFolder(self.folder)
        self.settings = config.search()
        self.step_times: list[float] = []  # wall seconds per measured step, for the ETA
        self.max_connections = postgres_max_connections()

    def open(self) -> SweepSummary:
        """A new sweep folder, or the stored sweep to resume (same matrix and search settings)."""
        asked = {k: v for k, v in asdict(self.config).items() if k not in ("sweep_id", "results_root")}
        if self.layout.summary_file.exists():
            summary = SweepSummary.read(self.folder)
            if summary.settings != asked:
                changed = sorted(k for k in asked if summary.settings.get(k) != asked[k])
                raise LoadlabError(
                    f"{self.folder} holds a sweep with other settings ({', '.join(changed)}): "
                    "resume it with the same options, or pick another --sweep-id"
                )
            summary.status = "running"
            return summary
        if self.folder.exists():
            raise LoadlabError(f"{self.folder} exists and is not a sweep; pick another --sweep-id")
        self.layout.steps_dir.mkdir(parents=True)
        summary = SweepSummary(self.config.sweep_id, "running", time.time(), asked, os.cpu_count() or 1)
        self.save(summary)
        return summary

    def save(self, summary: SweepSummary) -> None:
        write_text(self.layout.summary_file, summary.to_json())

    def run(self, progress, summary: SweepSummary | None = None) -> SweepSummary:
        summary = summary or self.open()
        configurations = self.config.configurations()
        for c in configurations:
            if summary.find(c) is None:
                summary.configs.append(ConfigResult(c))
        self.save(summary)
        try:
            for i, c in enumerate(configurations):
                result = summary.find(c)
                assert result is not None
                if result.done:
                    progress(f"[{i + 1}/{len(configurations)}] {c.label}: done before, {_capacity(result)}")
                    continue
                self.search(summary, result, f"[{i + 1}/{len(configurations)}]", configurations[i:], progress)
                analysis.analyse(summary, self.max_connections)
                self.save(summary)
        except KeyboardInterrupt:
            summary.status = "interrupted"
            raise
        except LoadlabError:
            summary.status = "failed"
            raise
        else:
            summary.status = "complete"
        finally:
            analysis.analyse(summary, self.max_connections)
            summary.ended_at = time.time()
            self.save(summary)
        return summary

    def search(self, summary: SweepSummary, result: ConfigResult, title: str, left: list, progress) -> None:
        """The capacity search of one configuration, from its stored steps on: one run (one stack:
        Prometheus, upstream) whose point is measured again at each rate the search asks for."""
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
                self.save(summary)
                verdict = "held" if step.passed else "broke: " + "; ".join(step.why)
                progress(f"    {step.rps or 0:.0f} rps served, p99 {_ms(step.p99_ms)} ms: {verdict}")
            judged = len(points)
            decision = decide([Step(s.rate, s.passed) for s in result.steps], settings)
            if decision.rate is not None and announced != len(result.steps):
                announced = len(result.steps)
                progress(f"{title} {c.label}: step {len(result.steps) + 1} at {decision.rate:g} rps{self.eta(left)}")
            else:
                result.stopped = decision.stopped or ""
            return decision.rate

        if next_rate([]) is not None:  # something left to measure (a resumed search may be over already)
            from loadlab.run import run  # the engine of `loadlab run`

            started, before = time.monotonic(), len(result.steps)
            run(self.run_config(c, run_id), next_rate, settings.max_steps - len(result.steps))
            measured, elapsed = len(result.steps) - before, time.monotonic() - started
            self.step_times.append(elapsed / max(1, measured))
            log.info(f"{run_id}: {measured} steps in {elapsed:.1f}s")
        if not result.stopped:  # the run's points ran out before the search ended (max steps)
            next_rate([])
        passed = [s for s in result.steps if s.passed]
        best = max(passed, key=lambda s: s.rate) if passed else None
        first_failure = next((s for s in result.steps if not s.passed), None)
        result.generator_saturated = bool(first_failure and first_failure.generator_saturated)
        if best is not None:
            point = self.point(best)
            result.capacity_rps = best.rate
            result.capacity_measured_rps = point.rps
            result.capacity_p99_ms = best.p99_ms
            result.cpu_ms_per_request = point.server_cpu_ms_per_request
        log.info(f"{c.id}: capacity {result.capacity_rps} rps; {result.stopped}")
        progress(f"{title} {c.label}: {_capacity(result)} ({result.stopped})")

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
            run_id=run_id,
            results_root=str(self.layout.steps_dir),
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
        )

    def point(self, step: SweepStep) -> PointResult:
        points = self.layout.step_run(step.run_id).summary().points
        return next(p for p in points if p.point == step.point) if step.point else points[0]

    def eta(self, left: list) -> str:
        """Remaining time, from the steps so far (a search takes about log2(range) + bisections steps)."""
        if not self.step_times:
            return ""
        per_step = sum(self.step_times) / len(self.step_times)
        steps_per_config = (
            math.ceil(math.log(self.settings.max_rate / self.settings.start, self.settings.factor)) // 2 + 4
        )
        return f"  (about {durations.render(per_step * steps_per_config * len(left))} left)"


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


def _capacity(result: ConfigResult) -> str:
    if result.capacity_rps is None:
        return "no capacity: the SLO broke at every rate tried"
    return f"capacity {result.capacity_rps:g} rps"


def with_overrides(base: SweepConfig, values: dict[str, Any]) -> SweepConfig:
    return replace(base, **{k: v for k, v in values.items() if v is not None})
