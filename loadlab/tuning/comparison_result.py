"""What `loadlab compare` found: a `Row` per point (or configuration) and figure, in a `Result`,
and the texts of its cells that the terminal's table (loadlab.console.compare_table) and the
report's section (loadlab.report.compare_section) both show."""

import math
from dataclasses import dataclass, field
from typing import Any

from loadlab.errors import FAILED
from loadlab.tuning.compare import IMPROVEMENT, NOISE, NOT_ENOUGH, REGRESSION

ONLY_A, ONLY_B = "only in A", "only in B"

# (figure, higher is better, heading): what is compared per point of a run, per configuration of a sweep
RUN_FIGURES = (
    ("rps", True, "rps"),
    ("mean_ms", False, "mean ms"),
    ("p50_ms", False, "p50 ms"),
    ("p95_ms", False, "p95 ms"),
    ("p99_ms", False, "p99 ms"),
    ("p999_ms", False, "p99.9 ms"),
)
SWEEP_FIGURES = (("capacity_rps", True, "capacity rps"), ("capacity_p99_ms", False, "capacity p99 ms"))

HEADERS = ("point", "figure", "A", "B", "change", "95% interval", "floor", "q (BH)", "verdict")


@dataclass
class Row:
    item: str  # the point or configuration
    figure: str  # e.g. rps, p99_ms, capacity_rps; "" for a point only one side has
    a: float | None
    b: float | None
    change: float | None  # (b − a) ÷ a; ±inf when a is 0
    p_value: float | None  # the test's; None: no test (too few or no samples)
    verdict: str  # regression, improvement, noise, not enough data, only in A, only in B
    reason: str
    low: float | None = None  # the (1 − alpha) interval of the change, (B ÷ A) − 1
    high: float | None = None
    floor: float | None = None  # this machine's A/A noise floor, as a relative change (single runs)
    q_value: float | None = None  # p adjusted by Benjamini–Hochberg over every figure compared


@dataclass
class Result:
    kind: str  # "run" or "sweep"
    a: str  # as given on the command line
    b: str
    threshold: float
    match: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    method: str = ""  # how the figures were tested, one line

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == REGRESSION]

    @property
    def status(self) -> int:
        return FAILED if self.regressions else 0

    def summary_line(self) -> str:
        figures = [r for r in self.rows if r.figure]
        items = len({r.item for r in figures})
        unit = "points" if self.kind == "run" else "configurations"
        only = [r for r in self.rows if not r.figure]
        tail = f"; {len(only)} {unit} on one side only" if only else ""
        if self.regressions:
            what = "; ".join(f"{r.item} {heading(r.figure)} {_moved(r)}" for r in self.regressions)
            return f"REGRESSED: {len(self.regressions)} of {len(figures)} figures: {what}{tail}"
        counts = {v: sum(r.verdict == v for r in figures) for v in (IMPROVEMENT, NOISE, NOT_ENOUGH)}
        said = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        return (
            f"no regression: {len(figures)} figures of {items} {unit} compared at ±{self.threshold:.0%}"
            + (f" ({said})" if said else "")
            + tail
        )

    def to_dict(self) -> dict[str, Any]:
        def number(x: float | None) -> float | str | None:
            return x if x is None or math.isfinite(x) else ("+inf" if x > 0 else "-inf")

        return {
            "kind": self.kind,
            "a": self.a,
            "b": self.b,
            "threshold": self.threshold,
            "match": list(self.match),
            "method": self.method,
            "regressed": bool(self.regressions),
            "status": self.status,
            "summary": self.summary_line(),
            "rows": [{k: number(v) if isinstance(v, float) else v for k, v in r.__dict__.items()} for r in self.rows],
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------- the texts of a result's table


def headers(result: Result) -> tuple[str, ...]:
    return HEADERS if result.kind == "run" else ("configuration", *HEADERS[1:])


def cells(result: Result) -> list[tuple[str, ...]]:
    return [
        (
            r.item,
            heading(r.figure),
            _num(r.a, r.figure),
            _num(r.b, r.figure),
            _change(r.change),
            interval(r),
            "—" if r.floor is None else f"±{r.floor:.1%}",
            _p(r.q_value),
            r.verdict,
        )
        for r in result.rows
    ]


def interval(r: Row) -> str:
    if r.low is None or r.high is None:
        return "—"
    return f"{_change(r.low)} … {_change(r.high)}"


def heading(figure: str) -> str:
    return dict((f, h) for f, _, h in (*RUN_FIGURES, *SWEEP_FIGURES)).get(figure, figure)


def _num(x: float | None, figure: str = "") -> str:
    if x is None:
        return "—"
    return f"{x:.1f}" if figure.endswith("rps") or abs(x) < 10 else f"{x:.0f}"


def _moved(r: Row) -> str:
    """How a figure moved, for the summary line: its change and interval, or its values when one side has none."""
    if r.change is not None:
        return _change(r.change) + (f" [{interval(r)}]" if r.low is not None else "")
    return (
        f"{_num(r.a, r.figure) if r.a is not None else 'none'} → {_num(r.b, r.figure) if r.b is not None else 'none'}"
    )


def _change(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:+.1%}" if math.isfinite(x) else ("+inf" if x > 0 else "-inf")


def _p(x: float | None) -> str:
    return "—" if x is None else f"{x:.2g}"
