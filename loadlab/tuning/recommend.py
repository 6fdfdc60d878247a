"""The recommendation: per target and scenario, which configuration to run, and the folklore it replaces.

Every configuration's capacity is an interval, [held, broke]: the highest rate that held in every
measurement of it and the lowest that broke in any (the search and its confirmations). From
those it picks:
- the best: the highest rate held every time (as offered; its served rate is reported beside it);
- the configurations indistinguishable from it: those whose intervals overlap the best's (a
  measurement could not tell them apart), the best's set, named in the why;
- the smallest of that set: fewest workers × threads, then fewest workers. Throughput a
  measurement cannot tell apart is not worth more processes.
A configuration whose generator saturated measured the generator, not the target: it is left out.
A recommended configuration whose trust at capacity could not be judged (a measurement the trust
rules need was missing) is still recommended, and the why says so and what was missing.

Beside it stands the folklore the measurement replaces: Gunicorn's documented starting point of
(2 × cores) + 1 workers, and Uvicorn's one worker per core, with what those worker counts measured
here, or the nearest worker count that was measured when they were not.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from loadlab.results.sweep import interval_text


@dataclass(frozen=True)
class Measured:
    """One configuration's capacity, as the sweep found it."""

    target: str
    scenario: str
    server: str
    workers: int
    threads: int
    db_pool: int
    capacity_rps: float | None  # the highest rate under the SLO every time; None when no rate held every time
    bound_by: str  # what stopped it: the model's binding limit, e.g. "threads: 2 workers × 40 threads ÷ 0.1 s"
    generator_saturated: bool = False  # the generator, not the target, set the pace: not used
    trust_unknown: tuple[str, ...] = ()  # what the trust rules lacked at its capacity: not judged trustworthy
    broke_rps: float | None = None  # the lowest rate offered that broke in any measurement; None: none broke
    held_rps: float | None = None  # the highest rate offered that held every time; None: capacity_rps is it

    @property
    def label(self) -> str:
        return f"{self.server} {self.workers} workers × {self.threads} threads, pool {self.db_pool}"

    @property
    def usable(self) -> bool:
        return self.capacity_rps is not None and not self.generator_saturated

    @property
    def held(self) -> float:
        """The capacity interval's lower end, as offered (0 when nothing held every time)."""
        return (self.held_rps if self.held_rps is not None else self.capacity_rps) or 0.0

    @property
    def interval(self) -> str:
        return interval_text(self.held if self.capacity_rps is not None else None, self.broke_rps)

    def overlaps(self, other: "Measured") -> bool:
        """Whether the two capacity intervals share a rate: the measurements cannot tell them apart.
        Each interval runs from its held rate up to (not including) its broken one."""
        low = max(self.held, other.held)
        return all(m.broke_rps is None or m.broke_rps > low for m in (self, other))


@dataclass(frozen=True)
class Folklore:
    rule: str  # e.g. "Gunicorn: (2 × cores) + 1"
    workers: int  # the worker count the rule gives on this machine
    measured: Measured | None  # the best configuration with that worker count (or the nearest measured)
    note: str


@dataclass(frozen=True)
class Recommendation:
    target: str
    scenario: str
    best: Measured | None  # None: no usable configuration
    smallest: Measured | None
    why: str
    folklore: tuple[Folklore, ...]
    within_noise: tuple[Measured, ...] = ()  # the best's indistinguishable set (the best included), smallest first


def folklore_rules(cores: int) -> list[tuple[str, int, str]]:
    """(rule, workers on this machine, server kind prefix it is folklore for)."""
    return [
        (f"Gunicorn: (2 × cores) + 1 = (2 × {cores}) + 1", 2 * cores + 1, "gunicorn"),
        (f"Uvicorn: one worker per core = {cores}", cores, "uvicorn"),
    ]


def _size(m: Measured) -> tuple[int, int, float]:
    return (m.workers * m.threads, m.workers, -(m.capacity_rps or 0.0))


def _capacity(m: Measured) -> float:
    return m.capacity_rps or 0.0


def _unusable(m: Measured) -> str:
    return "its generator saturated" if m.generator_saturated else "no capacity (no rate held every time)"


def _folklore(rule: str, workers: int, server: str, group: list[Measured]) -> Folklore:
    usable = [m for m in group if m.usable]
    if not usable:
        return Folklore(rule, workers, None, "no capacity to compare: no configuration held a rate every time")
    # the rule's own server kind when it was measured, any server kind otherwise
    pool = [m for m in usable if m.server.startswith(server)] or usable
    exact = [m for m in pool if m.workers == workers]
    if exact:
        found = max(exact, key=_capacity)
        return Folklore(rule, workers, found, f"{found.label}: {_capacity(found):.0f} rps")
    nearest = min({m.workers for m in pool}, key=lambda w: (abs(w - workers), w))
    found = max((m for m in pool if m.workers == nearest), key=_capacity)
    tried = [m for m in group if m.workers == workers]  # measured, but with nothing to compare
    there = f"{workers} workers: {_unusable(tried[0])}" if tried else f"{workers} workers not measured"
    return Folklore(rule, workers, found, f"{there}; nearest measured, {found.label}: {_capacity(found):.0f} rps")


def _names(ms: Sequence[Measured]) -> str:
    """ "2, 3 and 4 workers" when only the worker counts differ, else each configuration's label."""
    if len({(m.server, m.threads, m.db_pool) for m in ms}) == 1:
        counts = [str(m.workers) for m in ms]
        listed = counts[0] if len(counts) == 1 else f"{', '.join(counts[:-1])} and {counts[-1]}"
        return f"{listed} workers ({ms[0].server}, {ms[0].threads} threads, pool {ms[0].db_pool})"
    return "; ".join(m.label for m in ms)


def _said(m: Measured) -> str:
    return (
        f"{m.label}, capacity {m.interval} rps [held every time, broke] ({_capacity(m):.0f} served), "
        f"bound by {m.bound_by}"
    )


def _why(best: Measured, smallest: Measured, within: Sequence[Measured]) -> str:
    said = f"most throughput: {_said(best)}"
    if len(within) == 1:
        return f"{said}; no other configuration's interval overlaps it"
    one = "workers" if len({(m.server, m.threads, m.db_pool) for m in within}) == 1 else "configuration"
    smallest_name = f"{smallest.workers}" if one == "workers" else smallest.label
    together = f"{said}; {_names(within)} are within noise of each other (their intervals overlap the best's)"
    if smallest == best:
        return f"{together}; {smallest_name}, the best, is also the smallest"
    return f"{together}; {smallest_name} is the smallest: {_said(smallest)}"


def _recommend(target: str, scenario: str, group: list[Measured], cores: int) -> Recommendation:
    folklore = tuple(_folklore(rule, workers, server, group) for rule, workers, server in folklore_rules(cores))
    usable = [m for m in group if m.usable]
    if not usable:
        saturated = sum(m.generator_saturated for m in group)
        why = "no configuration met the SLO, even at the search's start rate"
        if saturated:
            why = f"nothing to recommend: {saturated} of {len(group)} configurations saturated the generator"
            if saturated < len(group):
                why += ", the others never met the SLO"
        return Recommendation(target, scenario, None, None, why, folklore)
    best = min(usable, key=lambda m: (-m.held, *_size(m)))  # a tie goes to the smaller
    within = sorted((m for m in usable if m.overlaps(best)), key=_size)
    smallest = within[0]
    why = _why(best, smallest, within)
    left_out = sum(m.generator_saturated for m in group)
    if left_out:
        why += f" ({left_out} configuration{'s' if left_out > 1 else ''} left out: the generator saturated)"
    for m in dict.fromkeys((best, smallest)):
        if m.trust_unknown:
            why += f"; trust unknown for {m.label} at its capacity: {', '.join(m.trust_unknown)}"
    return Recommendation(target, scenario, best, smallest, why, folklore, tuple(within))


def recommend(measured: Sequence[Measured], cores: int) -> list[Recommendation]:
    """One recommendation per (target, scenario) present in `measured`, in that order."""
    groups: dict[tuple[str, str], list[Measured]] = {}
    for m in measured:
        groups.setdefault((m.target, m.scenario), []).append(m)
    return [_recommend(target, scenario, group, cores) for (target, scenario), group in sorted(groups.items())]
