"""A run's report from a hand-made run folder, without Prometheus: what it draws, what it says is
missing and why, the published-claims table, and text from the folder escaped on the way."""

import json
from pathlib import Path

import pytest

from loadlab import report
from loadlab.results.folder import RunFolder
from loadlab.results.locust_csv import history_path
from loadlab.results.point import RunSummary
from tests.unit.factories import point

HISTORY_HEADER = "Timestamp,User Count,Type,Name,Requests/s,95%,Total Request Count\n"


def write_run(folder: Path, run_id: str = "claims-run", prometheus_data: bool = False, one_point: bool = False) -> Path:
    points = [
        point("io-sleep", "sync", rps=913.0, p50_ms=104.0, p95_ms=130.0, p99_ms=180.0),
        point("io-sleep", "async", rps=978.0, p50_ms=101.0, p95_ms=110.0, p99_ms=120.0),
        point("fanout", "sync", rps=600.0, p50_ms=160.0, slo_broken=["p99_ms 3400 > 3000 <over>"]),
        point("fanout", "async", rps=1200.0, p50_ms=55.0, untrustworthy_reasons=["generator CPU 95 % <busy>"]),
        point("blocking-sleep", "async", rps=39.6, p50_ms=2400.0, p95_ms=2500.0, p99_ms=2600.0),
    ]
    if one_point:  # quicker to draw, for the tests about anything but the figures
        points = points[:1]
    summary = RunSummary(
        run_id,
        "complete",
        1_795_000_000.0,
        {"server": "uvicorn-workers", "workers": 4, "model": "closed", "users": 100, "suite": "claims"},
        points,
        ended_at=1_795_000_090.0,
    )
    run = RunFolder(folder)
    run.locust_dir.mkdir(parents=True)
    run.write_summary(summary)
    start = int(points[0].started_at)
    rows = [f"{start + i},100,,Aggregated,0,{120 + i},{900 * i}\n" for i in range(6)]
    history_path(RunFolder(folder).locust_prefix("sync-io-sleep")).write_text(HISTORY_HEADER + "".join(rows))
    if prometheus_data:
        (run.prometheus_dir / "data").mkdir(parents=True)
        (run.prometheus_dir / "data" / "wal").write_text("")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = report.build(write_run(tmp_path_factory.mktemp("run") / "claims-run"))
    return out, out.read_text()


def test_the_figures_that_need_only_the_summary_are_drawn(built):
    out, text = built
    pngs = sorted(p.name for p in (out.parent / "report").glob("*.png"))
    assert pngs == ["latency-percentiles.png", "over-time-p95.png", "over-time.png", "sync-vs-async.png"]
    assert text.count("<svg ") == 4


def test_without_prometheus_data_the_report_says_which_figures_are_missing_and_why(built):
    _, text = built
    assert "Figures not drawn:" in text
    why = "the run kept no Prometheus data ("
    assert f"<li>Latency distribution: {why}" in text
    assert f"<li>Server-side vs client-side p99: {why}" in text


def test_without_the_prometheus_binary_too(tmp_path, monkeypatch):
    folder = write_run(tmp_path / "r", prometheus_data=True, one_point=True)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    text = report.build(folder).read_text()
    assert (
        "<li>Latency distribution: Prometheus not found (prometheus); install it with: apt-get install prometheus"
        in text
    )


def test_the_points_table_carries_the_verdicts(built):
    _, text = built
    assert '<td class="bad">broken: p99_ms 3400 &gt; 3000 &lt;over&gt;</td>' in text
    assert '<td class="bad">untrustworthy: generator CPU 95 % &lt;busy&gt;</td>' in text
    assert text.count('<td class="good">meets</td>') == 4


def test_the_published_claims_table_has_claimed_and_measured(built):
    _, text = built
    section = text[text.index('<section id="s-published-claims">') :]
    section = section[: section.index("</section>")]
    assert "<th>claim</th><th>claimed</th><th>measured verdict</th>" in section
    assert "<td>C1: Sync endpoints serialise under concurrency; async ones overlap</td>" in section
    assert "4 Uvicorn workers, 100 concurrent 100 ms waits: sync 9.8 req/s, async 95.2 req/s" in section
    assert '<td class="bad">does not hold: sync 913.0 rps vs async 978.0 rps' in section
    assert '<td class="good">holds: 3 upstream calls of 50 ms' in section
    assert "not measured in this run (needs cpu and cpu-offload on async)" in section


def test_a_run_without_the_claims_points_has_no_claims_table(tmp_path):
    folder = write_run(tmp_path / "r")
    data = json.loads(RunFolder(folder).summary_file.read_text())
    data["points"] = [p for p in data["points"] if p["scenario"] == "hello"]
    RunFolder(folder).summary_file.write_text(json.dumps(data))
    text = report.build(folder).read_text()
    assert "Published claims" not in text
    assert "<li>Latency percentiles: no point completed a request</li>" in text


def test_text_from_the_results_folder_is_escaped(tmp_path):
    text = report.build(write_run(tmp_path / "r", run_id="<img src=x onerror=alert(1)>", one_point=True)).read_text()
    assert "<img" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_a_point_whose_trust_cannot_be_judged_is_unknown_in_the_points_table(tmp_path):
    folder = write_run(tmp_path / "r", one_point=True)
    data = json.loads(RunFolder(folder).summary_file.read_text())
    data["points"][0]["generator_cpu_max"] = None
    RunFolder(folder).summary_file.write_text(json.dumps(data))
    text = report.build(folder).read_text()
    assert '<td class="note">unknown: no generator CPU measured</td>' in text
    assert ">trustworthy</td>" not in text
