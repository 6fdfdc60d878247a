"""A soak's record in its run's folder, written as it goes so that nothing measured is lost:

results/<run_id>/soak/settings.json     what the soak was asked to do, when it started
results/<run_id>/soak/checkpoints.jsonl one line per checkpoint, appended and flushed at once
results/<run_id>/soak/end.json          how it ended (complete, interrupted, failed) and why

A checkpoint holds every series' value then (`<kind> <owner>`: `rss_mb async-io-sleep target 1234`,
`p99_ms async-io-sleep`, `head_series prometheus`; kinds in loadlab.soak.drift.TOLERANCES) and each
point's share of late sends over the window. The verdict is computed from these files, never stored:
the console, the report and a later `loadlab report` judge the same numbers the same way.
"""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadlab.soak import drift

SOAK_DIR = "soak"


@dataclass(frozen=True)
class SoakSettings:
    duration_s: float
    checkpoint_s: float
    warmup_s: float
    rate: float  # requests per second, per point (target x scenario)
    targets: tuple[str, ...]
    scenarios: tuple[str, ...]
    server: str
    workers: int
    started_at: float = 0.0


@dataclass
class Checkpoint:
    at: float  # Unix time
    elapsed_s: float  # since the first checkpoint's window began (the end of the warm-up)
    values: dict[str, float | None]
    late: dict[str, float | None] = field(default_factory=dict)  # point -> share of late sends in the window


class SoakRecord:
    def __init__(self, run_folder: Path) -> None:
        self.dir = Path(run_folder) / SOAK_DIR

    @staticmethod
    def holds_soak(run_folder: Path) -> bool:
        return (Path(run_folder) / SOAK_DIR / "settings.json").is_file()

    def start(self, settings: SoakSettings) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "settings.json").write_text(json.dumps(asdict(settings), indent=1))

    def append(self, checkpoint: Checkpoint) -> None:
        with open(self.dir / "checkpoints.jsonl", "a") as f:
            f.write(json.dumps(asdict(checkpoint)) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def end(self, status: str, notes: list[str]) -> None:
        (self.dir / "end.json").write_text(json.dumps({"status": status, "notes": notes}, indent=1))

    def settings(self) -> SoakSettings:
        data = json.loads((self.dir / "settings.json").read_text())
        return SoakSettings(**{**data, "targets": tuple(data["targets"]), "scenarios": tuple(data["scenarios"])})

    def checkpoints(self) -> list[Checkpoint]:
        path = self.dir / "checkpoints.jsonl"
        if not path.exists():
            return []
        lines = path.read_text().splitlines()
        found = []
        for line in lines:
            try:
                found.append(Checkpoint(**json.loads(line)))
            except (ValueError, TypeError):  # a line cut short by a kill: the ones before it stand
                break
        return found

    def ending(self) -> dict:
        path = self.dir / "end.json"
        return json.loads(path.read_text()) if path.exists() else {"status": "running or killed", "notes": []}

    def trends(self) -> list[drift.Trend]:
        return drift.trends(*series(self.checkpoints()))


def series(checkpoints: list[Checkpoint]) -> tuple[dict[str, list[tuple[float, float | None]]], dict[str, list[bool]]]:
    """({key: [(elapsed, value or None)] one per checkpoint}, {point: [generator behind?] one per checkpoint})."""
    keys = sorted({k for c in checkpoints for k in c.values})
    values = {k: [(c.elapsed_s, c.values.get(k)) for c in checkpoints] for k in keys}
    points = sorted({p for c in checkpoints for p in c.late})
    late = {p: [(c.late.get(p) or 0.0) > drift.LATE_SHARE for c in checkpoints] for p in points}
    return values, late


def late_notes(checkpoints: list[Checkpoint]) -> list[str]:
    """One line per point whose generator fell behind its schedule at some checkpoint."""
    _, late = series(checkpoints)
    notes = []
    for point, flags in late.items():
        if any(flags):
            worst = max((c.late.get(point) or 0.0) for c in checkpoints)
            notes.append(
                f"{point}: the generator fell behind its schedule at {sum(flags)} of {len(flags)} checkpoints "
                f"(up to {100 * worst:.1f} % of requests sent late): those windows' p99 and errors are the "
                "generator's, left out of the target's trends"
            )
    return notes
