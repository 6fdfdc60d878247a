"""The table and verdicts printed at the end of a run and by `loadlab show`."""

import sys
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from loadlab.contract.scenarios import TARGETS
from loadlab.judge import findings, trust
from loadlab.judge.claims import verdicts
from loadlab.results.latency import PRECISION, ROUNDED
from loadlab.results.point import FROM_HDR, PointResult, RunSummary
from loadlab.results.repeats import Repeated, Spread, confidence, repeated, typical

WIDE = 220  # off a terminal (CI logs, pipes) the table keeps its lines whole instead of wrapping at 80


def console() -> Console:
    """Colour and the terminal's width on a terminal; plain, wide lines elsewhere."""
    kind = {"highlight": False, "markup": False}  # claims hold [brackets] that are not markup
    return Console(**kind) if sys.stdout.isatty() else Console(width=WIDE, no_color=True, **kind)


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def _load(r: PointResult) -> str:
    return f"{r.rate:g}/s open" if r.load_model == "open" else f"{r.users} {r.load_model}"


COLUMNS: tuple[tuple[str, Callable[[PointResult], str]], ...] = (
    ("target", lambda r: r.target),
    ("scenario", lambda r: r.scenario + (f" #{r.repeat}" if r.repeat else "")),
    ("server", lambda r: f"{r.server} x{r.workers}"),
    ("load", _load),
    ("requests", lambda r: str(r.requests)),
    ("errors", lambda r: str(r.failures)),
    ("rps", lambda r: _num(r.rps, "{:.1f}")),
    ("p50 ms", lambda r: _num(r.p50_ms)),
    ("p90 ms", lambda r: _num(r.p90_ms)),
    ("p99 ms", lambda r: _num(r.p99_ms)),
    ("p99.9 ms", lambda r: _num(r.p999_ms)),
    ("max ms", lambda r: _num(r.max_ms)),
    ("gen cpu", lambda r: _num(r.generator_cpu_max, "{:.0f}%")),
    ("SLO", lambda r: "ok" if not r.slo_broken else "FAIL"),
)


def table(results: list[PointResult]) -> Table:
    t = Table(box=None, pad_edge=False, header_style="bold")
    for header, _ in COLUMNS:
        t.add_column(header, justify="left" if header in ("target", "scenario") else "right", no_wrap=True)
    for r in results:
        doubtful = trust.state(r) != trust.TRUSTWORTHY or r.partial
        style = "red" if r.slo_broken else ("yellow" if doubtful else None)
        t.add_row(*(cell(r) for _, cell in COLUMNS), style=style)
    return t


def notes(results: list[PointResult]) -> list[str]:
    """What the table's cells cannot hold: ramp steps, open-model figures, trust and partial points."""
    lines = []
    for r in results:
        if r.partial:
            lines.append(f"  {r.point}: partial (interrupted after {r.timing.load_s:.0f}s of load)")
        if r.locust_workers:
            fewest = "?" if r.locust_workers_min is None else f"{r.locust_workers_min:.0f}"
            lines.append(
                f"  {r.point}: {r.locust_workers} Locust workers started apart, at least {fewest} connected throughout"
            )
        if r.cut_short:
            lines.append(f"  {r.point}: stopped early after {r.timing.load_s:.0f}s of load: {r.cut_short}")
        if r.untrustworthy:
            lines.append(f"  {r.point}: ! untrustworthy: " + "; ".join(r.untrustworthy_reasons))
        elif trust.state(r) == trust.UNKNOWN:
            lines.append(f"  {r.point}: ? trust unknown: " + "; ".join(trust.unknown(r)))
        if r.steps:
            lines.append(
                f"  {r.point}: ramp steps: "
                + ", ".join(f"{s.users} users {s.rps:.1f} rps p95 {_num(s.p95_ms)} ms" for s in r.steps)
            )
        if r.scheduled is not None:
            s = r.scheduled
            lines.append(
                f"  {r.point}: open model, from the schedule: p50 {_num(s.p50_ms)}, p99 {_num(s.p99_ms)}, "
                f"p99.9 {_num(s.p999_ms)}, max {_num(s.max_ms)} ms; {r.late or 0:.0f} requests sent late"
            )
        elif r.p99_scheduled_ms is not None:
            lines.append(
                f"  {r.point}: open model: p99 from schedule {r.p99_scheduled_ms:.0f} ms, "
                f"{r.late or 0:.0f} requests sent late"
            )
        if r.latency_problem:
            lines.append(f"  {r.point}: {r.latency_problem}")
    return lines


def latency_source(results: list[PointResult]) -> list[str]:
    """Where the percentiles come from: exact for points with an HdrHistogram log, rounded for the rest."""
    lines = []
    if any(r.percentiles_from == FROM_HDR for r in results):
        lines.append(f"  latency percentiles: every request after the warm-up, exact to {PRECISION}")
    rounded = [r.point for r in results if r.percentiles_from != FROM_HDR]
    if rounded:
        lines.append(f"  {', '.join(rounded)}: percentiles are {ROUNDED} (no HdrHistogram log)")
    return lines


REPEATED_FIGURES = (("rps", "rps", "{:.1f}"), ("p50 ms", "p50_ms", "{:.0f}"), ("p95 ms", "p95_ms", "{:.0f}"))
REPEATED_FIGURES += (("p99 ms", "p99_ms", "{:.0f}"), ("p99.9 ms", "p999_ms", "{:.0f}"), ("max ms", "max_ms", "{:.0f}"))


def _spread(spread: Spread | None, fmt: str) -> str:
    if spread is None:
        return "-"
    return f"{fmt.format(spread.median)} [{fmt.format(spread.low)}–{fmt.format(spread.high)}]"


def repeated_table(groups: list[Repeated]) -> Table:
    """Each repeated point: the median of its repetitions and, in brackets, their range."""
    t = Table(box=None, pad_edge=False, header_style="bold")
    for header in ("target", "scenario", "n", *(h for h, _, _ in REPEATED_FIGURES)):
        t.add_column(header, justify="left" if header in ("target", "scenario") else "right", no_wrap=True)
    for g in groups:
        cells = (_spread(g.figures.get(name), fmt) for _, name, fmt in REPEATED_FIGURES)
        t.add_row(g.target, g.scenario, str(g.n), *cells)
    return t


def verdicts_of(points: list[PointResult], medians: bool, out: Console) -> None:
    """The article's claims and loadlab's findings, judged on the lab's targets' points."""
    out.print()
    out.print("Published claims (figures are the article's; see loadlab/judge/claims.py):")
    if medians:
        out.print("  (judged on each repeated point's medians)")
    for claim, verdict in verdicts(points):
        out.print(f"  {claim.id} {claim.text} [{claim.claimed}]", soft_wrap=True)
        out.print(f"     -> {verdict}", soft_wrap=True)
    out.print()
    out.print("Measured findings (loadlab's own, beside the model's prediction; see loadlab/judge/findings.py):")
    for finding, verdict in findings.verdicts(points):
        out.print(f"  {finding.id} {finding.text} [{finding.setup}]", soft_wrap=True)
        out.print(f"     -> {verdict}", soft_wrap=True)


def show(summary: RunSummary, out: Console) -> None:
    results = summary.points
    out.print(f"run {summary.run_id} ({summary.status})")
    out.print()
    out.print(table(results))
    for line in latency_source(results) + notes(results):
        out.print(line, soft_wrap=True)
    if groups := repeated(results):
        fewest = min(g.n for g in groups)
        out.print()
        out.print(
            f"Repeated points: median [lowest–highest] of the repetitions, interleaved; the range holds the "
            f"median with {100 * confidence(fewest):.0f} % confidence at {fewest} repetitions (distribution-free)",
            soft_wrap=True,
        )
        out.print(repeated_table(groups))
    lab = [r for r in results if r.target in TARGETS]  # the claims and findings are about the lab's targets
    if lab:
        verdicts_of(typical(lab), bool(groups), out)
    broken = [(r.point, b) for r in results for b in r.slo_broken]
    out.print()
    if broken:
        out.print("SLOs broken:")
        for point, what in broken:
            out.print(f"  {point}: {what}", soft_wrap=True)
    else:
        out.print(f"SLOs: all {len(results)} points meet them")
