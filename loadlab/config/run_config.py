"""A run's settings and the points it measures, validated before anything starts."""

import re
from dataclasses import dataclass, field, replace
from typing import Any

from loadlab.config.own import OwnLoad
from loadlab.contract.scenarios import SCENARIOS, Scenario
from loadlab.contract.settings import DEFAULT_DB_POOL, DEFAULT_THREADS
from loadlab.errors import LoadlabError
from loadlab.judge import slo
from loadlab.load.command import MODELS, LoadSpec


@dataclass
class RunConfig:
    points: list[tuple]  # (scenario, target) or (scenario, target, users) to override --users for one point
    server: str = "uvicorn-workers"
    workers: int = 4
    threads: int = DEFAULT_THREADS
    db_pool: int = DEFAULT_DB_POOL
    loop: str = "auto"
    model: str = "closed"
    users: int = 100
    rate: float = 100.0
    max_inflight: int = 1000
    think_time_s: float = 0.0
    duration_s: float = 15
    warmup_s: float = 5
    processes: int = 1
    locust_workers: int = 0  # Locust workers started apart, e.g. the compose stack's (0: none)
    master_bind: str | None = None  # where the master, exporter and targets listen for them (None: as placed)
    target_host: str | None = None  # the targets run there, served by hand (`loadlab serve`); none start here
    metrics_url: str | None = None  # with --url: where the service's metrics are scraped (None: none are)
    step_users: int = 10
    step_seconds: float = 5
    pin: str = "auto"  # generator and target on separate CPUs: auto, on, off (loadlab.stack.pinning)
    cpus: dict[str, list[int]] = field(default_factory=dict)  # as pinned at the run's start ({}: not pinned)
    slo_file: str = str(slo.DEFAULT_FILE)
    run_id: str = ""
    results_root: str = "results"
    suite: str | None = None
    repeat: int = 1  # every point measured this many times, interleaved (A B C A B C)
    extra: dict[str, Any] = field(default_factory=dict)
    own: OwnLoad | None = None  # a user's own service and load (`--app`/`--url`), instead of the lab's targets

    def load(self, point: "Point") -> LoadSpec:
        """How Locust offers load at `point`."""
        return LoadSpec(
            model=self.model,
            users=point.users or self.users,
            think_time_s=self.think_time_s,
            rate=point.rate or self.rate,
            max_inflight=self.max_inflight,
            step_users=self.step_users,
            step_seconds=self.step_seconds,
            processes=self.processes,
            workers=self.locust_workers,
        )

    @property
    def load_s(self) -> float:
        """Seconds of load per point: warm-up and measured window."""
        return self.warmup_s + self.duration_s


@dataclass(frozen=True)
class Point:
    scenario: Scenario
    target: str
    users: int | None = None  # None: the run's --users
    rate: float | None = None  # open model: None for the run's --rate (a capacity search sets each step's)
    step: int | None = None  # the same point measured again at another rate (loadlab sweep): 1, 2, ...
    repeat: int | None = None  # the same point measured again as it was (--repeat N): 1 .. N

    @property
    def id(self) -> str:
        return (
            f"{self.target}-{self.scenario.name}"
            + (f"-s{self.step}" if self.step else "")
            + (f"-r{self.repeat}" if self.repeat else "")
        )


def run_label(run_id: str, point_id: str) -> str:
    """The `run_id` label of a point's series: a capacity search's step n (point id `...-s<n>`, see
    Point.id) has its own, `<run_id>-s<n>`, and a repetition its own, `<run_id>-r<n>`, so that the
    steps and repetitions of one run stay apart."""
    found = re.search(r"-([sr])(\d+)$", point_id)
    return f"{run_id}-{found.group(1)}{found.group(2)}" if found else run_id


def plan(config: RunConfig) -> list[Point]:
    """The points to measure, validated: unknown names list the valid ones."""
    points = []
    for scenario_name, target, *users in config.points:
        scenario = config.own.scenario if config.own else SCENARIOS.get(scenario_name)
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
        raise LoadlabError("--duration must be at least 1s and --warmup at least 0; --users at least 1, --rate above 0")
    if config.repeat < 1:
        raise LoadlabError(f"--repeat must be at least 1, got {config.repeat}")
    if config.repeat == 1:
        return points
    # interleaved, A B C A B C: a drift of the machine's speed spreads over every point alike
    return [replace(p, repeat=r) for r in range(1, config.repeat + 1) for p in points]
