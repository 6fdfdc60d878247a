"""This machine's noise between runs, as `loadlab calibrate` measures it and `loadlab compare` uses it.

A calibration runs a suite twice per pair, back to back, with nothing changed (A/A), and keeps for
each point and figure its value in every run (`run_values`, `merge`), in results/calibration.json
(loadlab.results.calibration). The spread of ln(figure) over the n runs, × √2, is the spread of
one A/A change (Calibration.spread); `floor` makes of it a loadlab.tuning.resample.Floor, whose
bound is the change a Student t (n − 1 degrees of freedom) puts at alpha: a change of two single
runs has to exceed it to count.
The figures are those compare judges (`figure_values`): Locust's throughput and p50/p95/p99 after
the warm-up, and the mean latency of the measured window from its history file.
"""

from loadlab.results.calibration import Calibration, point_key
from loadlab.results.folder import RunFolder
from loadlab.results.locust_csv import read_per_second
from loadlab.results.point import PointResult, RunSummary
from loadlab.tuning.comparison_result import RUN_FIGURES
from loadlab.tuning.resample import ALPHA, Floor

FIGURES = tuple(f for f, _, _ in RUN_FIGURES)


def figure_values(folder: RunFolder, p: PointResult) -> dict[str, float | None]:
    """The figures compare judges of one measured point."""
    mean = read_per_second(folder.locust_prefix(p.point), p).whole_mean_ms
    return {
        "rps": p.rps,
        "mean_ms": mean,
        "p50_ms": p.p50_ms,
        "p95_ms": p.p95_ms,
        "p99_ms": p.p99_ms,
        "p999_ms": p.p999_ms,  # None before HdrHistograms: such a point is not compared on it
    }


def run_values(summary: RunSummary, folder: RunFolder) -> dict[str, dict[str, float]]:
    """Each point's figures in one run: "<target> <scenario>" → figure → value."""
    return {point_key(p): {f: v for f, v in figure_values(folder, p).items() if v is not None} for p in summary.points}


def merge(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, list[float]]]:
    """The figures of every run, per point and figure, in the calibration file's shape."""
    merged: dict[str, dict[str, list[float]]] = {}
    for figures_of in runs:
        for key, figures in figures_of.items():
            for figure, value in figures.items():
                merged.setdefault(key, {}).setdefault(figure, []).append(value)
    return merged


def floor(calibration: Calibration | None, target: str, scenario: str, figure: str, alpha: float = ALPHA):
    """The Floor of one figure, or None when it was not calibrated."""
    spread = calibration.spread(target, scenario, figure) if calibration else None
    return Floor(spread[0], spread[1], alpha) if spread else None
