"""The report of a sweep (`results/<sweep_id>/sweep.json`, written by `loadlab sweep`): capacity and
p99 against workers, each configuration's latency percentiles and distribution at its capacity,
the model beside what was measured, the USL fits, the recommendation with the folklore it
replaces, and every capacity search's steps. Capacities are intervals, [held every time, broke]
(loadlab.results.sweep), and the USL's σ, κ and N* carry their 95 % ranges.

It comes from the typed `SweepSummary`, and the latency at capacity from each capacity step's run
folder and Prometheus data (`loadlab.report.capacity_steps`); the USL curves are computed from the
stored fits with `loadlab.tuning.usl.throughput`, the same function the fit used.
"""

import json
from collections.abc import Sequence

from loadlab.report import sweep_plots
from loadlab.report.capacity_steps import AtCapacity
from loadlab.report.figures import Figures
from loadlab.report.html import Section, bullets, cell, details, header, number, paragraph, subsection, table
from loadlab.report.run_section import when
from loadlab.results.sweep import ConfigResult, SweepStep, SweepSummary

MAX_MISSING = 3  # configurations whose latency at capacity is missing, named one by one


def _scenarios(summary: SweepSummary) -> list[str]:
    return list(dict.fromkeys(c.config.scenario for c in summary.configs))


def best_attempt(summary: SweepSummary) -> str | None:
    """When no configuration met the SLO: the step that came closest (the most throughput measured)."""
    if any(c.capacity_rps is not None for c in summary.configs):
        return None
    tried = [(c, s) for c in summary.configs for s in c.steps if s.rps is not None]
    if not tried:
        return "No configuration met the SLO, and no step measured any throughput."
    c, s = max(tried, key=lambda cs: cs[1].rps or 0.0)
    why = "; ".join(s.why) or "the SLO"
    return (
        f"No configuration met the SLO. The best attempt: {c.config.label} at {s.rate:.0f} rps offered measured "
        f"{s.rps:.0f} rps, p99 {number(s.p99_ms)} ms ({why})."
    )


def header_section(summary: SweepSummary, missing: list[str]) -> Section:
    done = sum(c.done for c in summary.configs)
    steps = sum(len(c.steps) for c in summary.configs)
    duration = f" ({summary.ended_at - summary.started_at:.0f} s)" if summary.ended_at else ""
    items = [
        ("sweep", summary.sweep_id),
        ("status", summary.status),
        ("when", f"{when(summary.started_at)} to {when(summary.ended_at)}{duration}"),
        ("machine cores", summary.cores),
        ("configurations", f"{done} of {len(summary.configs)} searched, {steps} steps measured"),
        ("settings", json.dumps(summary.settings, sort_keys=True, default=str)),
    ]
    body = header(items)
    attempt = best_attempt(summary)
    if attempt:
        body += paragraph(attempt, "bad")
    if missing:
        body += paragraph("Figures not drawn:", "note") + bullets(missing, "note")
    return Section("Sweep", body)


def _flags(c: ConfigResult) -> str:
    flags = []
    if c.model and c.model.hidden_limit:
        flags.append("hidden limit")
    if c.generator_saturated:
        flags.append("generator saturated: not used")
    return ", ".join(flags)


def configs_table(configs: list[ConfigResult]) -> str:
    rows = []
    for c in configs:
        m = c.model
        rows.append(
            [
                cell(c.config.label),
                cell(c.interval, num=True),
                cell(c.confirmed),
                cell(number(c.capacity_measured_rps), num=True),
                cell(number(c.capacity_p99_ms), num=True),
                cell(number(c.cpu_ms_per_request, 2), num=True),
                cell(number(m.ceiling_rps) if m else "—", num=True),
                cell(f"{m.binding}: {m.explanation}" if m else "no model"),
                cell(f"{m.ratio:.2f}" if m else "—", num=True, css="bad" if m and m.hidden_limit else ""),
                cell(_flags(c), css="bad" if _flags(c) else ""),
                cell(c.stopped or "running"),
            ]
        )
    headers = (
        "configuration",
        "capacity rps [held every time, broke]",
        "measurements at its ends",
        "measured rps",
        "p99 ms",
        "CPU ms/req",
        "model rps",
        "binding limit",
        "measured ÷ model",
        "flags",
        "search stopped",
    )
    return table(headers, rows)


def _ranged(value: float, spread: list[float] | None) -> str:
    return f"{value:.3g}" if spread is None else f"{value:.3g} ({spread[0]:.3g} to {spread[1]:.3g})"


def usl_table(summary: SweepSummary) -> str:
    rows = [
        [
            cell(f"{u.server} · {u.target} · {u.scenario}"),
            cell(", ".join(f"{w}: {x:.0f}" for w, x in zip(u.workers, u.capacity_rps, strict=False))),
            cell(f"{u.lam:.3g}", num=True),
            cell(_ranged(u.sigma, u.sigma_range), num=True),
            cell(_ranged(u.kappa, u.kappa_range), num=True),
            cell(u.peak, num=True),
            cell(u.verdict),
        ]
        for u in summary.usl
    ]
    headers = ("fit", "workers: capacity rps", "λ", "σ (95 %)", "κ (95 %)", "N* (95 %)", "would more workers help?")
    return table(headers, rows)


def recommendation_table(summary: SweepSummary) -> str:
    """One block per target × scenario: the best, the configurations within noise of it and the smallest
    of them, then the folklore rows."""
    rows, classes = [], []
    for r in summary.recommendations:
        what = f"{r.target} · {r.scenario}"
        rows.append([cell(what), cell("best"), cell(r.best or "none"), cell(number(r.best_rps), num=True), cell(r.why)])
        rows.append(
            [
                cell(what),
                cell("within noise of the best"),
                cell(", ".join(r.within_noise) or "—"),
                cell(""),
                cell("capacity intervals that overlap the best's: a measurement cannot tell them apart"),
            ]
        )
        rows.append(
            [
                cell(what),
                cell("the smallest of those"),
                cell(r.smallest or "none"),
                cell(number(r.smallest_rps), num=True),
                cell(""),
            ]
        )
        classes += ["", "", ""]
        for f in r.folklore:
            rows.append(
                [
                    cell(what),
                    cell(f"folklore: {f.rule}"),
                    cell(f"{f.workers} workers"),
                    cell(number(f.capacity_rps), num=True),
                    cell(f.note),
                ]
            )
            classes.append("sub")
    return table(("target · scenario", "row", "configuration", "capacity rps", "why / note"), rows, classes)


def _step_row(s: SweepStep) -> list[str]:
    why = "; ".join(s.why) + ("; generator saturated" if s.generator_saturated else "")
    return [
        cell(number(s.rate, 1), num=True),
        cell("passed" if s.passed else "failed", css="good" if s.passed else "bad"),
        cell(number(s.rps, 1), num=True),
        cell(number(s.p99_ms), num=True),
        cell(f"{s.error_ratio:.2%}", num=True),
        cell(why.strip("; ")),
        cell(s.run_id),
    ]


def search_log(configs: list[ConfigResult]) -> str:
    blocks = []
    for c in configs:
        rows = [_step_row(s) for s in c.steps]
        said = f"{c.config.label}: {len(c.steps)} steps, capacity {c.interval} rps ({c.confirmed})"
        inner = table(("rate offered", "verdict", "rps", "p99 ms", "errors", "why", "step run (steps/…)"), rows)
        blocks.append(details(said, inner + paragraph(c.stopped or "still searching", "note")))
    return "".join(blocks)


def sections(
    summary: SweepSummary,
    figures: Figures,
    at_capacity: Sequence[AtCapacity] = (),
    at_capacity_missing: Sequence[str] = (),
) -> list[Section]:
    missing: list[str] = [f"latency at capacity, {why}" for why in at_capacity_missing[:MAX_MISSING]]
    if len(at_capacity_missing) > MAX_MISSING:
        missing.append(f"latency at capacity: {len(at_capacity_missing) - MAX_MISSING} more configurations likewise")
    body = [Section("Configurations", configs_table(summary.configs))]
    capacity, model = [], []
    for scenario in _scenarios(summary):
        configs = [c for c in summary.configs if c.config.scenario == scenario]
        drawn = sweep_plots.capacity(figures, scenario, configs)
        if drawn:
            capacity.append(subsection(scenario, drawn))
        else:
            missing.append(f"capacity against workers, {scenario}: no configuration met the SLO")
        drawn = sweep_plots.model_vs_measured(figures, scenario, configs)
        if drawn:
            model.append(subsection(scenario, drawn))
    if capacity:
        body.append(Section("Capacity and p99 against workers", "".join(capacity)))
    latency = []
    for scenario in _scenarios(summary):
        items = [a for a in at_capacity if a.config.config.scenario == scenario]
        targets = dict.fromkeys(a.config.config.target for a in items)
        drawn = [sweep_plots.latency_at_capacity(figures, scenario, items)]
        drawn += [sweep_plots.distribution_at_capacity(figures, scenario, t, items) for t in targets]
        if any(drawn):
            latency.append(subsection(scenario, "".join(d for d in drawn if d)))
    if latency:
        body.append(Section("Latency at capacity", "".join(latency)))
    if model:
        body.append(Section("Model vs measured", "".join(model)))
    if summary.usl:
        curves = [d for u in summary.usl if (d := sweep_plots.usl(figures, u))]
        body.append(Section("Universal Scalability Law", usl_table(summary) + "".join(curves)))
    else:
        missing.append("USL curves: no fit (it needs capacity at 3 or more worker counts)")
    if summary.recommendations:
        body.append(Section("Recommendation", recommendation_table(summary)))
    else:
        body.append(Section("Recommendation", paragraph("No recommendation yet (the sweep has not finished).")))
    body.append(Section("Capacity search log", search_log(summary.configs)))
    return [header_section(summary, missing), *body]


def title(summary: SweepSummary) -> str:
    return f"loadlab sweep {summary.sweep_id}"


def subtitle(summary: SweepSummary) -> str:
    return f"{summary.status}, started {when(summary.started_at)}, {len(summary.configs)} configurations"
