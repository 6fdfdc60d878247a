"""The results folder of a run, written as the run goes so an interrupted run keeps what it measured.

results/<run_id>/
  config.json      what was asked for (written first)
  summary.json     one entry per measured point (rewritten atomically after each point)
  locust/          Locust's CSV stats, one prefix per point
  latency/         every request's latency per point, HdrHistograms in HdrHistogram's log format (<point>.hlog)
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
from loadlab.results.repeats import repeated

DEFAULT_ROOT = Path("results")
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.json"
LOCUST_DIR = "locust"
LOGS_DIR = "logs"
LATENCY_DIR = "latency"
PROMETHEUS_DIR = "prometheus"
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
    """A run's folder and every path in it. `RunFolder(path)` is the folder at `path` as it is;
    `create` makes a new one, `open` finds a finished one by run id or path."""

    path: Path

    @staticmethod
    def holds_run(path: Path) -> bool:
        """Whether `path` is a run's folder (it has a summary)."""
        return (path / SUMMARY_FILE).is_file()

    @classmethod
    def create(cls, root: Path, run_id: str) -> "RunFolder":
        if not _RUN_ID.match(run_id):
            raise LoadlabError(f"run id {run_id!r} must be letters, digits, '.', '_' or '-'")
        path = root.resolve() / run_id
        if path.exists():
            raise LoadlabError(f"{path} exists already; pick another --run-id")
        folder = cls(path)
        for sub in (folder.locust_dir, folder.logs_dir, folder.prometheus_dir, folder.latency_dir):
            sub.mkdir(parents=True)
        return folder

    @classmethod
    def open(cls, root: Path, run_id: str) -> "RunFolder":
        """The run `run_id` under `root`, or a path to a run folder given as `run_id`."""
        path = Path(run_id) if cls.holds_run(Path(run_id)) else root / run_id
        if not cls.holds_run(path):
            if path.is_dir():
                raise LoadlabError(f"{path} is not a loadlab results folder (no {SUMMARY_FILE})")
            runs = sorted(p.name for p in root.glob("*") if cls.holds_run(p)) if root.is_dir() else []
            hint = f"; runs in {root}: {', '.join(runs[-5:])}" if runs else f"; no runs in {root}"
            raise LoadlabError(f"no run {run_id!r}{hint}")
        return cls(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def prometheus_dir(self) -> Path:
        """The run's own Prometheus: its configuration and TSDB (`loadlab prometheus` reopens it)."""
        return self.path / PROMETHEUS_DIR

    @property
    def summary_file(self) -> Path:
        return self.path / SUMMARY_FILE

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def locust_dir(self) -> Path:
        """Locust's files, by point: CSV stats, start gates, multiprocess metrics."""
        return self.path / LOCUST_DIR

    @property
    def logs_dir(self) -> Path:
        return self.path / LOGS_DIR

    def log(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def locust_prefix(self, point: str) -> Path:
        """The prefix of the point's Locust CSV files (`<prefix>_stats.csv`, `<prefix>_stats_history.csv`)."""
        return self.locust_dir / point

    @property
    def latency_dir(self) -> Path:
        """Every request's latency, one HdrHistogram log per point (loadlab.contract.latency_log)."""
        return self.path / LATENCY_DIR

    def latency_log(self, point: str) -> Path:
        """The point's HdrHistogram log: from sending and, for the open model, from the schedule."""
        return self.latency_dir / f"{point}.hlog"

    def start_file(self, point: str) -> Path:
        """The file whose appearance starts the point's Locust test (loadlab.load.gate)."""
        return self.locust_dir / f"{point}.start"

    def locust_metrics_dir(self, point: str) -> Path:
        """The point's Locust multiprocess metrics directory."""
        return self.locust_dir / f"{point}.metrics"

    def write_config(self, config: dict[str, Any]) -> None:
        write_json(self.config_file, config)

    def write_summary(self, summary: RunSummary) -> None:
        """summary.json; with repetitions (--repeat), each repeated point's median and interval beside them."""
        data = summary.to_dict()
        if groups := repeated(summary.points):
            data["repeated"] = [g.to_dict() for g in groups]
        write_text(self.summary_file, json.dumps(data, indent=2) + "\n")

    def summary(self) -> RunSummary:
        return RunSummary.read(self.summary_file)
