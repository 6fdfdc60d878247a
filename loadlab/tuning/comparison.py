"""Run (or sweep) B against A: open both sides, pair their points (or configurations), judge each
figure, one `Result`.

Runs: points are matched on target, scenario, server and workers (`match` picks other fields, e.g.
("target", "scenario") to compare across worker counts); a point only one side has is listed as
such. How each figure is tested, and why single runs need this machine's calibration (the noise
floor that `loadlab calibrate` writes to <results>/calibration.json): loadlab.tuning.run_comparison.

Sweeps: configurations are compared on capacity_rps and capacity_p99_ms; there are no samples of
a capacity, so the threshold alone decides.

Bad input (a missing run, a run against a sweep, no point in common, runs made with different
--repeat, a threshold outside (0, 1), a calibration of another machine or suite) is a LoadlabError
of one line. SciPy and arch are imported only when a test is made.
"""

from dataclasses import dataclass
from pathlib import Path

from loadlab.errors import LoadlabError
from loadlab.results.calibration import Calibration, default_path
from loadlab.results.folder import RunFolder
from loadlab.results.point import RunSummary
from loadlab.results.sweep import ConfigResult, SweepFolder, SweepSummary
from loadlab.tuning.compare import IMPROVEMENT, NOISE, REGRESSION, THRESHOLD, relative_change
from loadlab.tuning.comparison_result import SWEEP_FIGURES, Result, Row
from loadlab.tuning.pairing import add_only, pair
from loadlab.tuning.run_comparison import RUN_MATCH, compare_runs, repeat_count

MATCH_FIELDS = ("target", "scenario", "server", "workers", "threads", "db_pool")
NO_SWEEP_SAMPLES = "sweeps: a capacity has no samples to test, so the threshold alone decides"
NO_CALIBRATION = "none"  # --calibration none: compare single runs without a noise floor

__all__ = ["RUN_MATCH", "compare_runs"]


@dataclass
class Side:
    name: str
    path: Path
    run: RunSummary | None = None
    sweep: SweepSummary | None = None

    @property
    def kind(self) -> str:
        return "run" if self.run is not None else "sweep"


def open_side(root: Path, name: str) -> Side:
    """A run id under `root` or a path: a sweep when the folder holds sweep.json, else a run."""
    for path in (Path(name), root / name):
        if SweepFolder.holds_sweep(path):
            return Side(name, path, sweep=SweepSummary.read(path))
    folder = RunFolder.open(root, name)
    return Side(name, folder.path, run=folder.summary())


def check_threshold(value: float) -> float:
    if not 0 < value < 1:  # NaN fails too
        raise LoadlabError(f"--threshold must be between 0 and 1 (0.1 is 10 %), got {value:g}")
    return value


def parse_match(text: str) -> tuple[str, ...]:
    fields = tuple(f.strip().replace("-", "_") for f in text.split(",") if f.strip())
    unknown = [f for f in fields if f not in MATCH_FIELDS]
    if unknown or not fields:
        raise LoadlabError(f"--match takes fields among {','.join(MATCH_FIELDS)}, got {text!r}")
    return tuple(dict.fromkeys(fields))


def load_calibration(path: Path, a: Side) -> Calibration | None:
    """The calibration single runs are judged with: None when there is none at `path` (or it is
    "none"); refused in one line when it is of another machine or of another suite than A ran."""
    if str(path) == NO_CALIBRATION or not path.exists():
        return None
    calibration = Calibration.read(path)
    assert a.run is not None
    calibration.check(path, a.name, a.run.points)
    return calibration


def compare_sides(
    a: Side,
    b: Side,
    threshold: float,
    match: tuple[str, ...] | None = None,
    calibration: Path | None = None,
) -> Result:
    """B against A. Single runs use the calibration at `calibration` (default: calibration.json in
    the results folder that holds A)."""
    check_threshold(threshold)
    if a.kind != b.kind:
        raise LoadlabError(
            f"cannot compare a {a.kind} ({a.name}) with a {b.kind} ({b.name}): give two runs or two sweeps"
        )
    names = (a.name, b.name)
    if a.run is not None and b.run is not None:
        found = None
        if repeat_count(a.run) == 1 and repeat_count(b.run) == 1:
            found = load_calibration(calibration or default_path(a.path.parent), a)
        return compare_runs(
            a.run, RunFolder(a.path), b.run, RunFolder(b.path), threshold, match or RUN_MATCH, names, found
        )
    assert a.sweep is not None and b.sweep is not None
    return compare_sweeps(a.sweep, b.sweep, threshold, match or MATCH_FIELDS, names)


def compare_sweeps(
    a: SweepSummary,
    b: SweepSummary,
    threshold: float = THRESHOLD,
    match: tuple[str, ...] = MATCH_FIELDS,
    names: tuple[str, str] = ("A", "B"),
) -> Result:
    """Each configuration of sweep B against the matching one of A, on capacity and its p99."""
    result = Result("sweep", names[0], names[1], threshold, match, method=NO_SWEEP_SAMPLES)

    def label(c: ConfigResult) -> str:
        return c.config.id

    def key(c: ConfigResult) -> tuple:
        return tuple(getattr(c.config, f) for f in match)

    common, only_a, only_b = pair("configuration", a.configs, b.configs, key, label, match)
    for side, sweep in (("A", a), ("B", b)):
        if sweep.status != "complete":
            result.notes.append(f"{side} ({sweep.sweep_id}) is {sweep.status}")
    for ca, cb in common:
        item = label(ca) if ca.config == cb.config else f"{label(ca)} / {label(cb)}"
        unfinished = [side for side, c in (("A", ca), ("B", cb)) if not c.done]
        if unfinished:  # a capacity still being searched is a lower bound at most: not compared
            result.notes.append(
                f"{item}: not compared: the capacity search of {' and '.join(unfinished)} did not finish"
            )
            continue
        for figure, higher_is_better, _ in SWEEP_FIGURES:
            va, vb = getattr(ca, figure), getattr(cb, figure)
            if va is not None and vb is not None:
                change = relative_change(va, vb)
                worse = change < 0 if higher_is_better else change > 0
                said = f"{va:.4g} → {vb:.4g} ({change:+.1%})"
                if abs(change) <= threshold:
                    verdict, reason = NOISE, f"{said}: within ±{threshold:.0%}"
                else:
                    verdict, reason = (REGRESSION if worse else IMPROVEMENT), f"{said}: threshold alone"
                result.rows.append(Row(item, figure, va, vb, change, None, verdict, reason))
            elif figure == "capacity_rps":
                if va is None and vb is None:
                    verdict, reason = NOISE, "no rate tried met the SLO in either sweep"
                elif vb is None:
                    verdict, reason = REGRESSION, f"{va:.4g} → none: no rate B tried met the SLO"
                else:
                    verdict, reason = IMPROVEMENT, f"none → {vb:.4g}: no rate A tried met the SLO"
                result.rows.append(Row(item, figure, va, vb, None, None, verdict, reason))
        for side, c in (("A", ca), ("B", cb)):
            if c.generator_saturated:
                result.notes.append(f"{item}: {side}'s generator saturated before the target")
    if not result.rows:
        raise LoadlabError(
            "no configuration the two sweeps share has finished its capacity search in both: nothing to compare yet"
        )
    result.notes.append(NO_SWEEP_SAMPLES)
    add_only(result, only_a, only_b, label)
    return result
