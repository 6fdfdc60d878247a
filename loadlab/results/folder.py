"""The results folder of a run, written as the run goes so an interrupted run keeps what it measured.

results/<run_id>/
  config.json      what was asked for (written first)
  summary.json     one entry per measured point (rewritten atomically after each point)
  locust/          Locust's CSV stats, one prefix per point
  logs/            one log per process
  prometheus/      the Prometheus TSDB, config and log
"""

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadlab.errors import LoadlabError
from loadlab.results.point import RunSummary

DEFAULT_ROOT = Path("results")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def write_text(path: Path, text: str) -> None:
    """Write whole or not at all: a reader never sees half a file, a crash never leaves one."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


@dataclass
class RunFolder:
    path: Path

    @classmethod
    def create(cls, root: Path, run_id: str) -> "RunFolder":
        if not _RUN_ID.match(run_id):
            raise LoadlabError(f"run id {run_id!r} must be letters, digits, '.', '_' or '-'")
        path = root.resolve() / run_id
        if path.exists():
            raise LoadlabError(f"{path} exists already; pick another --run-id")
        for sub in ("locust", "logs", "prometheus"):
            (path / sub).mkdir(parents=True)
        return cls(path)

    @classmethod
    def open(cls, root: Path, run_id: str) -> "RunFolder":
        """The run `run_id` under `root`, or a path to a run folder given as `run_id`."""
        path = Path(run_id) if (Path(run_id) / "summary.json").is_file() else root / run_id
        if not (path / "summary.json").is_file():
            if path.is_dir():
                raise LoadlabError(f"{path} is not a loadlab results folder (no summary.json)")
            runs = sorted(p.name for p in root.glob("*") if (p / "summary.json").is_file()) if root.is_dir() else []
            hint = f"; runs in {root}: {', '.join(runs[-5:])}" if runs else f"; no runs in {root}"
            raise LoadlabError(f"no run {run_id!r}{hint}")
        return cls(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def prometheus_dir(self) -> Path:
        """The run's own Prometheus: its configuration and TSDB (`loadlab prometheus` reopens it)."""
        return self.path / "prometheus"

    def log(self, name: str) -> Path:
        return self.path / "logs" / f"{name}.log"

    def locust_prefix(self, point: str) -> Path:
        return self.path / "locust" / point

    def write_config(self, config: dict[str, Any]) -> None:
        write_json(self.path / "config.json", config)

    def write_summary(self, summary: RunSummary) -> None:
        write_text(self.path / "summary.json", summary.to_json())

    def summary(self) -> RunSummary:
        return RunSummary.read(self.path / "summary.json")
