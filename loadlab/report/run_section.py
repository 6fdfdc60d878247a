"""The report of one run (`results/<run_id>/`, written by `loadlab run`): its header, the table of
points, the figures of `run_plots`, the published-claims check and loadlab's own measured findings.

Everything comes from the run folder: summary.json (typed `RunSummary`), Locust's per-second CSV
rows, and what the run's Prometheus stored (`prometheus_data`). A figure that cannot be drawn is
named on the page with the reason, never silently left out.
"""

import os
import time
from pathlib import Path

from loadlab.contract.scenarios import TARGETS
from loadlab.judge import findings, trust
from loadlab.judge.claims import verdicts
from loadlab.report import history, latency_section, run_plots
from loadlab.report.figures import Figures
from loadlab.report.html import Section, bullets, cell, header, number, paragraph, table
from loadlab.report.prometheus_data import PromData
from loadlab.results import latency
from loadlab.results.folder import RunFolder
from loadlab.results.point import FROM_HDR, PointResult, RunSummary
from loadlab.results.repeats import typical

NOT_MEASURED = "not measured"  # how a claim's verdict starts when the run lacks its points


def when(t: float | None) -> str:
    return "—" if t is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def _load(p: PointResult) -> str:
    if p.load_model == "open":
        return f"open, {number(p.rate, 1)} rps offered"
    return f"{p.load_model}, {p.users} users"


def _config(summary: RunSummary) -> str:
    c = summary.config
    parts = [f"{c.get('server', '?')} × {c.get('workers', '?')} workers", f"{c.get('threads', '?')} threads"]
    parts.append(f"DB pool {c.get('db_pool', '?')}")
    model = c.get("model")
    if model == "open":
        parts.append(f"open model at {c.get('rate')} rps")
    elif model:
        parts.append(f"{model} model, {c.get('users')} users")
    parts.append(f"{c.get('warmup_s', '?')} s warm-up + {c.get('duration_s', '?')} s measured per point")
    if c.get("suite"):
        parts.append(f"suite {c['suite']}")
    return ", ".join(str(p) for p in parts)


def cores(config: dict) -> str:
    recorded = config.get("cores") or (config.get("extra") or {}).get("cores")
    if recorded:
        return str(recorded)
    return f"{os.cpu_count()} (of the machine that made this report: the run did not record its own)"


def header_section(summary: RunSummary, missing: list[str]) -> Section:
    duration = f" ({summary.ended_at - summary.started_at:.0f} s)" if summary.ended_at else ""
    items = [
        ("run", summary.run_id),
        ("status", summary.status),
        ("configuration", _config(summary)),
        ("when", f"{when(summary.started_at)} to {when(summary.ended_at)}{duration}"),
        ("machine cores", cores(summary.config)),
        ("points", f"{len(summary.points)}: {', '.join(p.point for p in summary.points) or 'none'}"),
        (
            "SLO",
            "broken by " + ", ".join(p.point for p in summary.points if p.slo_broken)
            if summary.slo_broken
            else "every point meets it",
        ),
    ]
    body = header(items)
    if missing:
        body += paragraph("Figures not drawn:", "note") + bullets(missing, "note")
    return Section("Run", body)


TRUST_CSS = {trust.TRUSTWORTHY: "good", trust.UNKNOWN: "note", trust.UNTRUSTWORTHY: "bad"}


def points_table(summary: RunSummary, prom: PromData) -> str:
    rows = []
    for p in summary.points:
        side = prom.of(p)
        slo = "meets" if not p.slo_broken else "broken: " + "; ".join(p.slo_broken)
        rows.append(
            [
                cell(p.point + (" (partial)" if p.partial else "")),
                cell(f"{p.server} × {p.workers}, {p.threads} threads"),
                cell(_load(p)),
                cell(number(p.requests), num=True),
                cell(number(p.rps, 1), num=True),
                *(cell(number(getattr(p, key)), num=True) for key in latency.LABELS if key != "p95_ms"),
                cell(number(side.server_p99_ms if side else None), num=True),
                cell(f"{p.failures} ({p.error_ratio:.2%})", num=True, css="bad" if p.failures else ""),
                cell(slo, css="bad" if p.slo_broken else "good"),
                cell(trust.describe(p), css=TRUST_CSS[trust.state(p)]),
            ]
        )
    headers = (
        "point",
        "server",
        "load",
        "requests",
        "rps",
        *(f"{label} ms" for key, label in latency.LABELS.items() if key != "p95_ms"),
        "server p99 ms",
        "errors",
        "SLO",
        "trust",
    )
    rounded = [p.point for p in summary.points if p.percentiles_from != FROM_HDR]
    source = (
        f"every request's, exact to {latency.PRECISION}"
        if not rounded
        else f"{latency.ROUNDED} for "
        + (", ".join(rounded) + " (no HdrHistogram log), every request's (HdrHistogram) elsewhere")
    )
    note = paragraph(
        f"Client-side percentiles after warm-up: {source}; server p99 is the target's histogram "
        "in Prometheus over the same window.",
        "note",
    )
    return table(headers, rows) + note


def claims_section(points: list[PointResult]) -> Section | None:
    """The published claims with the run's verdicts, when the run has the points of at least one."""
    found = verdicts(points)
    if all(v.startswith(NOT_MEASURED) for _, v in found):
        return None
    rows = []
    for claim, verdict in found:
        css = "good" if verdict.startswith("holds") else "bad" if verdict.startswith("does not hold") else "note"
        rows.append([cell(f"{claim.id}: {claim.text}"), cell(claim.claimed), cell(verdict, css=css)])
    intro = paragraph("The figures in 'claimed' are the article's, not ours; the verdict is what this run measured.")
    return Section("Published claims", intro + table(("claim", "claimed", "measured verdict"), rows))


def findings_section(points: list[PointResult]) -> Section | None:
    """loadlab's own findings with the run's verdicts, when the run has the points of at least one."""
    found = findings.verdicts(points)
    if all(v.startswith(NOT_MEASURED) for _, v in found):
        return None
    rows = []
    for finding, verdict in found:
        css = "good" if verdict.startswith("holds") else "bad" if verdict.startswith("does not hold") else "note"
        rows.append([cell(f"{finding.id}: {finding.text}"), cell(finding.setup), cell(verdict, css=css)])
    intro = paragraph(
        "What loadlab measured beyond the article's claims; each verdict sets the measurement beside the "
        "queueing model's prediction (loadlab/model/)."
    )
    return Section("Measured findings", intro + table(("finding", "where it shows", "measured verdict"), rows))


def sections(folder: Path, summary: RunSummary, prom: PromData, figures: Figures) -> list[Section]:
    points = summary.points
    missing: list[str] = []
    table_html = points_table(summary, prom) if points else paragraph("No point measured.")
    body: list[Section] = [Section("Points", table_html)]

    def figure(title: str, drawn: str | None, why: str) -> None:
        if drawn is None:
            missing.append(f"{title}: {why}")
        else:
            body.append(Section(title, drawn))

    figure("Latency percentiles", run_plots.percentiles(figures, points), "no point completed a request")
    drawn_spectrum, unreadable = latency_section.spectrum(figures, folder, points)
    missing += unreadable
    figure("Percentile spectrum", drawn_spectrum, "no point has an HdrHistogram log (a run made before them)")
    why_prom = prom.missing or "Prometheus has no latency histogram for these points"
    scenarios = list(dict.fromkeys(p.scenario for p in points))
    drawn = [run_plots.distribution(figures, s, [p for p in points if p.scenario == s], prom) for s in scenarios]
    figure("Latency distribution", "".join(d for d in drawn if d) or None, why_prom)
    figure("Server-side vs client-side p99", run_plots.server_vs_client_p99(figures, points, prom), why_prom)
    figure("Sync vs async", run_plots.sync_vs_async(figures, points), "no scenario was measured on both targets")
    seconds = {p.point: history.read(RunFolder(folder).locust_prefix(p.point), p.started_at) for p in points}
    figure("Over time", run_plots.over_time(figures, points, seconds), "Locust wrote no per-second rows")
    lab = typical([p for p in points if p.target in TARGETS])  # the claims and findings: the lab's targets
    claims = claims_section(lab)  # a repeated point: the medians of its repetitions
    if claims:
        body.append(claims)
    measured = findings_section(lab)
    if measured:
        body.append(measured)
    if hidden := latency_section.omission_section(points):
        body.append(hidden)
    return [header_section(summary, missing), *body]


def title(summary: RunSummary) -> str:
    return f"loadlab run {summary.run_id}"


def subtitle(summary: RunSummary) -> str:
    return f"{summary.status}, started {when(summary.started_at)}"
