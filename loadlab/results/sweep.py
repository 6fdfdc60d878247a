"""The typed result of a sweep (`loadlab sweep`): every configuration's capacity search, the model
beside it, the USL fits and the recommendation, in `results/<sweep_id>/sweep.json`.

results/<sweep_id>/
  sweep.json           this file's SweepSummary (rewritten atomically after every measured step)
  sweep.log            the sweep's log
  steps/<config>/       one ordinary run folder per configuration (summary.json, locust/, logs/,
                        prometheus/), one point per step: `loadlab show` and `loadlab prometheus`
                        work on each (`<config>.2`, ... when a search was resumed)

A step is one open-model point at one arrival rate; it passed when the point met the SLO and its
generator kept the schedule. A configuration's capacity is an interval, [capacity_rps, broke_rps]:
the highest rate that held in every measurement of it and the lowest that broke in any (the
search measures both again to confirm them). Units are in the field names, as in summary.json.
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
    untrusted: bool = False  # broke only on trust (judge_step): the search measures its rate again


@dataclass
class ModelBeside:
    """The queueing model's ceiling for the configuration, beside what was measured."""

    ceiling_rps: float
    binding: str  # threads, pool, max_connections, cores, workers
    explanation: str
    ratio: float  # measured capacity ÷ ceiling
    hidden_limit: bool  # ratio below 0.7: something the model does not know stopped it


def interval_text(held: float | None, broke: float | None) -> str:
    """A capacity interval as printed: `[400, 500]`; `[-, 100]` when nothing held every time, `[1600, -]`
    when nothing broke."""
    return "[" + ", ".join("-" if v is None else f"{v:.0f}" for v in (held, broke)) + "]"


@dataclass
class ConfigResult:
    config: Configuration
    steps: list[SweepStep] = field(default_factory=list)
    # the capacity interval: the highest rate that held in every measurement of it (None: none did) ...
    capacity_rps: float | None = None
    capacity_measured_rps: float | None = None  # the throughput measured at that rate (its median step's)
    capacity_p99_ms: float | None = None
    cpu_ms_per_request: float | None = None  # server CPU per request at that rate
    stopped: str = ""  # why the search ended ("" while it runs)
    model: ModelBeside | None = None
    generator_saturated: bool = False  # a step at broke_rps broke because the generator saturated
    start_rps: float | None = None  # the rate its search started from (None: the sweep's start rate)
    broke_rps: float | None = None  # ... and the lowest rate that broke in any (None: none broke, or an older sweep)

    @property
    def done(self) -> bool:
        return bool(self.stopped)

    @property
    def interval(self) -> str:
        return interval_text(self.capacity_rps, self.broke_rps)

    def at(self, rate: float | None) -> list[SweepStep]:
        """The steps measured at `rate` (the search and its confirmations)."""
        return [s for s in self.steps if s.rate == rate]

    def capacity_step(self) -> SweepStep | None:
        """The step whose figures stand for the capacity: of the measurements at capacity_rps (all of
        which held), the one with the median throughput (the lower one of an even count)."""
        held = sorted((s for s in self.at(self.capacity_rps) if s.passed), key=lambda s: s.rps or 0.0)
        return held[(len(held) - 1) // 2] if held else None

    @property
    def confirmed(self) -> str:
        """How often the interval's ends were measured: "held 3/3, broke 2/3"."""
        said = []
        if self.capacity_rps is not None:
            said.append(f"held {len(self.at(self.capacity_rps))}/{len(self.at(self.capacity_rps))}")
        if self.broke_rps is not None:
            at = self.at(self.broke_rps)
            said.append(f"broke {sum(not s.passed for s in at)}/{len(at)}")
        return ", ".join(said) or "-"


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
    # 95 % ranges from the fit's covariance, each capacity's uncertainty its interval (None: older sweeps)
    sigma_range: list[float] | None = None
    kappa_range: list[float] | None = None
    peak_range: list[float | None] | None = None  # N*'s; an upper end of None: no peak (κ's range reaches 0)
    peak_determined: bool = True  # False: N*'s range is wider than the measured worker counts

    @property
    def peak(self) -> str:
        """N* as printed: "4.4 (3.1 to 6.0)", "no peak (9.2 to no peak)", "not determined (1.4 to no peak)"."""
        said = "no peak" if self.peak_workers is None else f"{self.peak_workers:.1f}"
        if self.peak_range is None:  # an older sweep's fit, without ranges
            return said
        low, high = self.peak_range
        spread = f"({low or 0:.1f} to {'no peak' if high is None else f'{high:.1f}'})"
        return f"not determined {spread}" if not self.peak_determined else f"{said} {spread}"


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
    within_noise: list[str] = field(default_factory=list)  # the best's indistinguishable set, smallest first


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
