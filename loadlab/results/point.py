"""The typed result of a run: one `PointResult` per measured point, in a `RunSummary`.

`summary.json` is written from these classes and read back into them. Units are in the field
names (`_ms`, `_s`, `rps`). `SCHEMA_VERSION` goes up whenever a field is renamed or removed or
changes meaning; adding a field with a default keeps it. A summary of another schema is refused
with one line saying which, rather than read wrongly.
"""

import dataclasses
import json
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Self

from loadlab.errors import LoadlabError

SCHEMA_VERSION = 1
STATUSES = ("running", "complete", "interrupted", "failed")


@dataclass
class RampStep:
    """Throughput and latency at one user count of a ramp."""

    users: int
    seconds: float
    rps: float
    p95_ms: float | None


# Where a point's client-side percentiles come from (PointResult.percentiles_from)
FROM_HDR = "hdr"  # every request's latency in an HdrHistogram: exact to 3 significant digits
FROM_LOCUST = "locust"  # Locust's stats, rounded to 2 significant digits above 100 ms (runs before HDR recording)


@dataclass
class Percentiles:
    """Latency percentiles of every request of a point's measured window, from an HdrHistogram."""

    requests: int
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    p999_ms: float | None
    p9999_ms: float | None
    max_ms: float | None


@dataclass
class PhaseTiming:
    """Wall time of each phase of a point, so the run's overhead can be measured."""

    setup_s: float = 0.0  # from the previous point's end (or the run's start) until Locust starts
    warmup_s: float = 0.0
    load_s: float = 0.0  # the measured part, after warm-up
    drain_s: float = 0.0  # from the planned end of load until the result is computed


@dataclass
class PointResult:
    """What one point measured: Locust's stats after warm-up plus what Prometheus saw on both sides."""

    point: str  # "<target>-<scenario>", then "-r<n>" for repetition n (--repeat) or "-s<n>" for a search's step n
    scenario: str
    target: str
    route: str
    server: str
    workers: int
    threads: int
    db_pool: int
    load_model: str  # closed, open or ramp
    users: int | None  # closed and ramp; None for the open model
    rate: float | None  # open model: requests per second offered
    duration_s: float
    warmup_s: float
    started_at: float  # Unix time Locust was started
    ended_at: float  # Unix time Locust had stopped
    # Locust's stats (after the warm-up); the percentiles and max from `percentiles_from`
    requests: int
    failures: int
    rps: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    p90_ms: float | None = None  # from the HdrHistogram only, as are p999_ms and p9999_ms
    p999_ms: float | None = None
    p9999_ms: float | None = None
    percentiles_from: str = FROM_LOCUST  # FROM_HDR when the point's latency log was read (loadlab.results.latency)
    scheduled: Percentiles | None = None  # open model: every request's latency from its scheduled time
    latency_problem: str = ""  # why the latency log could not be read: the percentiles are then Locust's
    # Prometheus
    generator_cpu_max: float | None = None  # percent of one core, busiest Locust process
    server_requests: float | None = None  # whole point, the target's counter
    client_requests: float | None = None  # whole point, Locust's counter
    server_cpu_ms_per_request: float | None = None
    loop_lag_p99_ms: float | None = None
    locust_workers: int | None = None  # Locust workers started apart: how many it was run with
    locust_workers_min: float | None = None  # the fewest that were connected while it was measured
    locust_worker_hosts: list[str] = field(default_factory=list)  # those that took part: "host (address)"
    # in the container stack (loadlab compose loadtest): what Docker saw happen to its other containers
    # while the point ran, e.g. "postgres: kill, die, stop, start, restart (+3.1 to +4.6 s)"
    faults: list[str] = field(default_factory=list)
    late: float | None = None  # open model: requests sent late
    p99_scheduled_ms: float | None = None  # open model: latency from the schedule
    steps: list[RampStep] = field(default_factory=list)
    # verdicts
    slo_broken: list[str] = field(default_factory=list)
    untrustworthy_reasons: list[str] = field(default_factory=list)
    partial: bool = False  # cut short (Ctrl-C): summarized as far as it got
    cut_short: str = ""  # a capacity search stopped it early, clearly broken: why
    timing: PhaseTiming = field(default_factory=PhaseTiming)
    repeat: int | None = None  # --repeat N: which repetition (1 .. N); None when measured once

    @property
    def untrustworthy(self) -> bool:
        return bool(self.untrustworthy_reasons)

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "untrustworthy": self.untrustworthy}  # derived, kept for readers of the JSON

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Self:
        if isinstance(data, dict):  # anything else: _build says what it got, in one line
            data = {k: v for k, v in data.items() if k != "untrustworthy"}
        return _build(cls, data, where)


@dataclass
class RunSummary:
    run_id: str
    status: str
    started_at: float
    config: dict[str, Any]
    points: list[PointResult] = field(default_factory=list)
    ended_at: float | None = None
    schema_version: int = SCHEMA_VERSION
    # PostgreSQL's max_connections where the run's targets connect, as that server said (None: not asked)
    database_max_connections: int | None = None

    @property
    def slo_broken(self) -> bool:
        return any(p.slo_broken for p in self.points)

    def to_dict(self) -> dict[str, Any]:
        data = {"schema_version": self.schema_version}  # first, so a reader sees it first
        data.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "schema_version"})
        data["points"] = [p.to_dict() for p in self.points]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: Path | str) -> Self:
        if not isinstance(data, dict):
            raise LoadlabError(f"{source}: not a loadlab summary (a JSON object was expected)")
        version = data.get("schema_version")
        if version is None:
            raise LoadlabError(
                f"{source} was written by an older loadlab (no schema_version); this one reads schema "
                f"{SCHEMA_VERSION}: re-run the measurement, or show it with the loadlab that wrote it"
            )
        if version != SCHEMA_VERSION:
            newer = isinstance(version, int) and version > SCHEMA_VERSION
            raise LoadlabError(
                f"{source} has schema_version {version!r}, written by a {'newer' if newer else 'different'} "
                f"loadlab; this one reads schema {SCHEMA_VERSION}" + ("; upgrade loadlab to show it" if newer else "")
            )
        points = data.get("points")
        if not isinstance(points, list):
            raise LoadlabError(f"{source}: 'points' is missing or not a list")
        derived = ("repeated",)  # written for readers (RunFolder.write_summary), computed again from the points
        summary = _build(cls, {**{k: v for k, v in data.items() if k not in derived}, "points": []}, str(source))
        summary.points = [PointResult.from_dict(p, f"{source} point {i + 1}") for i, p in enumerate(points)]
        if summary.status not in STATUSES:
            raise LoadlabError(f"{source}: status {summary.status!r} is not one of {', '.join(STATUSES)}")
        return summary

    @classmethod
    def read(cls, path: Path) -> Self:
        return cls.from_dict(read_json(path), path)


def read_json(path: Path) -> Any:
    """A results file's JSON, or one line saying why it cannot be read."""
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise LoadlabError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise LoadlabError(f"{path} is not valid JSON ({exc})") from None
    except RecursionError:  # arrays or objects nested thousands deep
        raise LoadlabError(f"{path} is not a results file (JSON nested too deeply)") from None


def _build(cls: type, data: Any, where: str) -> Any:
    """An instance of dataclass `cls` from `data`, nested dataclasses included; one line naming the
    key on a missing, unknown or mistyped field."""
    if not isinstance(data, dict):
        raise LoadlabError(f"{where}: expected an object, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise LoadlabError(f"{where}: unknown key {unknown[0]!r} (a newer loadlab's summary?)")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise LoadlabError(f"{where}: key {name!r} is missing")
            continue
        values[name] = _convert(hints[name], data[name], f"{where}: {name}")
    return cls(**values)


def _convert(kind: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        (kind,) = [a for a in args if a is not type(None)]
        return _convert(kind, value, where)
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise LoadlabError(f"{where} should be a list, got {value!r}")
        return [_convert(args[0], v, where) for v in value]
    if origin is dict or kind is Any:
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
        return value
    raise LoadlabError(f"{where} should be {kind.__name__}, got {value!r}")
