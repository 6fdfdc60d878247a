"""`loadlab run`: the whole native stack for one run, data flowing one way.

    config -> Prometheus + upstream -> for each point: target, Locust -> Prometheus + Locust CSV
           -> results/<run_id>/summary.json (rewritten after every point) -> table and verdicts

Every process it starts is stopped on every exit path (success, failure, Ctrl-C, SIGTERM): they
are entered into one ExitStack, and each also dies with loadlab through PR_SET_PDEATHSIG.
"""

import math
import os
import shutil
import sys
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from loadlab import REPO
from loadlab.config.scenarios import SCENARIOS, Scenario
from loadlab.contract import metrics as m
from loadlab.contract import routes
from loadlab.errors import FAILED, LoadlabError
from loadlab.judge import slo
from loadlab.results.folder import RunFolder
from loadlab.results.locust_csv import read_locust_row, read_ramp_steps
from loadlab.stack import procs, services
from loadlab.stack.prometheus import LOCUST_JOB, TARGETS_JOB, Prometheus, ScrapeTarget, find_binary
from loadlab.stack.servers import ServerSpec

LOCUSTFILES = {
    "closed": "locustfiles/closed_model.py",
    "open": "locustfiles/open_model.py",
    "ramp": "locustfiles/closed_model.py,locustfiles/step_ramp.py",
}
MODELS = tuple(LOCUSTFILES)
GENERATOR_CPU_LIMIT = 90.0  # percent: above it the generator, not the target, may be the bottleneck
LATE_LIMIT = 0.05  # open model: above this share of requests sent late, the schedule was not held
LINGER_S = 3.0  # Locust keeps /metrics up this long after the load so Prometheus scrapes final counts
STOP_TIMEOUT_S = 30  # users finish the request in flight: client and server counts then agree


@dataclass
class RunConfig:
    points: list[tuple]  # (scenario, target) or (scenario, target, users) to override --users for one point
    server: str = "uvicorn-workers"
    workers: int = 4
    threads: int = 40
    db_pool: int = 10
    loop: str = "auto"
    model: str = "closed"
    users: int = 100
    rate: float = 100.0
    max_inflight: int = 1000
    think_time_s: float = 0.0
    duration_s: int = 15
    warmup_s: int = 5
    processes: int = 1
    step_users: int = 10
    step_seconds: int = 5
    slo_file: str = str(slo.DEFAULT_FILE)
    run_id: str = ""
    results_root: str = "results"
    suite: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Point:
    scenario: Scenario
    target: str
    users: int | None = None  # None: the run's --users

    @property
    def id(self) -> str:
        return f"{self.target}-{self.scenario.name}"


def plan(config: RunConfig) -> list[Point]:
    """The points to measure, validated: unknown names list the valid ones."""
    points = []
    for scenario_name, target, *users in config.points:
        scenario = SCENARIOS.get(scenario_name)
        if scenario is None:
            raise LoadlabError(f"unknown scenario {scenario_name!r}; valid: {', '.join(SCENARIOS)}")
        if target not in scenario.targets:
            continue  # e.g. the anti-patterns exist on the async target only
        points.append(Point(scenario, target, *users))
    if not points:
        raise LoadlabError("nothing to measure: no scenario of those is served by those targets")
    if config.model not in MODELS:
        raise LoadlabError(f"unknown load model {config.model!r}; valid: {', '.join(MODELS)}")
    if config.duration_s < 1 or config.warmup_s < 0 or config.users < 1 or config.rate <= 0:
        raise LoadlabError("--duration and --users must be at least 1, --warmup at least 0, --rate above 0")
    return points


class Progress:
    """One status line, rewritten in place on a terminal, printed every few seconds elsewhere."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.last = 0.0

    def show(self, text: str) -> None:
        now = time.monotonic()
        if self.tty:
            print(f"\r\033[K{text}", end="", flush=True)
        elif now - self.last >= 5:
            print(text, flush=True)
            self.last = now

    def done(self, text: str) -> None:
        print(f"\r\033[K{text}" if self.tty else text, flush=True)


class Run:
    def __init__(self, config: RunConfig, folder: RunFolder, stack: ExitStack) -> None:
        self.config, self.folder, self.stack = config, folder, stack
        self.limits = slo.load(Path(config.slo_file))
        self.progress = Progress()
        self.summary: dict[str, Any] = {
            "run_id": folder.run_id,
            "status": "running",
            "started_at": time.time(),
            "config": asdict(config),
            "points": [],
        }
        folder.write_summary(self.summary)

    def measure_all(self, points: list[Point]) -> None:
        self.prometheus = self.stack.enter_context(Prometheus(self.folder.path / "prometheus"))
        self.upstream = services.start_upstream(procs.free_port(preferred=8010), self.folder.log("upstream"))
        self.stack.callback(self.upstream.stop)
        for i, point in enumerate(points, 1):
            entry = self.measure(point, f"[{i}/{len(points)}] {point.target} {point.scenario.name}")
            self.summary["points"].append(entry)
            self.folder.write_summary(self.summary)

    def finish(self, status: str) -> None:
        self.summary["status"] = status
        self.summary["ended_at"] = time.time()
        self.folder.write_summary(self.summary)

    def measure(self, point: Point, title: str) -> dict[str, Any]:
        c = self.config
        spec = ServerSpec(point.target, c.server, c.workers, port=procs.free_port(preferred=8000), loop=c.loop)
        self.progress.show(f"{title}: starting {c.server} x{c.workers}")
        target = services.start_target(
            spec,
            self.folder.log(f"{point.id}-target"),
            c.threads,
            c.db_pool,
            env={"LOADLAB_UPSTREAM_URL": self.upstream.url},
        )
        try:
            check_health(point, spec)
            locust_port = procs.free_port()
            labels = {
                "run_id": self.folder.run_id,
                "target": point.target,
                "server": c.server,
                "workers": str(c.workers),
                "scenario": point.scenario.name,
            }
            target_address = f"127.0.0.1:{spec.port}"
            self.prometheus.set_targets(
                [
                    ScrapeTarget(TARGETS_JOB, target_address, **labels),
                    ScrapeTarget(LOCUST_JOB, f"127.0.0.1:{locust_port}", **labels),
                ]
            )
            self.prometheus.wait_until_up(target_address)
            started = time.time()
            self.drive(point, spec, target, locust_port, title)
            ended = time.time()
            self.prometheus.wait_for_scrape(target_address, after=ended)
            entry = self.entry(point, started, ended)
        finally:
            target.stop()
        entry["slo_broken"] = slo.check(entry, self.limits)
        self.progress.done(
            f"{title}: {entry['requests']} requests, {entry['rps']:.1f} rps, "
            f"p99 {entry['p99_ms']:.0f} ms{' (UNTRUSTWORTHY)' if entry['untrustworthy'] else ''}"
        )
        return entry

    def locust_command(self, point: Point, url: str, port: int) -> list[str]:
        c = self.config
        run_time = c.warmup_s + c.duration_s
        cmd = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            LOCUSTFILES[c.model],
            "--headless",
            "--host",
            url,
            "--scenario",
            point.scenario.name,
            "-t",
            f"{run_time}s",
            "--stop-timeout",
            str(STOP_TIMEOUT_S),
            "--csv",
            str(self.folder.locust_prefix(point.id)),
            "--warmup",
            str(c.warmup_s),
            "--prometheus-port",
            str(port),
            "--prometheus-linger",
            str(LINGER_S),
            "--loglevel",
            "WARNING",
        ]
        if c.model == "open":
            # one scheduler user per process is enough: the rate, not the users, sets the load
            cmd += [
                "-u",
                str(c.processes),
                "-r",
                str(c.processes),
                "--rate",
                str(c.rate),
                "--max-inflight",
                str(c.max_inflight),
            ]
        elif c.model == "ramp":
            cmd += [
                "--step-users",
                str(c.step_users),
                "--step-seconds",
                str(c.step_seconds),
                "--max-users",
                str(point.users or c.users),
                "--think-time",
                str(c.think_time_s),
            ]
        else:
            users = point.users or c.users
            cmd += ["-u", str(users), "-r", str(users), "--think-time", str(c.think_time_s)]
        if c.processes > 1:
            cmd += ["--processes", str(c.processes)]
        return cmd

    def drive(self, point: Point, spec: ServerSpec, target: services.Service, port: int, title: str) -> None:
        """Run Locust against the target until it ends; a target that dies ends the run."""
        c = self.config
        metrics_dir = self.folder.path / "locust" / f"{point.id}.metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir()
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        log = self.folder.log(f"{point.id}-locust")
        locust = procs.start(self.locust_command(point, spec.url, port), env=env, log=log, cwd=REPO)
        planned = c.warmup_s + c.duration_s
        deadline = time.monotonic() + planned + STOP_TIMEOUT_S + LINGER_S + 60
        start = time.monotonic()
        try:
            # Prometheus must scrape Locust from the start: its final counts arrive while it lingers.
            self.prometheus.wait_until_up(f"127.0.0.1:{port}", job=LOCUST_JOB)
            while locust.poll() is None:
                if not target.alive():
                    raise LoadlabError(
                        f"{point.target} target died mid-run (exit {target.proc.returncode}); see {target.log}", FAILED
                    )
                if time.monotonic() > deadline:
                    raise LoadlabError(f"Locust did not finish within {planned}s of load; see {log}", FAILED)
                elapsed = time.monotonic() - start
                phase = "warm-up" if elapsed < c.warmup_s else "measuring"
                self.progress.show(f"{title}: {phase} {min(elapsed, planned):.0f}/{planned}s")
                time.sleep(0.5)
        finally:
            procs.stop(locust)
        if locust.returncode not in (0, 1):  # 1: some requests failed, which the summary reports
            raise LoadlabError(f"Locust exited with status {locust.returncode}; see {log}", FAILED)

    def entry(self, point: Point, started: float, ended: float) -> dict[str, Any]:
        """One summary entry: Locust's CSV (post warm-up) plus what Prometheus saw on both sides."""
        c = self.config
        row = read_locust_row(self.folder.locust_prefix(point.id), point.scenario.route)
        measured_from = started + c.warmup_s
        window = f"{max(1, round(ended - measured_from))}s"  # the measured part, after warm-up
        # Whole point, for totals: a range selector skips the staleness marker Prometheus writes once
        # Locust has exited, which would hide its last values from an instant selector.
        point_window = f"{math.ceil(ended - started) + 10}s"
        sel = f'run_id="{self.folder.run_id}",target="{point.target}",scenario="{point.scenario.name}"'
        route = point.scenario.route
        q = self.prometheus.scalar
        server_requests = q(f'sum(last_over_time({m.HTTP_REQUESTS}{{{sel},route="{route}"}}[{point_window}]))', ended)
        server_cpu_s = q(f"sum(increase({m.PROCESS_CPU}{{{sel}}}[{window}]))", ended)
        window_requests = q(f'sum(increase({m.HTTP_REQUESTS}{{{sel},route="{route}"}}[{window}]))', ended)
        entry = {
            "point": point.id,
            "scenario": point.scenario.name,
            "target": point.target,
            "route": route,
            "server": c.server,
            "workers": c.workers,
            "threads": c.threads,
            "db_pool": c.db_pool,
            "load_model": c.model,
            "users": (point.users or c.users) if c.model != "open" else None,
            "rate": c.rate if c.model == "open" else None,
            "duration_s": c.duration_s,
            "warmup_s": c.warmup_s,
            "started_at": started,
            "ended_at": ended,
            **row,
            "generator_cpu_max": q(f"max(max_over_time({m.LOCUST_CPU}{{{sel}}}[{window}]))", ended),
            "server_requests": server_requests,
            "client_requests": q(
                f'sum(last_over_time({m.LOCUST_REQUESTS}{{{sel},name="{route}"}}[{point_window}]))', ended
            ),
            "server_cpu_ms_per_request": 1000 * server_cpu_s / window_requests if window_requests else None,
            "loop_lag_p99_ms": _ms(q(_quantile(m.EVENT_LOOP_LAG, sel, window), ended)),
            "late": None,
            "p99_scheduled_ms": None,
        }
        if c.model == "ramp":
            entry["steps"] = read_ramp_steps(self.folder.locust_prefix(point.id))
        if c.model == "open":
            entry["late"] = q(f"sum(last_over_time({m.LOCUST_LATE}{{{sel}}}[{point_window}]))", ended)
            entry["p99_scheduled_ms"] = _ms(q(_quantile(m.LOCUST_SCHEDULED_DURATION, sel, window), ended))
        reasons = []
        if (entry["generator_cpu_max"] or 0) >= GENERATOR_CPU_LIMIT:
            reasons.append(f"generator CPU reached {entry['generator_cpu_max']:.0f}%")
        if entry["late"] and entry["late"] > LATE_LIMIT * max(1, entry["client_requests"] or 0):
            reasons.append(f"{entry['late']:.0f} requests not sent on time")
        entry["untrustworthy"] = bool(reasons)
        entry["untrustworthy_reasons"] = reasons
        return entry


def check_health(point: Point, spec: ServerSpec) -> None:
    """Load only a target whose database and upstream answer: else every request would be an error."""
    try:
        response = httpx.get(spec.url + routes.HEALTHZ, timeout=10)
    except httpx.HTTPError as exc:
        raise LoadlabError(f"{point.target} target at {spec.url} does not answer: {exc}", FAILED) from None
    if response.status_code != 200:
        down = response.json().get("down", []) if "json" in response.headers.get("content-type", "") else []
        raise LoadlabError(
            f"{point.target} target is not healthy ({', '.join(down) or response.status_code} down): "
            f"{response.text[:200]}",
            FAILED,
        )


def _quantile(histogram: str, sel: str, window: str, q: float = 0.99) -> str:
    return f"histogram_quantile({q}, sum by (le) (increase({histogram}_bucket{{{sel}}}[{window}])))"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000 * seconds


def run(config: RunConfig) -> tuple[RunFolder, dict[str, Any]]:
    """Measure every point; return the folder and the summary. Raises LoadlabError on failure, with
    the summary so far written; KeyboardInterrupt (Ctrl-C, SIGTERM) likewise, status "interrupted"."""
    points = plan(config)
    slo.load(Path(config.slo_file))  # a bad SLO file or a missing Prometheus fails before anything starts
    find_binary()
    folder = RunFolder.create(Path(config.results_root), config.run_id)
    folder.write_config(asdict(config))
    with ExitStack() as stack:
        run_ = Run(config, folder, stack)
        try:
            run_.measure_all(points)
        except KeyboardInterrupt:
            run_.finish("interrupted")
            raise
        except LoadlabError:
            run_.finish("failed")
            raise
        run_.finish("complete")
    return folder, run_.summary
