"""A point's latency histograms as a file in HdrHistogram's standard interval log format (version
1.3, as Java's HistogramLogWriter writes it and HistogramLogAnalyzer reads it):

    #[loadlab latency log 1: values in ns, 1 µs to 60 s, 3 significant digits]
    #[Histogram log format version 1.3]
    #[StartTime: 1764400000.000 (seconds since epoch), 2026-11-29 07:06:40 UTC]
    #[BaseTime: 1764400000.000 (seconds since epoch)]
    "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
    Tag=send,0.000,12.000,105.391,HISTFAAAA...
    Tag=schedule,0.000,12.000,2012.217,HISTFAAAA...
    #[End of loadlab latency log: 2 histograms]

One interval per kind (loadlab.contract.latency.KINDS): the point's measured window, after the
warm-up. Interval_Max is in milliseconds (values in ns over HistogramLogAnalyzer's default
max-value unit ratio, 1e6). The first and last comments are loadlab's: a file without the first
is from another version, one without the last was cut short. Written by Locust's master
(loadlab.load.latency), read by the lab (loadlab.results.latency).
"""

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from loadlab.contract.latency import DIGITS, HIGHEST_NS, KINDS, LOWEST_NS, NS_PER_MS, Histogram, from_encoded

VERSION = 1
HEADER = f"#[loadlab latency log {VERSION}: values in ns, 1 µs to 60 s, {DIGITS} significant digits]"
FORMAT = "#[Histogram log format version 1.3]"
LEGEND = '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"'
END = "#[End of loadlab latency log"
SUFFIX = ".hlog"
_HEADER = re.compile(r"^#\[loadlab latency log (\S+):")
_BASE = re.compile(r"^#\[BaseTime: ([0-9.]+) ")
_INTERVAL = re.compile(r"^Tag=([^,]+),([0-9.]+),([0-9.]+),([0-9.]+),(\S+)$")

assert (LOWEST_NS, HIGHEST_NS) == (1_000, 60_000_000_000), "HEADER states these"


class LatencyLogError(ValueError):
    """A latency log that cannot be read: the message is one line naming the file."""


@dataclass
class LatencyLog:
    start_s: float  # Unix time the measured window started
    end_s: float  # Unix time it ended
    histograms: dict[str, Histogram] = field(default_factory=dict)  # kind -> histogram; only kinds recorded

    def render(self) -> str:
        start = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.start_s))
        lines = [HEADER, FORMAT, f"#[StartTime: {self.start_s:.3f} (seconds since epoch), {start}]"]
        lines += [f"#[BaseTime: {self.start_s:.3f} (seconds since epoch)]", LEGEND]
        length = max(0.0, self.end_s - self.start_s)
        for kind, h in self.histograms.items():
            max_ms = h.hdr.max_value / NS_PER_MS
            lines.append(f"Tag={kind},0.000,{length:.3f},{max_ms:.3f},{h.encode()}")
        lines.append(f"{END}: {len(self.histograms)} histograms]")
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        """Whole or not at all: a reader never sees half a file."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.render())
        os.replace(tmp, path)


def parse(text: str, name: str) -> LatencyLog:
    """The log in `text`; LatencyLogError (one line, naming `name`) when it is not one this loadlab reads."""
    lines = text.splitlines()
    header = _HEADER.match(lines[0]) if lines else None
    if header is None:
        raise LatencyLogError(f"{name}: not a loadlab latency log (no '{HEADER[:24]}…' first line)")
    if header.group(1) != str(VERSION):
        raise LatencyLogError(f"{name}: latency log version {header.group(1)}, this loadlab reads version {VERSION}")
    if not lines[-1].startswith(END):
        raise LatencyLogError(f"{name}: latency log cut short (no end line)")
    base = next((float(m.group(1)) for line in lines if (m := _BASE.match(line))), None)
    if base is None:
        raise LatencyLogError(f"{name}: latency log without its BaseTime line")
    log = LatencyLog(base, base)
    for number, line in enumerate(lines[1:-1], start=2):
        if line.startswith("#") or line == LEGEND:
            continue
        m = _INTERVAL.match(line)
        if m is None or m.group(1) not in KINDS:
            raise LatencyLogError(f"{name}: line {number} is not an interval of a known kind ({', '.join(KINDS)})")
        try:
            log.histograms[m.group(1)] = from_encoded(m.group(5))
        except ValueError as exc:
            raise LatencyLogError(f"{name}: line {number}: {exc}") from None
        log.end_s = base + float(m.group(2)) + float(m.group(3))
    return log


def read(path: Path) -> LatencyLog:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LatencyLogError(f"{path}: no latency log") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LatencyLogError(f"{path}: cannot read the latency log ({exc})") from None
    return parse(text, str(path))
