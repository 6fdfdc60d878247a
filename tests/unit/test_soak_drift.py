"""The soak's verdict by trend (loadlab.soak.drift) on series whose trend is known, its record read
back (a line cut short by a kill included), and its table and report section drawn."""

import json
import random

from loadlab.console.soak_table import show, verdict_line
from loadlab.console.table import console
from loadlab.report.figures import Figures
from loadlab.report.soak_section import section
from loadlab.soak import drift
from loadlab.soak.record import Checkpoint, SoakRecord, SoakSettings, late_notes

MINUTE = 60.0


def line(per_hour: float, start: float, n: int = 30, noise: float = 0.0, seed: int = 1) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(i * MINUTE, start + per_hour * i / 60 + rng.gauss(0, noise)) for i in range(1, n + 1)]


def test_a_leak_beyond_the_tolerance_drifts_and_noise_without_one_does_not():
    leak = drift.trend("rss_mb a target 1", line(per_hour=10.0, start=100.0, noise=0.2))  # 10 %/h of ~102 MB
    assert leak.verdict == drift.DRIFTS and 7 < leak.low < leak.slope < leak.high < 13
    flat = drift.trend("rss_mb a target 1", line(per_hour=0.0, start=100.0, noise=0.5))
    assert flat.verdict == drift.OK and flat.low < 0 < flat.high
    slow = drift.trend("scrape_ms a", line(per_hour=0.5, start=5.0, noise=0.01))  # 0.5 ms/h, tolerance 1
    assert slow.verdict == drift.OK
    near = drift.trend("scrape_ms a", line(per_hour=1.0, start=5.0, noise=0.3))  # straddles 1 ms/h
    assert near.verdict == drift.UNDETERMINED and near.low < 1 < near.high
    assert drift.trend("fds a target 1", line(0.0, 20.0, n=3)).verdict == drift.TOO_FEW
    assert drift.trend("threads a target 1", line(0.0, 7.0)).slope == 0  # constant: no warning, no slope


def test_settling_start_and_late_windows_are_left_out():
    # 20 MB of warm-up in the first 4 minutes, flat after it: settled, no drift
    warm = [(t, 100 + min(t, 240) / 12) for t, _ in line(0.0, 0.0)]
    assert drift.trends({"rss_mb a target 1": warm}, {})[0].verdict == drift.OK
    # p99 high only where the generator was behind: those windows are left out, and counted
    p99 = [(t, 500.0 if i % 3 == 0 else 100.0) for i, (t, _) in enumerate(line(0.0, 0.0))]
    flags = [i % 3 == 0 for i in range(len(p99))]
    [t] = drift.trends({"p99_ms a": p99}, {"a": flags})
    assert t.verdict == drift.OK and t.median == 100.0 and t.left_out == sum(flags[6:])
    [kept] = drift.trends({"p99_ms a": p99}, {})  # the same without the flags
    assert kept.median == 100.0 and kept.left_out == 0


def record_with(tmp_path, rss_per_hour: float, late_at: int = -1) -> SoakRecord:
    record = SoakRecord(tmp_path)
    record.start(SoakSettings(1800, 60, 10, 10, ("async",), ("io-sleep",), "uvicorn-workers", 2))
    for i, (t, rss) in enumerate(line(rss_per_hour, 100.0, noise=0.1)):
        values = {"rss_mb async-io-sleep target 11": rss, "fds async-io-sleep target 11": 20.0}
        values |= {"p99_ms async-io-sleep": 101.0 + i % 2, "head_series prometheus": 1800.0}
        record.append(Checkpoint(1e9 + t, t, values, {"async-io-sleep": 0.2 if i == late_at else 0.0}))
    return record


def test_record_reads_back_and_a_line_cut_short_loses_only_itself(tmp_path):
    record = record_with(tmp_path, 0.0)
    with open(record.dir / "checkpoints.jsonl", "a") as f:
        f.write(json.dumps({"at": 1.0})[:5])  # killed mid-write
    assert len(record.checkpoints()) == 30
    assert record.settings().targets == ("async",)
    assert record.ending()["status"] == "running or killed"


def test_table_and_report_section_say_which_series_drifts(tmp_path):
    out = console()
    record = record_with(tmp_path / "leak", 20.0, late_at=12)
    trends = record.trends()
    assert [t.key for t in drift.failed(trends)] == ["rss_mb async-io-sleep target 11"]
    assert verdict_line(trends, "complete").startswith("soak verdict: FAIL, 1 of 4")
    assert verdict_line(trends, "interrupted").startswith("soak verdict so far: FAIL")
    [note] = late_notes(record.checkpoints())
    assert note.startswith("async-io-sleep: the generator fell behind its schedule at 1 of 30 checkpoints")
    with out.capture() as captured:
        show(record, trends, "complete", [], out)
    assert "drifts: rss_mb async-io-sleep target 11" in captured.get()
    record.end("complete", [])
    with Figures(tmp_path / "png", "png") as figures:
        drawn = section(record, figures)
    assert "1 of 4 series drift beyond their tolerance" in drawn.html
    assert {r.name for r in figures.rendered} == {"soak-rss_mb", "soak-fds", "soak-p99_ms", "soak-head_series"}
    assert all('data-1"' in r.svg and not r.overlapping for r in figures.rendered)
    assert verdict_line(record_with(tmp_path / "flat", 0.0).trends(), "complete").startswith("soak verdict: pass")
