"""Each configuration of a sweep at its capacity: the step that set it, read back from its run
folder (`steps/<run_id>/summary.json`), with what that run's Prometheus saw of it (its latency
histograms), for the report's latency figures per configuration."""

from dataclasses import dataclass
from pathlib import Path

from loadlab.errors import LoadlabError
from loadlab.report import prometheus_data
from loadlab.report.prometheus_data import PointSide
from loadlab.results.point import PointResult
from loadlab.results.sweep import ConfigResult, SweepFolder, SweepSummary


@dataclass(frozen=True)
class AtCapacity:
    config: ConfigResult
    point: PointResult  # the step at the configuration's capacity
    side: PointSide | None  # its Prometheus histograms; None when the run's TSDB could not be read


def read(folder: Path, sweep: SweepSummary) -> tuple[list[AtCapacity], list[str]]:
    """Every configuration with a capacity, at that capacity; and why any is missing."""
    found, missing = [], []
    for c in sweep.configs:
        step = c.capacity_step()  # the median of the measurements at the rate held every time
        if step is None:
            continue
        run = SweepFolder(folder).step_run(step.run_id)
        try:
            summary = run.summary()
        except LoadlabError as exc:
            missing.append(f"{c.config.label}: {exc}")
            continue
        point = next((p for p in summary.points if p.point == step.point), None) if step.point else None
        if point is None:
            missing.append(f"{c.config.label}: no point {step.point!r} in {run.summary_file}")
            continue
        prom = prometheus_data.read(run.path, summary, [point])
        if prom.missing:
            missing.append(f"{c.config.label}: {prom.missing}")
        found.append(AtCapacity(c, point, prom.of(point)))
    return found, missing
