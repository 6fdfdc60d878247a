"""A run's latency histograms for analysis elsewhere (`loadlab export`): as one HdrHistogram log, each
point's histograms tagged `<point>.<kind>` at their own times (HistogramLogAnalyzer opens it), or as
CSV, one row per histogram bucket that holds a request: the percentile distribution, lossless to
the histogram's precision."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from loadlab.contract.latency import NS_PER_MS, Histogram
from loadlab.contract.latency_log import END, FORMAT, HEADER, LEGEND, LatencyLog, LatencyLogError, read
from loadlab.errors import USAGE, LoadlabError
from loadlab.results.folder import RunFolder

FORMATS = ("hdr", "csv")
CSV_COLUMNS = ("point", "kind", "quantile", "latency_ms", "requests_at_or_below")


@dataclass
class Logs:
    found: list[tuple[str, LatencyLog]]  # (point, its log), in the summary's order
    problems: list[str]  # one line per log that could not be read


def logs(folder: RunFolder) -> Logs:
    """Every point's latency log; a run made before HdrHistogram recording is one line (status 2)."""
    points = [p.point for p in folder.summary().points]
    found, problems = [], []
    for point in points:
        try:
            found.append((point, read(folder.latency_log(point))))
        except LatencyLogError as exc:
            problems.append(str(exc))
    if not found and not folder.latency_dir.is_dir():
        raise LoadlabError(
            f"{folder.path} has no latency logs: a run made before loadlab recorded HdrHistograms "
            "(its percentiles are Locust's, in locust/*_stats.csv)",
            USAGE,
        )
    return Logs(found, problems)


def hdr(found: list[tuple[str, LatencyLog]]) -> str:
    base = min((log.start_s for _, log in found), default=0.0)
    lines = [
        HEADER,
        FORMAT,
        f"#[StartTime: {base:.3f} (seconds since epoch)]",
        f"#[BaseTime: {base:.3f} (seconds since epoch)]",
    ]
    lines.append(LEGEND)
    for point, log in found:
        for kind, h in log.histograms.items():
            start, length = log.start_s - base, max(0.0, log.end_s - log.start_s)
            max_ms = h.hdr.max_value / NS_PER_MS
            lines.append(f"Tag={point}.{kind},{start:.3f},{length:.3f},{max_ms:.3f},{h.encode()}")
    return "\n".join([*lines, f"{END}: {sum(len(log.histograms) for _, log in found)} histograms]"]) + "\n"


def _buckets(h: Histogram) -> Iterator[tuple[float, float, int]]:
    """(quantile, latency ms, requests at or below) for each bucket that holds a request."""
    hdr_ = h.hdr
    seen = 0
    last = hdr_.get_counts_array_index(hdr_.max_value) if hdr_.total_count else -1
    for index in range(last + 1):
        if count := hdr_.counts[index]:
            seen += count
            value = hdr_.get_highest_equivalent_value(hdr_.get_value_from_index(index))
            yield seen / hdr_.total_count, value / NS_PER_MS, seen


def csv_text(found: list[tuple[str, LatencyLog]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for point, log in found:
        for kind, h in log.histograms.items():
            for q, ms, seen in _buckets(h):
                writer.writerow([point, kind, f"{q:.6f}", f"{ms:.6f}", seen])
    return out.getvalue()
