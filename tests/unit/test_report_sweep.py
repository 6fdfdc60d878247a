"""The sweep's report from a hand-made sweep.json: the figures it draws, the tables it writes.

`sweep_summary()` makes a realistic sweep with the tuning modules' own arithmetic (capacity search,
queueing model, USL fit, recommendation) on invented capacities; tests/test_report.py opens its
report in Chromium too.
"""

import argparse
import re
from pathlib import Path

import pytest

from loadlab import cli, report
from loadlab.errors import USAGE, LoadlabError
from loadlab.report import sweep_plots
from loadlab.results.sweep import (
    ConfigResult,
    Configuration,
    SweepStep,
    SweepSummary,
    UslCurve,
)
from loadlab.tuning import analysis, search

CORES = 2
WORKERS = (1, 2, 4, 6)
SERVERS = ("uvicorn-workers", "gunicorn-uvicorn")
# invented capacities (rps under the SLO): sync io-sleep grows with workers × threads until the cores
# run out; async io-sleep is bound by CPU per request and the 2 cores
CAPACITY = {
    ("sync", "uvicorn-workers"): (370.0, 700.0, 930.0, 900.0),
    ("sync", "gunicorn-uvicorn"): (360.0, 690.0, 950.0, 880.0),
    ("async", "uvicorn-workers"): (1450.0, 2650.0, 2680.0, 2450.0),  # 2 and 4 workers: [2600, 2700] each
    ("async", "gunicorn-uvicorn"): (1400.0, 2450.0, 2550.0, None),  # 6 workers: the generator saturated
}
CPU_MS = {"sync": 1.9, "async": 0.62}
SETTINGS = search.SearchSettings(start=100.0, factor=2.0, precision=0.05, confirm=2)


def _steps(config: Configuration, capacity: float | None) -> tuple[list[SweepStep], search.SearchResult]:
    true = capacity if capacity is not None else 1500.0
    saturated = capacity is None
    steps: list[SweepStep] = []

    def measure(rate: float) -> bool:
        passed = rate <= true
        why = [] if passed else [f"p99_ms {2600 if not saturated else 180:.0f} > 2000"]
        if saturated and not passed:
            why = ["generator: 312 requests sent late (17 %)"]
        steps.append(
            SweepStep(
                rate=rate,
                passed=passed and not (saturated and rate > 1000),
                run_id=f"{config.id}-r{rate:g}",
                rps=min(rate, true) * 0.995,
                p99_ms=(100.0 + 6 * config.workers + 40 * (rate / true) ** 4) if passed else 2600.0,
                error_ratio=0.0 if passed else 0.004,
                why=why,
                generator_saturated=saturated and not passed,
            )
        )
        return steps[-1].passed

    found = search.search(measure, SETTINGS)
    return steps, found


def sweep_summary(sweep_id: str = "sweep-demo") -> SweepSummary:
    configs = []
    for (target, server), capacities in CAPACITY.items():
        for workers, capacity in zip(WORKERS, capacities, strict=True):
            config = Configuration(target, "io-sleep", server, workers, 40, 10)
            steps, found = _steps(config, capacity)
            result = ConfigResult(
                config=config,
                steps=steps,
                capacity_rps=None if capacity is None else found.capacity,
                cpu_ms_per_request=CPU_MS[target],
                stopped=found.stopped,
                generator_saturated=capacity is None,
                broke_rps=None if capacity is None else found.broke,
            )
            best = result.capacity_step()
            result.capacity_measured_rps = best.rps if best else None
            result.capacity_p99_ms = best.p99_ms if best else None
            configs.append(result)
    summary = SweepSummary(
        sweep_id=sweep_id,
        status="complete",
        started_at=1_795_680_000.0,
        ended_at=1_795_680_840.0,
        settings={
            "servers": list(SERVERS),
            "workers": list(WORKERS),
            "threads": [40],
            "db_pool": [10],
            "targets": ["sync", "async"],
            "scenarios": ["io-sleep"],
            "start_rate": 100.0,
            "factor": 2.0,
            "precision": 0.05,
        },
        cores=CORES,
        configs=configs,
    )
    analysis.analyse(summary, max_connections=100)  # the model, USL and recommendation, as the sweep stores them
    return summary


def write_sweep(folder: Path, summary: SweepSummary | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sweep.json").write_text((summary or sweep_summary(folder.name)).to_json())
    return folder


def small_sweep() -> SweepSummary:
    """One server × target of the sweep: quicker to draw, for the tests about everything but the figures."""
    summary = sweep_summary("small")
    summary.configs = [c for c in summary.configs if (c.config.target, c.config.server) == ("sync", SERVERS[0])]
    summary.usl = summary.usl[:1]
    return summary


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = report.build(write_sweep(tmp_path_factory.mktemp("sweep") / "sweep-demo"))
    return out, out.read_text()


def test_the_fixture_reads_back_as_a_sweep(tmp_path):
    summary = SweepSummary.read(write_sweep(tmp_path / "s"))
    assert len(summary.configs) == 16 and len(summary.usl) == 4 and len(summary.recommendations) == 2
    assert any(c.generator_saturated for c in summary.configs)


def test_the_figures_are_inlined_and_saved_as_png(built):
    out, text = built
    assert out == out.parent / "report.html"
    # per scenario: capacity and p99 against workers, model vs measured; one USL curve per server × target
    pngs = sorted(p.name for p in (out.parent / "report").glob("*.png"))
    assert pngs == [
        "capacity-io-sleep.png",
        "model-io-sleep.png",
        "usl-io-sleep-async-gunicorn-uvicorn.png",
        "usl-io-sleep-async-uvicorn-workers.png",
        "usl-io-sleep-sync-gunicorn-uvicorn.png",
        "usl-io-sleep-sync-uvicorn-workers.png",
    ]
    assert text.count("<svg ") == len(pngs)
    for name in pngs:
        stem = name.removesuffix(".png")
        assert f'href="report/{name}"' in text
        assert re.search(rf'<g id="{re.escape(stem)}-data-1"', text), f"{stem}: no data drawn"


def test_the_capacity_figure_has_one_line_per_server_and_target(built):
    _, text = built
    figure = text[text.index('id="fig-capacity-io-sleep"') :]
    figure = figure[: figure.index("</figure>")]
    for target in ("sync", "async"):
        for server in SERVERS:
            assert f"{server} · {target}" in figure
    assert "generator saturated (not used)" in figure


def test_the_recommendation_table_has_the_best_those_within_noise_the_smallest_and_the_folklore(built):
    _, text = built
    section = text[text.index('<section id="s-recommendation">') :]
    section = section[: section.index("</section>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", section)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r) for r in rows]
    assert cells[0] == ["target · scenario", "row", "configuration", "capacity rps", "why / note"]
    async_rows = [c for c in cells[1:] if c[0] == "async · io-sleep"]
    assert [c[1] for c in async_rows] == [
        "best",
        "within noise of the best",
        "the smallest of those",
        "folklore: Gunicorn: (2 × cores) + 1 = (2 × 2) + 1",
        "folklore: Uvicorn: one worker per core = 2",
    ]
    best, within, smallest, gunicorn, uvicorn = async_rows
    # 2 and 4 workers both held 2600 rps every time and broke at 2700: the tie goes to the smaller
    assert best[2] == "async-io-sleep-uvicorn-workers-w2-t40-p10" and best[3] == "2,587"  # served
    said = "most throughput: uvicorn-workers 2 workers × 40 threads, pool 10, capacity [2600, 2700] rps"
    assert said + " [held every time, broke] (2587 served)" in best[4]
    assert "(1 configuration left out: the generator saturated)" in best[4]
    assert within[2] == "async-io-sleep-uvicorn-workers-w2-t40-p10, async-io-sleep-uvicorn-workers-w4-t40-p10"
    assert smallest[2] == "async-io-sleep-uvicorn-workers-w2-t40-p10"
    assert gunicorn[2] == "5 workers" and "nearest measured" in gunicorn[4]
    assert uvicorn[2] == "2 workers" and uvicorn[3] == "2,587"
    assert text.count('<tr class="sub">') == 4  # the folklore rows, set apart


def test_the_search_log_lists_every_step(built):
    _, text = built
    summary = sweep_summary()
    assert text.count("<details>") == len(summary.configs)
    first = summary.configs[0]
    assert f"{first.config.label}: {len(first.steps)} steps" in text
    assert "generator: 312 requests sent late (17 %); generator saturated" in text


def test_the_usl_curve_runs_past_the_peak_and_the_measurements():
    curve = sweep_summary().usl[0]
    assert sweep_plots.usl_range(curve) >= max(curve.workers) * sweep_plots.CURVE_MARGIN
    far = UslCurve("s", "sync", "io-sleep", [1, 2, 4], [1.0, 2.0, 4.0], 1.0, 0.0, 1e-9, 31622.0, "yes")
    assert sweep_plots.usl_range(far) == pytest.approx(4 * sweep_plots.PEAK_CAP * sweep_plots.CURVE_MARGIN)


def test_a_sweep_where_no_configuration_met_the_slo_shows_the_best_attempt(tmp_path):
    summary = small_sweep()
    for c in summary.configs:
        c.capacity_rps = None
        c.steps = [s for s in c.steps if not s.passed]
    summary.usl, summary.recommendations = [], []
    text = report.build(write_sweep(tmp_path / "none", summary)).read_text()
    assert "No configuration met the SLO. The best attempt:" in text
    assert "capacity against workers, io-sleep: no configuration met the SLO" in text
    assert "USL curves: no fit" in text


def test_the_output_can_go_elsewhere_and_extra_sections_are_appended(tmp_path):
    folder = write_sweep(tmp_path / "s", small_sweep())
    out = report.build(folder, tmp_path / "out" / "tuning.html", extra_sections=[("Comparison", "<table></table>")])
    assert out == tmp_path / "out" / "tuning.html"
    assert (tmp_path / "out" / "tuning" / "model-io-sleep.png").is_file()
    text = out.read_text()
    assert 'href="tuning/model-io-sleep.png"' in text
    assert text.index("<h2>Comparison</h2><table></table>") > text.index("<h2>Capacity search log</h2>")
    assert not (folder / "report.html").exists()


def _args(*argv: str) -> argparse.Namespace:
    return cli.parse_args(["report", *argv])


def _report(args: argparse.Namespace) -> int:
    return args.handler(args)


def test_the_subcommand_writes_the_report_and_prints_its_path(tmp_path, capsys):
    write_sweep(tmp_path / "s", small_sweep())
    assert _report(_args("s", "--results", str(tmp_path))) == 0
    assert capsys.readouterr().out.startswith(f"report: {tmp_path / 's' / 'report.html'}")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p / "missing", "no such results folder"),
        (lambda p: p, "is not a loadlab results folder: neither a run (summary.json) nor a sweep (sweep.json)"),
        (lambda p: (p / "sweep.json").write_text("{") and p, "is not valid JSON"),
    ],
)
def test_a_folder_that_is_neither_a_run_nor_a_sweep_is_one_line_and_status_2(tmp_path, make, words):
    folder = make(tmp_path)
    with pytest.raises(LoadlabError) as raised:
        _report(_args(str(folder)))
    assert words in str(raised.value) and "\n" not in str(raised.value)
    assert raised.value.status == USAGE
    assert not (tmp_path / "report.html").exists()
