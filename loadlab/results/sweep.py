"""The typed result of a sweep (`loadlab sweep`): every configuration's capacity search, the model
beside it, the USL fits and the recommendation, in `results/<sweep_id>/sweep.json`.

results/<sweep_id>/
  sweep.json           this file's SweepSummary (rewritten atomically after every measured step)
  sweep.log            the sweep's log
  steps/<config>/       one ordinary run folder per configuration (summary.json, locust/, logs/,
                        prometheus/), one point per step: `loadlab show` and `loadlab prometheus`
                        work on each (`<config>.2`, ... when a search was resumed)

A step is one open-model point at one arrival rate; it passed when the point met the SLO and its
generator kept the schedule. Units are in the field names, as in summary.json.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Self

from loadlab.errors import LoadlabError
from loadlab.results.folder import RunFolder
from loadlab.results.point import _build, read_json

SWEEP_SCHEMA_VERSION = 1
SWEEP_FILE = "sweep.json"
STEPS_DIR = "steps"


@dataclass
class SweepFolder:
    """A sweep's folder and every path in it (`SweepFolder(path)`: the folder at `path` as it is)."""

    path: Path

    @staticmethod
    def holds_sweep(path: Path) -> bool:
        """Whether `path` is a sweep's folder (it has a sweep summary)."""
        return (path / SWEEP_FILE).is_file()

    @property
    def summary_file(self) -> Path:
        return self.path / SWEEP_FILE

    @property
    def log_file(self) -> Path:
        return self.path / "sweep.log"

    @property
    def steps_dir(self) -> Path:
        """The results root of the sweep's runs: one run folder per configuration."""
        return self.path / STEPS_DIR

    def step_run(self, run_id: str) -> RunFolder:
        """The run folder of a step (SweepStep.run_id)."""
        return RunFolder(self.steps_dir / run_id)


@dataclass(frozen=True)
class Configuration:
    """What one capacity search holds fixed."""

    target: str  # sync or async
    scenario: str
    server: str
    workers: int
    threads: int
    db_pool: int

    @property
    def id(self) -> str:
        return f"{self.target}-{self.scenario}-{self.server}-w{self.workers}-t{self.threads}-p{self.db_pool}"

    @property
    def label(self) -> str:
        return (
            f"{self.target} {self.scenario}: {self.server} ×{self.workers}, {self.threads} threads, pool {self.db_pool}"
        )


@dataclass
class SweepStep:
    rate: float  # requests/s offered (open model)
    passed: bool
    run_id: str  # its run folder: steps/<run_id>/
    rps: float | None  # measured, after warm-up
    p99_ms: float | None
    error_ratio: float
    why: list[str] = field(default_factory=list)  # SLO breaches and trust problems when it did not pass
    generator_saturated: bool = False  # the generator, not the target, could not keep up
    point: str = ""  # the point in that run's summary.json (a search measures its point once per step)


@dataclass
class ModelBeside:
    """The queueing model's ceiling for the configuration, beside what was measured."""

    ceiling_rps: float
    binding: str  # threads, pool, max_connections, cores, workers
    explanation: str
    ratio: float  # measured capacity ÷ ceiling
    hidden_limit: bool  # ratio below 0.7: something the model does not know stopped it


@dataclass
class ConfigResult:
    config: Configuration
    steps: list[SweepStep] = field(default_factory=list)
    capacity_rps: float | None = None  # the highest rate that passed (None: even the first failed)
    capacity_measured_rps: float | None = None  # the throughput measured at that rate
    capacity_p99_ms: float | None = None
    cpu_ms_per_request: float | None = None  # server CPU per request at that rate
    stopped: str = ""  # why the search ended ("" while it runs)
    model: ModelBeside | None = None
    generator_saturated: bool = False  # the first failing step was the generator's fault
    start_rps: float | None = None  # the rate its search started from (None: the sweep's start rate)

    @property
    def done(self) -> bool:
        return bool(self.stopped)


@dataclass
class UslCurve:
    """The Universal Scalability Law fitted to capacity against workers, for one server × target × scenario."""

    server: str
    target: str
    scenario: str
    workers: list[int]
    capacity_rps: list[float]
    lam: float
    sigma: float
    kappa: float
    peak_workers: float | None  # N* = sqrt((1 - σ) / κ); None when κ is 0 (no peak)
    verdict: str
    threads: int = 0  # what the configurations fitted together held fixed
    db_pool: int = 0


@dataclass
class FolkloreRow:
    rule: str
    workers: int
    capacity_rps: float | None
    note: str


@dataclass
class RecommendationRow:
    target: str
    scenario: str
    best: str | None  # Configuration.id
    best_rps: float | None
    smallest: str | None
    smallest_rps: float | None
    why: str
    folklore: list[FolkloreRow] = field(default_factory=list)


@dataclass
class SweepSummary:
    sweep_id: str
    status: str  # running, complete, interrupted, failed
    started_at: float
    settings: dict[str, Any]  # the matrix and the search settings, as asked
    cores: int
    configs: list[ConfigResult] = field(default_factory=list)
    usl: list[UslCurve] = field(default_factory=list)
    recommendations: list[RecommendationRow] = field(default_factory=list)
    ended_at: float | None = None
    kind: str = "sweep"
    schema_version: int = SWEEP_SCHEMA_VERSION

    def find(self, config: Configuration) -> ConfigResult | None:
        return next((c for c in self.configs if c.config == config), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"schema_version": data.pop("schema_version"), "kind": data.pop("kind"), **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: Path | str) -> Self:
        if not isinstance(data, dict) or data.get("kind") != "sweep":
            raise LoadlabError(f'{source}: not a loadlab sweep (no "kind": "sweep")')
        if data.get("schema_version") != SWEEP_SCHEMA_VERSION:
            raise LoadlabError(
                f"{source} has sweep schema_version {data.get('schema_version')!r}; "
                f"this loadlab reads {SWEEP_SCHEMA_VERSION}"
            )
        return _build(cls, data, str(source))

    @classmethod
    def read(cls, folder: Path) -> Self:
        path = SweepFolder(folder).summary_file
        return cls.from_dict(read_json(path), path)
