"""What `loadlab sweep` prints at its end: every configuration's capacity interval beside the model,
the USL fits with their ranges, and the recommendation with the folklore it replaces."""

from rich.console import Console
from rich.table import Table

from loadlab.results.sweep import SweepSummary
from loadlab.tuning.analysis import trust_unknown_at_capacity


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def capacities(summary: SweepSummary) -> Table:
    title = "capacity under the SLO, [held every time, broke] rps"
    t = Table(box=None, pad_edge=False, header_style="bold", title=title, title_justify="left")
    for header in ("target", "scenario", "server", "workers", "threads", "pool", "capacity", "measured", "served rps"):
        left = header in ("target", "scenario", "server", "measured")
        t.add_column(header, justify="left" if left else "right", no_wrap=True)
    for header in ("p99 ms", "steps", "model rps", "ratio", "binds"):
        t.add_column(header, justify="right" if header != "binds" else "left", no_wrap=True)
    for r in summary.configs:
        c = r.config
        m = r.model
        flag = " (hidden limit)" if m and m.hidden_limit else ""
        flag += " (generator)" if r.generator_saturated else ""
        flag += " (trust unknown)" if trust_unknown_at_capacity(r) else ""
        t.add_row(
            c.target,
            c.scenario,
            c.server,
            str(c.workers),
            str(c.threads),
            str(c.db_pool),
            r.interval,
            r.confirmed,
            _num(r.capacity_measured_rps),
            _num(r.capacity_p99_ms),
            str(len(r.steps)),
            _num(m.ceiling_rps if m else None),
            _num(m.ratio if m else None, "{:.2f}"),
            (m.binding if m else "-") + flag,
            style="yellow" if flag else None,
        )
    return t


def show(summary: SweepSummary, out: Console) -> None:
    out.print(capacities(summary))
    for curve in summary.usl:
        out.print(
            f"USL {curve.target} {curve.scenario} {curve.server}: λ={curve.lam:.0f} rps, N* {curve.peak}. "
            f"More workers? {curve.verdict}"
        )
    if not summary.usl:
        out.print(
            "USL: not fitted (it needs 3 or more worker counts with a capacity the recommendation can use: "
            "trusted, not the generator's, not the search's max rate; everything else equal)"
        )
    for rec in summary.recommendations:
        out.print()
        out.print(f"recommended for {rec.target} {rec.scenario}: {rec.smallest or 'nothing'}")
        if len(rec.within_noise) > 1:
            out.print(f"  within noise of the best: {', '.join(rec.within_noise)}")
        out.print(f"  why: {rec.why}")
        for f in rec.folklore:
            out.print(f"  folklore, {f.rule} workers: {f.note}")
