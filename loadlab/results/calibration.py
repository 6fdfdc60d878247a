"""This machine's noise floor for `loadlab compare`: what `loadlab calibrate` measured, as a file.

results/calibration.json holds, for each target and scenario of the calibration's suite and each
figure compare judges (rps, mean_ms, p50_ms, p95_ms, p99_ms), the figure of every one of its
identical runs (A/A pairs, run back to back). With them go who measured it (the machine: hostname, CPU count and
model, loadlab's version) and how (the suite's settings as its points ran them: server, workers,
threads, pool, load model, users or rate, warm-up and duration), because a floor measured on
another machine, or under another load, says nothing about this one: `check` refuses both, in one
line. How a floor is made from the changes: loadlab.tuning.noise_floor.
"""

import math
import os
import platform
import socket
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Self

from loadlab import __version__
from loadlab.errors import LoadlabError
from loadlab.results.folder import write_json
from loadlab.results.point import PointResult, read_json

FILE_NAME = "calibration.json"
SCHEMA_VERSION = 1
# The settings of a point that shape its noise, as the calibration ran them and run A must match.
SETTINGS = ("server", "workers", "threads", "db_pool", "load_model", "users", "rate", "warmup_s", "duration_s")


def default_path(results_root: Path) -> Path:
    return Path(results_root) / FILE_NAME


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@dataclass(frozen=True)
class Machine:
    hostname: str
    cpus: int
    cpu_model: str
    loadlab_version: str

    @classmethod
    def here(cls) -> Self:
        return cls(socket.gethostname(), os.cpu_count() or 0, cpu_model(), __version__)

    def differs(self, other: "Machine") -> str:
        """'' when `other` is this machine; else what differs, e.g. "hostname 'a' (here 'b')"."""
        said = [
            f"{name.replace('_', ' ')} {theirs!r} (here {ours!r})"
            for name, theirs, ours in (
                ("hostname", other.hostname, self.hostname),
                ("CPU count", other.cpus, self.cpus),
                ("CPU model", other.cpu_model, self.cpu_model),
                ("loadlab_version", other.loadlab_version, self.loadlab_version),
            )
            if theirs != ours
        ]
        return ", ".join(said)


def point_key(p: PointResult) -> str:
    return f"{p.target} {p.scenario}"


def settings_of(p: PointResult) -> dict[str, Any]:
    found = {name: getattr(p, name) for name in SETTINGS}
    if p.load_model == "open":
        found["users"] = None
    else:
        found["rate"] = None
    return found


@dataclass
class Calibration:
    machine: Machine
    suite: str  # its name, or "custom"
    settings: dict[str, dict[str, Any]]  # "<target> <scenario>" → SETTINGS as that point ran
    pairs: list[list[str]]  # the run ids of each A/A pair
    # "<target> <scenario>" → figure → its value in each run, in the order of `pairs`
    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    schema_version: int = SCHEMA_VERSION

    def spread(self, target: str, scenario: str, figure: str) -> tuple[float, int] | None:
        """(standard deviation of ln(B ÷ A) of two runs, its degrees of freedom) of one figure: √2 ×
        the standard deviation of ln(figure) over every calibration run (n runs: n − 1 degrees of
        freedom, not the n ÷ 2 of the pairs' own changes; and the drift between pairs counts too).
        None if not calibrated, or with fewer than 2 runs."""
        logs = [math.log(v) for v in self.values.get(f"{target} {scenario}", {}).get(figure, []) if v > 0]
        if len(logs) < 2:
            return None
        return math.sqrt(2) * statistics.stdev(logs), len(logs) - 1

    def check(self, path: Path, run_name: str, points: list[PointResult]) -> None:
        """Refuse, in one line, a calibration from another machine, or of another suite than run
        `run_name` (the baseline) ran: none of its points, or one of them under other settings. A
        point the calibration does not hold is left without a floor."""
        machine = Machine.here().differs(self.machine)
        if machine:
            raise LoadlabError(
                f"{path} was measured on another machine ({machine}): its noise floor does not apply here; "
                "run `loadlab calibrate` on this machine"
            )
        calibrated = [p for p in points if point_key(p) in self.settings]
        if not calibrated:
            raise LoadlabError(
                f"{path} calibrated another suite ({self.suite}: {', '.join(self.settings)}) than run {run_name} "
                f"ran ({', '.join(dict.fromkeys(point_key(p) for p in points))}); run `loadlab calibrate` "
                "with the run's suite and settings"
            )
        for p in calibrated:
            theirs, ours = self.settings[point_key(p)], settings_of(p)
            differs = [f"{k} {theirs.get(k)!r} vs {ours[k]!r}" for k in SETTINGS if theirs.get(k) != ours[k]]
            if differs:
                raise LoadlabError(
                    f"{path} calibrated another suite ({self.suite}) than run {run_name} ran, at {point_key(p)}: "
                    f"{'; '.join(differs)} (calibration vs run); run `loadlab calibrate` with the run's settings"
                )

    def to_dict(self) -> dict[str, Any]:
        data = {"schema_version": self.schema_version, **asdict(self)}
        data["machine"] = asdict(self.machine)
        return data

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, self.to_dict())

    @classmethod
    def read(cls, path: Path) -> Self:
        data = read_json(path)
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            raise LoadlabError(
                f"{path} is not a loadlab calibration of schema {SCHEMA_VERSION}: run `loadlab calibrate`"
            )
        try:
            machine = Machine(**data.pop("machine"))
            data.pop("schema_version")
            found = cls(machine=machine, **data)
            for figures in found.values.values():
                for values in figures.values():
                    [float(v) for v in values]
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise LoadlabError(f"{path} is not a loadlab calibration ({exc}): run `loadlab calibrate`") from None
        return found
