"""The latency histograms and their log: bounded memory whatever the request count, merging by adding,
the log read back as written, and a log from another version or cut short named in one line."""

import random

import pytest

from loadlab.contract.latency import SCHEDULE, SEND, Histogram, from_encoded
from loadlab.contract.latency_log import LatencyLog, LatencyLogError, parse, read
from loadlab.results import latency

MEMORY_GOAL = 100 * 1024  # bytes per point's histogram


def recorded(n: int, seed: int = 1) -> tuple[Histogram, list[float]]:
    rng = random.Random(seed)
    values = [rng.lognormvariate(3, 2) for _ in range(n)]  # ms: from well under 1 ms to over 60 s
    h = Histogram()
    for v in values:
        h.record_ms(v)
    return h, values


@pytest.mark.parametrize("n", [10, 100_000])
def test_a_histogram_stays_under_100_kib_whatever_the_request_count(n):
    h, _ = recorded(n)
    assert h.memory_bytes() < MEMORY_GOAL
    assert len(h.encode()) < MEMORY_GOAL  # and so does its line in the log
    assert h.total == n


def test_percentiles_are_within_the_stated_precision_of_the_exact_ones():
    h, values = recorded(50_000)
    s = sorted(min(v, 60_000.0) for v in values)
    for q in (0.5, 0.9, 0.99, 0.999, 0.9999):
        exact = s[max(1, int(q * len(s) + 0.5)) - 1]
        assert exact <= h.value_ms(q) <= exact * (1 + 1 / 1024) + 0.0006, q


def test_histograms_of_several_processes_merge_by_adding():
    a, va = recorded(5_000, seed=2)
    b, vb = recorded(7_000, seed=3)
    merged = Histogram()
    for part in (a, b):
        merged.add_encoded(part.encode())  # as a worker's report reaches its master
    whole, _ = recorded(0)
    for v in va + vb:
        whole.record_ms(v)
    assert merged.total == 12_000
    assert merged.values_ms([0.5, 0.99, 1.0]) == whole.values_ms([0.5, 0.99, 1.0])


def test_the_log_reads_back_as_written(tmp_path):
    send, _ = recorded(1_000)
    schedule, _ = recorded(1_000, seed=9)
    path = tmp_path / "p.hlog"
    LatencyLog(1_795_000_000.0, 1_795_000_012.5, {SEND: send, SCHEDULE: schedule}).write(path)
    log = read(path)
    assert (log.start_s, log.end_s) == (1_795_000_000.0, 1_795_000_012.5)
    assert latency.percentiles(log.histograms[SEND]) == latency.percentiles(send)
    assert latency.percentiles(log.histograms[SCHEDULE]) == latency.percentiles(schedule)
    assert "Tag=send,0.000,12.500," in path.read_text()


def test_a_log_cut_short_or_from_another_version_is_one_line_naming_it(tmp_path):
    send, _ = recorded(1_000)
    text = LatencyLog(1.0, 2.0, {SEND: send}).render()
    with pytest.raises(LatencyLogError, match=r"^p\.hlog: latency log cut short \(no end line\)$"):
        parse(text[: len(text) // 2], "p.hlog")
    with pytest.raises(LatencyLogError, match=r"^p\.hlog: latency log version 2, this loadlab reads version 1$"):
        parse(text.replace("latency log 1:", "latency log 2:"), "p.hlog")
    with pytest.raises(LatencyLogError, match=r"^p\.hlog: not a loadlab latency log"):
        parse("", "p.hlog")
    with pytest.raises(LatencyLogError, match=r"^p\.hlog: line 6: not an encoded HdrHistogram"):
        parse(text.replace("HISTF", "HISTX"), "p.hlog")
    with pytest.raises(LatencyLogError, match=r"no latency log$"):
        read(tmp_path / "missing.hlog")


def test_a_histogram_of_other_settings_is_refused():
    from hdrh.histogram import HdrHistogram

    other = HdrHistogram(1, 3_600_000_000, 2)
    other.record_value(1000)
    with pytest.raises(ValueError, match="other settings"):
        from_encoded(other.encode())
