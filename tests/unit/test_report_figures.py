"""Figures a person can read: a run as large as the claims suite (11 points, latencies from 50 ms to
17 s), drawn at the report's width, with no two drawn texts overlapping in any figure; the
percentile spectrum from the points' HdrHistogram logs; a bad log named in one line, the rest drawn."""

import random
from pathlib import Path

import pytest

from loadlab.contract.latency import SCHEDULE, SEND, Histogram
from loadlab.contract.latency_log import LatencyLog
from loadlab.report import prometheus_data, run_section
from loadlab.report.figures import Figures
from loadlab.results import latency
from loadlab.results.folder import RunFolder
from loadlab.results.locust_csv import history_path
from loadlab.results.point import FROM_HDR, RunSummary
from tests.unit.factories import point

HISTORY_HEADER = "Timestamp,User Count,Type,Name,Requests/s,95%,Total Request Count\n"
# (scenario, target, p50 ms, spread): the claims suite's points as a real run measured them
CLAIMS = [
    ("io-sleep", "sync", 100, 0.05),
    ("io-sleep", "async", 100, 0.05),
    ("blocking-sleep", "async", 1600, 1.2),
    ("io-db", "sync", 260, 0.1),
    ("io-db", "async", 290, 0.15),
    ("io-http", "sync", 100, 0.1),
    ("io-http", "async", 110, 0.3),
    ("fanout", "sync", 160, 0.02),
    ("fanout", "async", 54, 0.1),
    ("cpu", "async", 230, 0.4),
    ("cpu-offload", "async", 270, 0.6),
]


def histogram(p50: float, spread: float, n: int, rng: random.Random) -> Histogram:
    h = Histogram()
    for _ in range(n):
        h.record_ms(p50 * rng.lognormvariate(0, spread))
    return h


def write_claims_run(folder: Path, open_model: bool = False, claims: list = CLAIMS) -> RunFolder:
    rng = random.Random(18)
    run = RunFolder(folder)
    for sub in (run.locust_dir, run.latency_dir):
        sub.mkdir(parents=True)
    points = []
    for scenario, target, p50, spread in claims:
        p = point(scenario, target, started_at=1_795_000_000.0)
        if open_model:
            p.load_model, p.users, p.rate = "open", None, 200.0
        hists = {SEND: histogram(p50, spread, 3000, rng)}
        if open_model:
            hists[SCHEDULE] = histogram(p50 * 1.5, spread * 2, 3000, rng)
        LatencyLog(p.started_at + 3, p.started_at + 15, hists).write(run.latency_log(p.point))
        latency.apply(p, run.latency_log(p.point))
        rows = [f"{int(p.started_at) + i},100,,Aggregated,0,{p50 * (1 + i / 10):.0f},{900 * i}\n" for i in range(15)]
        history_path(run.locust_prefix(p.point)).write_text(HISTORY_HEADER + "".join(rows))
        points.append(p)
    config = {"server": "uvicorn-workers", "workers": 4, "model": "closed", "users": 100, "suite": "claims"}
    run.write_summary(RunSummary(folder.name, "complete", 1_795_000_000.0, config, points, ended_at=1_795_000_200.0))
    return run


def draw(folder: Path) -> tuple[Figures, str]:
    summary = RunFolder(folder).summary()
    with Figures(folder / "report", "report") as figures:
        sections = run_section.sections(folder, summary, prometheus_data.read(folder, summary), figures)
    return figures, "".join(s.title + s.html for s in sections)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> tuple[Figures, str]:
    """The claims run in the open model: every figure the closed model draws, with the same texts, and
    the schedule's lines beside (drawing it closed as well adds nothing but 8 s)."""
    folder = tmp_path_factory.mktemp("run") / "claims"
    run = write_claims_run(folder, open_model=True)
    assert all(p.percentiles_from == FROM_HDR for p in run.summary().points)
    return draw(folder)


def test_no_two_texts_overlap_in_any_figure(drawn):
    figures, _ = drawn
    assert len(figures.rendered) >= 5
    for r in figures.rendered:
        assert r.overlapping == [], f"{r.name}: {r.overlapping}"


def test_the_percentile_spectrum_is_drawn_from_the_latency_logs(drawn):
    figures, _ = drawn
    names = [r.name for r in figures.rendered]
    assert "percentile-spectrum" in names
    spectrum = next(r for r in figures.rendered if r.name == "percentile-spectrum")
    assert spectrum.svg.count('id="percentile-spectrum-data-') >= 2 * len(CLAIMS)  # from sending and the schedule
    assert "99.9%" in spectrum.svg


def test_only_the_open_model_shows_what_coordinated_omission_hides(drawn, tmp_path):
    figures, html = drawn
    assert "from the schedule" in next(r for r in figures.rendered if r.name == "percentile-spectrum").svg
    assert "What coordinated omission hides" in html
    write_claims_run(tmp_path / "closed", claims=CLAIMS[:2])
    figures, html = draw(tmp_path / "closed")
    assert "from the schedule" not in next(r for r in figures.rendered if r.name == "percentile-spectrum").svg
    assert "What coordinated omission hides" not in html


def test_a_bad_latency_log_is_one_line_and_the_rest_is_drawn(tmp_path):
    folder = tmp_path / "claims"
    run = write_claims_run(folder, claims=CLAIMS[:3])  # three points: drawing eleven adds nothing here
    cut = run.latency_log("async-io-sleep")
    cut.write_text(cut.read_text()[:300])
    figures, html = draw(folder)
    assert f"Percentile spectrum of async-io-sleep: {cut}: latency log cut short (no end line)" in html
    spectrum = next(r for r in figures.rendered if r.name == "percentile-spectrum")
    assert spectrum.svg.count('id="percentile-spectrum-data-') == 3 - 1
