"""What `loadlab soak` prints at its end: per kind of series, how many drift beyond their tolerance,
the worst one with its slope and interval, every drifting series by name, and the verdict."""

from rich.console import Console
from rich.table import Table

from loadlab.soak import drift
from loadlab.soak.record import SoakRecord, late_notes


def slope_text(t: drift.Trend) -> str:
    if t.slope is None:
        return "-"
    unit = "%" if t.tolerance.relative and t.median else t.tolerance.unit
    return f"{t.slope:+.3g} [{t.low:+.3g}, {t.high:+.3g}] {unit}/h"


def _badness(t: drift.Trend) -> float:
    """How close a trend's interval comes to its tolerance: its low end over the limit."""
    return -1e9 if t.low is None else t.low / t.tolerance.limit


def table(trends: list[drift.Trend]) -> Table:
    title = "drift per hour (Theil-Sen, 95 % interval)"
    t = Table(box=None, pad_edge=False, header_style="bold", title=title, title_justify="left")
    counts = ("series", "ok", "undetermined", "drifts")
    for header in ("kind", "tolerance", *counts, "worst series", "its slope [interval]"):
        t.add_column(header, justify="right" if header in counts else "left")
    for kind, tol in drift.TOLERANCES.items():
        of_kind = [x for x in trends if x.kind == kind]
        if not of_kind:
            continue
        worst = max(of_kind, key=_badness)
        count = {v: sum(1 for x in of_kind if x.verdict == v) for v in (drift.OK, drift.UNDETERMINED, drift.DRIFTS)}
        t.add_row(
            kind,
            tol.describe(),
            str(len(of_kind)),
            str(count[drift.OK]),
            str(count[drift.UNDETERMINED]),
            str(count[drift.DRIFTS]),
            worst.key.split(" ", 1)[1],
            slope_text(worst),
        )
    return t


def verdict_line(trends: list[drift.Trend], status: str) -> str:
    drifting = drift.failed(trends)
    judged = sum(1 for t in trends if t.verdict != drift.TOO_FEW)
    so_far = " so far" if status != "complete" else ""
    if not judged:
        return f"soak verdict{so_far}: none (too few checkpoints for a trend)"
    if drifting:
        return f"soak verdict{so_far}: FAIL, {len(drifting)} of {judged} series drift beyond their tolerance"
    return f"soak verdict{so_far}: pass, none of {judged} series drifts beyond its tolerance"


def show(record: SoakRecord, trends: list[drift.Trend], status: str, notes: list[str], out: Console) -> None:
    checkpoints = record.checkpoints()
    out.print()
    out.print(f"soak {status}: {len(checkpoints)} checkpoints", markup=False)
    out.print(table(trends))
    for t in drift.failed(trends):
        out.print(f"drifts: {t.key}: {slope_text(t)}, tolerance {t.tolerance.describe()}", markup=False)
    for line in [*late_notes(checkpoints), *notes]:
        out.print(line, markup=False)
    out.print(verdict_line(trends, status), markup=False)
