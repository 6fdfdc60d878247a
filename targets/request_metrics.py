"""The two metrics recorded on every request, kept in per-worker slot files: as correct as multiprocess mode, cheaper.

`loadlab_http_requests_total` (a counter) and `loadlab_http_request_duration_seconds` (a histogram)
are updated on every request. prometheus_client's multiprocess mode costs three locked, pid-checked
file writes per request for them; this module stores them the same way in essence (memory-mapped
files in `PROMETHEUS_MULTIPROC_DIR`, summed at scrape time) with only plain float stores per request.

Files, one pair per worker process (pid):

- `requests_<pid>.slots`: a fixed-size array of `SLOTS` float64 values, memory-mapped. A series
  owns a run of consecutive slots: a counter one; a histogram one per bucket (`le` bounds of
  `LATENCY_BUCKETS`, then +Inf; not cumulative: each observation adds 1 to exactly one bucket) and
  one more for the sum. A histogram's count is the sum of its buckets.
- `requests_<pid>.keys`: append-only text, one line per series: `<first slot> <JSON [name, label values]>`.

Neither name ends in `.db`: prometheus_client's collector reads every `*.db` of the directory as its own.

Why the merged numbers are right:

- One writer per file: the worker's event-loop thread (the ASGI middleware), so an update needs no
  lock. A reader in another process sees each value whole because an aligned float64 store or load
  is a single instruction, atomic on x86-64 (and arm64); the readers here load through a mmap too.
- A series' key line is written (`os.write`, straight into the page cache) before its slots are
  first touched, and stores into a shared mapping are in the page cache at once. A worker killed
  with SIGKILL therefore leaves every count it made, each with its key, and nothing else.
- A dead worker's files are folded into the archive (`requests.json`: every series' summed slots)
  together with its prometheus_client files, at the next scrape or by Gunicorn's `child_exit` hook,
  under a lock, so a scrape reads the live workers' files and the archive only
  (loadlab.contract.multiproc has the protocol, safe against a fold killed midway). A worker opens
  its files under that lock (shared), so a new worker that gets a dead one's pid either carries on
  in its files, not yet folded, or starts new ones after the fold. `loadlab serve` wipes the
  directory at start, so nothing of an earlier server is summed in.
- A forked child must not write into its parent's file: the file is opened at the first series of
  each process, and `os.register_at_fork` makes a child forget the parent's file and slots.
- Cardinality is bounded (route templates x methods x statuses); a full file fails loudly at the
  allocation of a new series, never silently.
"""

import bisect
import json
import math
import mmap
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from loadlab.contract import metrics as m
from loadlab.contract import multiproc

ARCHIVE_FILE = "requests.json"  # in the archive: [[name, label values, summed slots], ...]
SLOTS = 1 << 16  # ~1700 histogram series with their counters
SIZE = SLOTS * 8  # bytes: 512 KiB of address space per worker, sparse on disk
BOUNDS = (*m.LATENCY_BUCKETS, math.inf)
SUM = len(BOUNDS)  # offset of a histogram's sum slot, after its buckets
WIDTH = {m.HTTP_REQUESTS: 1, m.HTTP_REQUEST_DURATION: SUM + 1}  # slots per series
COUNTER_LABELS = [*m.TARGET_LABELS, "route", "method", "status"]
HISTOGRAM_LABELS = [*m.TARGET_LABELS, "route", "method"]

Key = tuple[str, tuple[str, ...]]  # (metric name, label values)


class _WorkerFile:
    """This process's slot file and key file; the slots of every series allocated so far."""

    def __init__(self) -> None:
        self.slots: memoryview | None = None  # SLOTS float64 values once open
        self._first: dict[Key, int] = {}  # series -> its first slot
        self._next = 0
        self._keys_fd = -1

    def allocate(self, name: str, labels: tuple[str, ...]) -> int:
        """The first slot of series (name, labels), allocated and its key written on first use."""
        key = (name, labels)
        first = self._first.get(key)
        if first is not None:
            return first
        if self.slots is None:
            self._open()
        first, width = self._next, WIDTH[name]
        if first + width > SLOTS:
            raise RuntimeError(f"request metrics slot file full ({SLOTS} slots) at series {key}")
        line = _key_line(first, key)
        if os.write(self._keys_fd, line) != len(line):  # before any store into the slots: see the docstring
            raise OSError(f"short write of a request metrics key (disk full?) at series {key}")
        self._next = first + width
        self._first[key] = first
        return first

    def _open(self) -> None:
        path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        with multiproc.locked(path, exclusive=False):  # not in the middle of a fold of this pid's old files
            self._open_files(*_paths(path, os.getpid()))

    def _open_files(self, data_path: str, keys_path: str) -> None:
        fd = os.open(data_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < SIZE:
                os.ftruncate(fd, SIZE)  # zero-filled: every slot starts at 0.0
            slots = memoryview(mmap.mmap(fd, SIZE)).cast("d")
        finally:
            os.close(fd)  # the mapping stays
        # The data file exists at full size before the key file does, so a reader that finds keys finds slots.
        self._keys_fd = os.open(keys_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        for first, key in _read_keys(keys_path, drop_torn_tail=True):  # a dead worker's pid, reused
            self._first[key] = first
            self._next = max(self._next, first + WIDTH[key[0]])
        self.slots = slots

    def forget(self) -> None:
        """In a forked child: the parent's files and slots are not ours."""
        if self._keys_fd >= 0:
            os.close(self._keys_fd)
        self.slots, self._first, self._next, self._keys_fd = None, {}, 0, -1


_FILE = _WorkerFile()
os.register_at_fork(after_in_child=_FILE.forget)


class RequestMetrics:
    """Counts and times requests of one (target, server) in this process's slot file."""

    def __init__(self, target: str, server: str) -> None:
        self.labels = (target, server)
        self._series: dict[tuple[str, str, int], tuple[int, int]] = {}  # -> (counter slot, histogram's first)
        os.register_at_fork(after_in_child=self._series.clear)

    def record(self, route: str, method: str, status: int, elapsed: float) -> None:
        series = self._series.get((route, method, status))
        if series is None:
            series = self._allocate(route, method, status)
        counter, histogram = series
        slots = _FILE.slots
        # Plain read-modify-write stores: only this process's event-loop thread writes these slots.
        slots[counter] += 1.0
        slots[histogram + bisect.bisect_left(BOUNDS, elapsed)] += 1.0  # first bucket with elapsed <= le
        slots[histogram + SUM] += elapsed

    def _allocate(self, route: str, method: str, status: int) -> tuple[int, int]:
        counter = _FILE.allocate(m.HTTP_REQUESTS, (*self.labels, route, method, str(status)))
        histogram = _FILE.allocate(m.HTTP_REQUEST_DURATION, (*self.labels, route, method))
        self._series[(route, method, status)] = series = (counter, histogram)
        return series


class RequestMetricsCollector:
    """At scrape time: dead workers folded into the archive, then the two request metrics summed over
    the live workers' files and the archive."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        fold_dead_workers(self.path)
        totals = read_totals(self.path)
        requests = CounterMetricFamily(m.strip_total(m.HTTP_REQUESTS), "HTTP requests served.", labels=COUNTER_LABELS)
        duration = HistogramMetricFamily(
            m.HTTP_REQUEST_DURATION,
            "Time from request received to response sent, by route template.",
            labels=HISTOGRAM_LABELS,
        )
        for (name, labels), values in sorted(totals.items()):
            if name == m.HTTP_REQUESTS:
                requests.add_metric(labels, values[0])
            else:
                cumulative, buckets = 0.0, []
                for bound, count in zip(BOUNDS, values[:SUM], strict=True):
                    cumulative += count
                    buckets.append((floatToGoString(bound), cumulative))
                duration.add_metric(labels, buckets, values[SUM])
        yield requests
        yield duration


def fold_dead_workers(path: str) -> int:
    """Fold every dead worker's files, these and prometheus_client's, into the archive; how many."""
    return multiproc.fold(path, (multiproc.fold_db, fold_requests))


def read_totals(path: str) -> dict[Key, list[float]]:
    """{series: its slot values summed over every worker's files in `path` and the archive}."""
    with multiproc.reading(path) as snapshot:
        totals = _read_archive(snapshot.archived(ARCHIVE_FILE))
        for keys_path in snapshot.files("requests_*.keys"):
            _add_worker(totals, str(keys_path))
    return totals


def fold_requests(pending: Sequence[Path], archive: Path | None, new: Path) -> None:
    """A multiproc.Folder: the archive's totals plus the staged workers' slots, into `new`."""
    totals = _read_archive(archive / ARCHIVE_FILE if archive else None)
    for keys_path in (f for folder in pending for f in folder.glob("requests_*.keys")):
        _add_worker(totals, str(keys_path))
    rows = [[name, labels, values] for (name, labels), values in sorted(totals.items())]
    (new / ARCHIVE_FILE).write_text(json.dumps(rows))  # floats round-trip exactly


def _read_archive(archive_file: Path | None) -> dict[Key, list[float]]:
    if archive_file is None or not archive_file.exists():
        return {}
    return {(name, tuple(labels)): values for name, labels, values in json.loads(archive_file.read_text())}


def _add_worker(totals: dict[Key, list[float]], keys_path: str) -> None:
    """Add one worker's slots (its key file and the slot file beside it) to `totals`."""
    entries = _read_keys(keys_path)
    if not entries:
        return
    with (
        open(keys_path.removesuffix(".keys") + ".slots", "rb") as f,
        mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mapped,
    ):
        slots = memoryview(mapped).cast("d")  # float64 loads, each whole (see the docstring)
        try:
            for first, key in entries:
                values = slots[first : first + WIDTH[key[0]]].tolist()
                total = totals.setdefault(key, [0.0] * len(values))
                for i, value in enumerate(values):
                    total[i] += value
        finally:
            slots.release()


def _paths(path: str, pid: int) -> tuple[str, str]:
    return os.path.join(path, f"requests_{pid}.slots"), os.path.join(path, f"requests_{pid}.keys")


def _key_line(first: int, key: Key) -> bytes:
    name, labels = key
    return f"{first} {json.dumps([name, labels])}\n".encode()


def _read_keys(keys_path: str, drop_torn_tail: bool = False) -> list[tuple[int, Key]]:
    """[(first slot, series)] of a key file. A line without its newline is still being written (or
    its writer died mid-write, before using its slots): it is skipped, or cut off by the new owner."""
    with open(keys_path, "rb") as f:
        data = f.read()
    complete = data.rfind(b"\n") + 1
    if drop_torn_tail and complete < len(data):
        os.truncate(keys_path, complete)
    entries = []
    for line in data[:complete].splitlines():
        first, key = line.split(b" ", 1)
        name, labels = json.loads(key)
        entries.append((int(first), (name, tuple(labels))))
    return entries
