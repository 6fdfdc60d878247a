"""Bookkeeping of prometheus_client's multiprocess directories, shared by the targets and Locust:
live gauges of dead processes dropped, and dead workers' counters and histograms folded into one archive.

Import it only after `PROMETHEUS_MULTIPROC_DIR` is set: it imports prometheus_client.

Why fold: every worker leaves its files, and every scrape reads them all, so scrape time grows with
every restart (the figures are in docs/metrics.md). `fold`
moves a dead worker's additive series (counters, histograms, summaries: prometheus_client's files and
the request metrics' slot files, each kind through a `Folder`) into one archive, so a scrape reads
the live workers' files and the archive only. The layout, inside the metrics directory:

    archive/lock              flock: a fold holds it exclusively; readers (`reading`) and a worker
                              opening its request files hold it shared
    archive/current           symlink to the archive in use, gen-<n>
    archive/gen-<n>/          the archive: one file per kind, and `absorbed` (see below)
    archive/staged/<pid>-<ns> a dead worker's files, hard-linked here before they are folded

A fold, under the exclusive lock: (1) every file of each dead pid is hard-linked into a fresh staged
folder (`.tmp`), renamed into place when complete; (2) the originals are unlinked; (3) the new archive,
old archive + every staged folder not yet absorbed, is written to gen-<n+1>, which names the staged
folders it absorbed, and `current` is switched to it by one rename; (4) absorbed staged folders and
old generations are removed. A fold killed at any step (a worker folding at scrape time may be
SIGKILLed) leaves a state readers count exactly once: a staged folder is counted until an archive
names it; an original still beside its staged link is skipped (same inode: a new file of a reused pid
cannot share it while the link lives). The next fold finishes the job.

A new worker that reuses a dead worker's pid: the request metrics open their files under the shared
lock, so they either find the dead worker's files before any fold (and carry on in them, not yet
archived) or create new ones after it. prometheus_client opens its files without this lock; only a
pid reused between a fold's liveness check and its unlink (well under a millisecond) could lose that
new worker's first counts. Under Gunicorn the `child_exit` hook folds before the replacement is forked.
Gauges are not folded: live ones of dead workers are dropped (`live_pids`), others stay per pid.
"""

import fcntl
import json
import os
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psutil
from prometheus_client import multiprocess
from prometheus_client.mmap_dict import MmapedDict

ARCHIVE = "archive"  # the folder of the archive in the metrics directory (wiped with it by `loadlab serve`)
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")
_ADDITIVE_DB = ("counter", "histogram", "summary")  # prometheus_client's kinds that sum over processes
_FOLDABLE = re.compile(r"(?:(?:counter|histogram|summary)_(\d+)\.db|requests_(\d+)\.(?:slots|keys))$")
_ABSORBED = "absorbed"

# (staged folders to add, the archive so far or None, the new archive's folder): writes one kind's archive file
Folder = Callable[[Sequence[Path], Path | None, Path], None]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE  # an exited child stays a zombie until reaped
    except psutil.NoSuchProcess:
        return False


def live_pids(path: str) -> set[int]:
    """The processes with live-gauge files in `path` that still run. The live-gauge files of the
    others are removed, so their gauges disappear; their counters and histograms stay summed."""
    pids = {int(match.group(1)) for f in os.listdir(path) if (match := _LIVE_GAUGE_FILE.match(f))}
    for pid in [pid for pid in pids if not alive(pid)]:
        multiprocess.mark_process_dead(pid, path)
        pids.discard(pid)
    return pids


@contextmanager
def locked(path: str | Path, exclusive: bool) -> Iterator[None]:
    """The archive's lock (flock: released by the kernel when its holder dies, even by SIGKILL)."""
    folder = Path(path, ARCHIVE)
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # and with it the lock


class Snapshot:
    """What a reader sums, under the shared lock: the live and not yet folded files, and the archive."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        archive = self.path / ARCHIVE
        current = archive / "current"
        self.archive = current.resolve() if current.is_symlink() else None
        staged = _staged(archive / "staged")
        self.staged = _unabsorbed(staged, self.archive)
        # originals a killed fold left beside their staged links: counted there, not here
        self._linked = {_inode(f) for folder in staged for f in folder.iterdir()}

    def files(self, pattern: str) -> list[Path]:
        """The files named `pattern` of every worker not yet folded (a glob pattern)."""
        found = [f for f in self.path.glob(pattern) if not self._linked or _inode(f) not in self._linked]
        return found + [f for folder in self.staged for f in folder.glob(pattern)]

    def archived(self, name: str) -> Path | None:
        """The archive's file `name`, if there is one."""
        if self.archive is None or not (self.archive / name).exists():
            return None
        return self.archive / name


@contextmanager
def reading(path: str | Path) -> Iterator[Snapshot]:
    with locked(path, exclusive=False):
        yield Snapshot(path)


def dead_pids(path: str | Path) -> set[int]:
    """The pids with files to fold whose process no longer runs."""
    pids = {int(m.group(1) or m.group(2)) for f in os.listdir(path) if (m := _FOLDABLE.match(f))}
    return {pid for pid in pids if not alive(pid)}


def fold(path: str | Path, folders: Sequence[Folder]) -> int:
    """Fold every dead worker's files into the archive (see the module); the number of workers folded."""
    path = Path(path)
    staged_root = path / ARCHIVE / "staged"
    if not dead_pids(path) and not _staged(staged_root):  # the usual case: a listing, no lock
        return 0
    with locked(path, exclusive=True):
        staged_root.mkdir(exist_ok=True)
        for tmp in staged_root.glob("*.tmp"):  # a fold killed while linking: its originals are still in place
            shutil.rmtree(tmp)
        _unlink_staged_originals(path, staged_root)  # a fold killed before it unlinked them
        dead = dead_pids(path)  # again, under the lock: another process may have folded meanwhile
        for pid in dead:
            multiprocess.mark_process_dead(pid, path)  # its live gauges
            _stage(path, pid, staged_root)
        _unlink_staged_originals(path, staged_root)
        current = path / ARCHIVE / "current"
        archive = current.resolve() if current.is_symlink() else None
        staged = _staged(staged_root)
        pending = _unabsorbed(staged, archive)
        if pending:
            generation = 1 + (int(archive.name.removeprefix("gen-")) if archive else 0)
            new = path / ARCHIVE / f"gen-{generation}"
            shutil.rmtree(new, ignore_errors=True)  # a killed fold's
            new.mkdir()
            for folder in folders:
                folder(pending, archive, new)
            # every staged folder: those an older archive absorbed, if a killed fold left them, too
            (new / _ABSORBED).write_text(json.dumps(sorted(p.name for p in staged)))
            link = path / ARCHIVE / "current.tmp"
            link.unlink(missing_ok=True)
            link.symlink_to(new.name)
            link.rename(current)  # the commit: one rename
            archive = new
        for folder in _staged(staged_root):  # absorbed, whether now or by a fold killed before this step
            shutil.rmtree(folder)
        for old in (path / ARCHIVE).glob("gen-*"):
            if old != archive:
                shutil.rmtree(old, ignore_errors=True)
        return len(dead)


def fold_db(pending: Sequence[Path], archive: Path | None, new: Path) -> None:
    """prometheus_client's counters, histograms and summaries, summed key by key into `<kind>_archive.db`
    (a histogram's buckets are stored per bucket, not cumulated, so they sum too)."""
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    sources = [archive] if archive else []
    for f in (f for folder in [*sources, *pending] for f in folder.glob("*.db")):
        kind = f.name.split("_", 1)[0]
        for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(f)):
            totals[kind][key] += value
    for kind, values in totals.items():
        out = MmapedDict(str(new / f"{kind}_archive.db"))
        try:
            for key, value in values.items():
                out.write_value(key, value, 0.0)
        finally:
            out.close()


class ArchivedCollector:
    """prometheus_client's multiprocess collector over the live workers' files and the archive, read
    under the shared lock. It does not fold: `fold` runs before it (the request metrics' collector)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self):
        with reading(self.path) as snapshot:
            files = [str(f) for f in snapshot.files("*.db")]
            files += [str(f) for kind in _ADDITIVE_DB if (f := snapshot.archived(f"{kind}_archive.db"))]
            return multiprocess.MultiProcessCollector.merge(files, accumulate=True)


def _stage(path: Path, pid: int, staged_root: Path) -> None:
    names = [f for f in os.listdir(path) if (m := _FOLDABLE.match(f)) and int(m.group(1) or m.group(2)) == pid]
    tmp = staged_root / f"{pid}-{time.time_ns()}.tmp"
    tmp.mkdir()
    for name in names:
        os.link(path / name, tmp / name)
    tmp.rename(tmp.with_suffix(""))  # complete: from now on readers count it here, not the originals


def _unlink_staged_originals(path: Path, staged_root: Path) -> None:
    linked = {_inode(f) for folder in _staged(staged_root) for f in folder.iterdir()}
    # key files before slot files: a key file is never found without its slots
    for f in sorted(path.iterdir(), key=lambda f: not f.name.endswith(".keys")):
        if f.is_file() and _inode(f) in linked:
            f.unlink()


def _staged(staged_root: Path) -> list[Path]:
    """Complete staged folders (a `.tmp` one is a fold killed while linking: ignored, then removed)."""
    if not staged_root.is_dir():
        return []
    return [folder for folder in staged_root.iterdir() if folder.suffix != ".tmp"]


def _unabsorbed(staged: list[Path], archive: Path | None) -> list[Path]:
    if not staged or archive is None:
        return staged
    absorbed = set(json.loads((archive / _ABSORBED).read_text()))
    return [folder for folder in staged if folder.name not in absorbed]


def _inode(f: Path) -> tuple[int, int] | None:
    try:
        st = f.stat()
    except FileNotFoundError:  # a dead worker's live gauge, dropped meanwhile
        return None
    return st.st_dev, st.st_ino
