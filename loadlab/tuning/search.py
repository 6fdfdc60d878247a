"""The capacity search: the highest arrival rate at which a configuration still meets its SLO.

Measuring one rate takes a while, so the search asks for as few as it can:
1. step up geometrically from `start` (×`factor` each time) until the SLO breaks; a start above
   `floor` (a guess, such as a similar configuration's capacity) that breaks at once steps down
   (÷`factor`, not below `floor`) until the SLO holds;
2. then bisect between the last rate that passed and the first that failed, until the two are
   within `precision` of each other ((high − low) ÷ low ≤ precision).
It stops early at `max_rate` (capacity is at least that) or after `max_steps` measurements.
3. then confirm: the highest rate that held and the lowest that broke are each measured `confirm`
   more times, interleaved (held, broke, held, broke, ...), since one measurement of a step on a
   shared machine can hold or break by chance. A search that never held confirms nothing.
4. then, only when every rate that held broke when measured again (so no rate held every time
   although the target held somewhere): step down from the lowest rate measured (÷`factor`, not
   below `floor`), and measure a rate that holds there `confirm` more times, until a rate holds
   every time or `STEP_DOWNS` rates below have been tried. Without it, a search whose start was
   its only held rate (a sweep starts a configuration at a smaller one's capacity) ends with no
   capacity at all when that rate breaks once on confirmation.
The capacity is then an interval (`interval`): [the highest rate that held in every measurement
of it, the lowest rate that broke in any]; the true limit lies between. Confirmations only move
its ends down (a held rate that breaks once is no longer held every time), never past each other:
every rate the search proper held is below every rate it saw break.

The search is a pure function of the steps measured so far: `decide(steps, settings)` says which
rate to measure next, or why to stop. A caller can therefore store each step as soon as it is
measured and, after an interruption, resume from the stored steps: nothing is measured twice.
`search(measure, settings, done)` is the simple driver that does exactly that.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loadlab.errors import LoadlabError

REPLAY_TOLERANCE = 1e-9  # relative: a stored rate read back from JSON is the rate that was asked
STEP_DOWNS = 2  # rates tried below the lowest measured when every held rate broke on confirmation


@dataclass(frozen=True)
class SearchSettings:
    start: float  # requests/s of the first step
    factor: float = 2.0  # each step up multiplies the rate by this
    precision: float = 0.05  # stop bisecting once (high − low) ÷ low is at most this
    max_rate: float = math.inf  # never ask for more than this
    max_steps: int = 20  # never measure more than this many steps
    floor: float | None = None  # step down to this rate when `start` breaks; None: `start`, no stepping down
    confirm: int = 0  # after the search, the highest held and the lowest broken rate are measured this many more times

    @property
    def most_steps(self) -> int:
        """The search's steps at most, its confirmations and steps down after them included."""
        return self.max_steps + 2 * self.confirm + STEP_DOWNS * (1 + self.confirm)

    @property
    def lowest(self) -> float:
        return self.start if self.floor is None else self.floor

    def __post_init__(self) -> None:
        if not (self.start > 0 and math.isfinite(self.start)):
            raise LoadlabError(f"the search's start rate must be a positive number, got {self.start!r}")
        if not self.factor > 1:
            raise LoadlabError(f"the search's step factor must be above 1, got {self.factor!r}")
        if not self.precision > 0:
            raise LoadlabError(f"the search's precision must be above 0, got {self.precision!r}")
        if not self.max_rate >= self.start:
            raise LoadlabError(f"the search's max rate {self.max_rate:g} is below its start rate {self.start:g}")
        if not 0 < self.lowest <= self.start:
            raise LoadlabError(
                f"the search's floor {self.lowest:g} must be above 0 and at most its start {self.start:g}"
            )
        if self.max_steps < 1:
            raise LoadlabError(f"the search needs at least 1 step, got max_steps={self.max_steps}")
        if self.confirm < 0:
            raise LoadlabError(f"the search's confirmations must be 0 or more, got confirm={self.confirm}")


@dataclass(frozen=True)
class Step:
    rate: float  # requests/s offered
    passed: bool  # the SLO held at this rate


@dataclass(frozen=True)
class Decision:
    """What to do next: measure `rate`, or stop (rate None) for the reason given."""

    rate: float | None
    stopped: str | None = None


@dataclass(frozen=True)
class SearchResult:
    capacity: float | None  # the highest rate that held every time; None when none did
    steps: tuple[Step, ...]
    stopped: str  # why the search stopped
    broke: float | None = None  # the lowest rate that broke in any measurement; None when none broke


def interval(steps: Sequence[Step]) -> tuple[float | None, float | None]:
    """The capacity as [held, broke]: the highest rate that held in every measurement of it, and the
    lowest rate that broke in any; None for an end no rate gives (nothing held; nothing broke)."""
    by_rate: dict[float, list[bool]] = {}
    for s in steps:
        by_rate.setdefault(s.rate, []).append(s.passed)
    held = [rate for rate, passes in by_rate.items() if all(passes)]
    broke = [rate for rate, passes in by_rate.items() if not all(passes)]
    return (max(held) if held else None), (min(broke) if broke else None)


def searched(steps: Sequence[Step], settings: SearchSettings) -> tuple[int, Decision]:
    """How many of `steps` the search proper took before its confirmations, and its decision after
    them: a rate to measure while it runs, or why it stopped."""
    for i in range(len(steps)):
        decision = _search(steps[:i], settings)
        if decision.rate is None:
            return i, decision
    return len(steps), _search(steps, settings)


def confirmations(steps: Sequence[Step], settings: SearchSettings) -> list[float]:
    """The rates the confirmations measure, in order, once the search proper is over: its highest
    held and lowest broken rate, interleaved, `settings.confirm` times each ([] when none held)."""
    held = [s.rate for s in steps if s.passed]
    broke = [s.rate for s in steps if not s.passed]
    if not held:
        return []  # nothing held: whatever the start rate does again, no rate holds every time
    pair = [max(held)] + ([min(broke)] if broke else [])
    return pair * settings.confirm


def decide(steps: Sequence[Step], settings: SearchSettings) -> Decision:
    """The next rate to measure given the steps measured so far (the search, then its
    confirmations), or why the search is over."""
    n, decision = searched(steps, settings)
    if decision.rate is not None:
        return decision
    planned = confirmations(steps[:n], settings)
    done = len(steps) - n
    if done < len(planned):
        return Decision(planned[done])
    return _below_confirmed(steps, n + len(planned), settings) or decision


def _below_confirmed(steps: Sequence[Step], confirmed: int, settings: SearchSettings) -> Decision | None:
    """Step 4, after the first `confirmed` steps (the search and its confirmations): a rate below
    them to measure, or why the search is over; None when they left a rate that held every time
    (or none that ever held), so step 4 has nothing to do."""
    held, _ = interval(steps)
    below = steps[confirmed:]
    if held is None:
        if not any(s.passed for s in steps):
            return None  # nothing ever held: the search's own reason stands
        lowest = min(s.rate for s in steps)
        tried = len({s.rate for s in below})
        if lowest <= settings.lowest * (1 + REPLAY_TOLERANCE) or tried >= STEP_DOWNS:
            return Decision(
                None, f"every rate that held broke when measured again, down to {lowest:g} rps: no rate held every time"
            )
        upcoming = max(lowest / settings.factor, settings.lowest)
    else:
        times = sum(1 for s in below if math.isclose(s.rate, held, rel_tol=REPLAY_TOLERANCE))
        if times == 0 or any(math.isclose(s.rate, held, rel_tol=REPLAY_TOLERANCE) for s in steps[:confirmed]):
            return None  # the held rate is the search's own (or its confirmations')
        if times >= 1 + settings.confirm:
            return Decision(
                None, f"the rates above broke when measured again; {held:g} rps, below them, held all {times} times"
            )
        upcoming = held
    return Decision(upcoming)


def _search(steps: Sequence[Step], settings: SearchSettings) -> Decision:
    """The search proper (steps up or down, then bisection): its next rate, or why it is over."""
    passed = [s.rate for s in steps if s.passed]
    failed = [s.rate for s in steps if not s.passed]
    if not steps:
        return Decision(settings.start)
    if not failed:  # still stepping up
        last = steps[-1].rate
        if last >= settings.max_rate:
            return Decision(
                None, f"the SLO held up to the max rate {settings.max_rate:g} rps: capacity is at least that"
            )
        upcoming = min(last * settings.factor, settings.max_rate)
    elif not passed:  # stepping down from a start that broke
        lowest = min(failed)
        if lowest <= settings.lowest * (1 + REPLAY_TOLERANCE):
            if settings.lowest == settings.start:
                return Decision(None, f"the SLO broke at the start rate {settings.start:g} rps")
            return Decision(None, f"the SLO broke at every rate tried, down to {lowest:g} rps")
        upcoming = max(lowest / settings.factor, settings.lowest)
    else:
        low, high = max(passed), min(failed)
        if (high - low) / low <= settings.precision:
            return Decision(
                None, f"within {settings.precision:.0%}: the SLO holds at {low:g} rps and breaks at {high:g} rps"
            )
        upcoming = (low + high) / 2
    if len(steps) >= settings.max_steps:
        return Decision(None, f"stopped after {settings.max_steps} steps, before reaching the precision")
    return Decision(upcoming)


def result(steps: Sequence[Step], settings: SearchSettings) -> SearchResult:
    """The search's result once `decide` says stop; an error if it would measure more."""
    decision = decide(steps, settings)
    if decision.stopped is None:
        raise LoadlabError(f"the search is not over: it would measure {decision.rate:g} rps next")
    held, broke = interval(steps)
    return SearchResult(held, tuple(steps), decision.stopped, broke)


def search(
    measure: Callable[[float], bool], settings: SearchSettings, done: Sequence[Step | tuple[float, bool]] = ()
) -> SearchResult:
    """Run the search, calling `measure(rate)` (True: the SLO held) for each step not in `done`.

    `done` holds the steps of an interrupted search with the same settings, in order: they are
    replayed without measuring, and must be the rates this search would have asked for."""
    steps: list[Step] = []
    for i, (rate, passed) in enumerate((s.rate, s.passed) if isinstance(s, Step) else s for s in done):
        expected = decide(steps, settings).rate
        if expected is None or not math.isclose(rate, expected, rel_tol=REPLAY_TOLERANCE):
            asked = "nothing more" if expected is None else f"{expected:g} rps"
            raise LoadlabError(
                f"cannot resume: stored step {i + 1} measured {rate:g} rps where this search asks {asked} "
                "(were the search settings changed?)"
            )
        steps.append(Step(expected, bool(passed)))
    while (decision := decide(steps, settings)).rate is not None:
        steps.append(Step(decision.rate, bool(measure(decision.rate))))
    return result(steps, settings)
