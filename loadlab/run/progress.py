"""The live progress of a run: which point, which phase, and an ETA for the whole run.

On a terminal it is one rich progress bar redrawn in place; elsewhere (CI, a pipe, a log file)
it is plain lines, one per phase change, so logs stay readable.
"""

import sys
import time
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from loadlab import durations


class RunProgress:
    """Progress over `total_s` seconds of planned load; the ETA adds the overhead measured so far."""

    def __init__(self, points: int, load_s_per_point: float, console: Console | None = None) -> None:
        self.console = console or Console(stderr=False)
        self.points, self.load_s = points, load_s_per_point
        self.tty = sys.stdout.isatty()
        self.started = time.monotonic()
        self.done_points = 0
        self.title = ""
        self._last_plain = ""
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.tty,
            transient=True,
        )
        self._task = self._bar.add_task("starting", total=points * load_s_per_point, eta="?")

    def __enter__(self) -> Self:
        self._bar.start()
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._bar.stop()

    def eta_s(self, into_point_s: float) -> float:
        """Seconds left: planned load still to come, plus the average overhead per point so far."""
        elapsed = time.monotonic() - self.started
        done_load = self.done_points * self.load_s + into_point_s
        overhead_per_point = max(0.0, elapsed - done_load) / (self.done_points + 1)
        remaining = self.points - self.done_points
        return max(0.0, remaining * self.load_s - into_point_s) + remaining * overhead_per_point

    def phase(self, title: str, phase: str, into_point_s: float = 0.0) -> None:
        """`title` (e.g. "[2/11] async io-sleep") is in `phase`, `into_point_s` seconds into its load."""
        self.title = title
        eta = durations.render(self.eta_s(into_point_s))
        description = f"{title}: {phase}"
        self._bar.update(self._task, description=description, completed=self.done_points * self.load_s + into_point_s)
        self._bar.update(self._task, eta=eta)
        plain = f"{title}: {phase.split(' ')[0]}"
        if not self.tty and plain != self._last_plain:  # one line per phase, not per tick
            print(f"{description} (run ETA {eta})", flush=True)
            self._last_plain = plain

    def note(self, line: str) -> None:
        """A line that stays, above the progress bar."""
        if self.tty:
            self._bar.console.print(line, highlight=False, markup=False)
        else:
            print(line, flush=True)

    def point_done(self, line: str) -> None:
        self.done_points += 1
        self._bar.update(self._task, completed=self.done_points * self.load_s)
        self.note(line)
