"""Every request's latency in an HdrHistogram: what Locust records (loadlab.load.latency) and the lab
reads (loadlab.results.latency) agree on here.

One histogram per kind of latency: `send` (from sending the request, as Locust times it) and, for the
open model, `schedule` (from the time the request was due). Values are nanoseconds, tracked from
1 µs to 60 s to 3 significant digits: a recorded value is known within 1/1024 of itself (within
512 ns below 0.5 ms), whatever the request count; histograms of several processes merge by adding
their counts. The counts are 32-bit words, so a histogram holds 72 KiB of counts however long the
test runs (a bucket would overflow after 2^31 requests of the same latency).

Nothing here imports Locust or gevent; numpy only where percentiles are computed.
"""

from collections.abc import Sequence

from hdrh.histogram import HdrHistogram

SEND = "send"
SCHEDULE = "schedule"
KINDS = (SEND, SCHEDULE)
LOWEST_NS = 1_000  # 1 µs: the smallest value told apart from 0
HIGHEST_NS = 60_000_000_000  # 60 s: longer requests count as 60 s
DIGITS = 3
WORD_BYTES = 4
NS_PER_MS = 1_000_000
# The context key through which the open model tells a request's listeners how late it was sent
SCHEDULE_DELAY = "loadlab_schedule_delay_s"


class Histogram:
    """An HdrHistogram of latencies with loadlab's settings and a fast `record_ms`."""

    def __init__(self, hdr: HdrHistogram | None = None) -> None:
        self.hdr = hdr or HdrHistogram(LOWEST_NS, HIGHEST_NS, DIGITS, word_size=WORD_BYTES)
        h = self.hdr
        self._counts = h.counts
        self._mask = h.sub_bucket_mask
        self._shift = h.unit_magnitude
        self._base = h.unit_magnitude + h.sub_bucket_half_count_magnitude + 1
        self._half_mag = h.sub_bucket_half_count_magnitude
        self._half = h.sub_bucket_half_count

    @property
    def total(self) -> int:
        return self.hdr.total_count

    def record_ms(self, ms: float) -> None:
        """One latency in milliseconds (Locust's unit); the index arithmetic of HdrHistogram, inlined."""
        ns = int(ms * NS_PER_MS)
        if ns > HIGHEST_NS:
            ns = HIGHEST_NS
        elif ns < 0:
            ns = 0
        bucket = (ns | self._mask).bit_length() - self._base
        index = ((bucket + 1) << self._half_mag) + (ns >> (bucket + self._shift)) - self._half
        self._counts[index] += 1
        h = self.hdr
        h.total_count += 1
        if ns > h.max_value:
            h.max_value = ns
        if ns < h.min_value:
            h.min_value = ns

    def encode(self) -> str:
        """The histogram in HdrHistogram's compressed, base64 form (V2, as every implementation reads)."""
        return self.hdr.encode().decode("ascii")

    def add(self, other: "Histogram") -> None:
        self.add_counts(other.hdr)

    def add_encoded(self, blob: str | bytes) -> None:
        """Add a histogram in HdrHistogram's base64 form; ValueError when it is not one of ours."""
        self.add_counts(decode(blob))

    def add_counts(self, other: HdrHistogram) -> None:
        if other.total_count == 0:
            return
        mine = self.hdr
        counts = other.counts
        last = other.get_counts_array_index(other.max_value)
        for index in range(min(last + 1, mine.counts_len)):
            if count := counts[index]:
                self._counts[index] += count
        mine.total_count += other.total_count
        mine.max_value = max(mine.max_value, other.max_value)
        mine.min_value = min(mine.min_value, other.min_value)

    def reset(self) -> None:
        self.hdr.reset()

    def memory_bytes(self) -> int:
        """What the counts take in memory: the histogram's bulk, fixed by its settings."""
        return self.hdr.counts_len * WORD_BYTES

    # ------------------------------------------------------------ reading

    def value_ms(self, q: float) -> float | None:
        """The latency at quantile `q` (0..1] in ms: the highest value equivalent, within the
        histogram's precision, to the recorded value of rank max(1, round(q·N)); None when empty."""
        return self.values_ms([q])[0]

    def values_ms(self, qs: Sequence[float]) -> list[float | None]:
        import numpy as np

        h = self.hdr
        if not h.total_count:
            return [None] * len(qs)
        cumulative = np.cumsum(np.ctypeslib.as_array(self._counts), dtype=np.int64)
        out: list[float | None] = []
        for q in qs:
            if q >= 1:
                out.append(h.get_highest_equivalent_value(h.max_value) / NS_PER_MS)
                continue
            rank = max(1, int(q * h.total_count + 0.5))
            index = int(np.searchsorted(cumulative, rank))
            value = h.get_highest_equivalent_value(h.get_value_from_index(index))
            out.append(value / NS_PER_MS)
        return out


def decode(blob: str | bytes) -> HdrHistogram:
    """An encoded histogram with loadlab's settings; ValueError naming what differs otherwise."""
    try:
        hdr = HdrHistogram.decode(blob)
    except Exception as exc:  # binascii.Error, zlib.error, the library's own exceptions: all mean "not one"
        raise ValueError(f"not an encoded HdrHistogram ({type(exc).__name__})") from None
    settings = (hdr.lowest_trackable_value, hdr.highest_trackable_value, hdr.significant_figures)
    if settings != (LOWEST_NS, HIGHEST_NS, DIGITS):
        raise ValueError(
            f"a histogram of other settings (lowest {settings[0]}, highest {settings[1]}, {settings[2]} digits; "
            f"this loadlab records {LOWEST_NS}, {HIGHEST_NS}, {DIGITS})"
        )
    return hdr


def from_encoded(blob: str | bytes) -> Histogram:
    histogram = Histogram()
    histogram.add_encoded(blob)
    return histogram
