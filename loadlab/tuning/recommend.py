"""The recommendation: per target and scenario, which configuration to run, and the folklore it replaces.

From every configuration's capacity (the highest rate that met the SLO, found by the search) it
picks:
- the best: the most throughput under the SLO;
- the smallest within `NEAR_BEST` (5 %) of it: fewest workers × threads, then fewest workers.
  Throughput that costs twice the processes for 3 % more is rarely worth it.
A configuration whose generator saturated measured the generator, not the target: it is left out.
A recommended configuration whose trust at capacity could not be judged (a measurement the trust
rules need was missing) is still recommended, and the why says so and what was missing.

Beside it stands the folklore the measurement replaces: Gunicorn's documented starting point of
(2 × cores) + 1 workers, and Uvicorn's one worker per core, with what those worker counts measured
here, or the nearest worker count that was measured when they were not.
"""

from collections.abc import Sequence
from dataclasses import dataclass

NEAR_BEST = 0.05  # the smallest configuration may give up this share of the best's throughput


@dataclass(frozen=True)
class Measured:
    """One configuration's capacity, as the sweep found it."""

    target: str
    scenario: str
    server: str
    workers: int
    threads: int
    db_pool: int
    capacity_rps: float | None  # the highest rate under the SLO; None when even the first rate broke it
    bound_by: str  # what stopped it: the model's binding limit, e.g. "threads: 2 workers × 40 threads ÷ 0.1 s"
    generator_saturated: bool = False  # the generator, not the target, set the pace: not used
    trust_unknown: tuple[str, ...] = ()  # what the trust rules lacked at its capacity: not judged trustworthy

    @property
    def label(self) -> str:
        return f"{self.server} {self.workers} workers × {self.threads} threads, pool {self.db_pool}"

    @property
    def usable(self) -> bool:
        return self.capacity_rps is not None and not self.generator_saturated


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


def _folklore(rule: str, workers: int, server: str, group: list[Measured]) -> Folklore:
    usable = [m for m in group if m.usable]
    if not usable:
        return Folklore(rule, workers, None, "not measured: no configuration met the SLO")
    # the rule's own server kind when it was measured, any server kind otherwise
    pool = [m for m in usable if m.server.startswith(server)] or usable
    exact = [m for m in pool if m.workers == workers]
    if exact:
        found = max(exact, key=_capacity)
        return Folklore(rule, workers, found, f"{found.label}: {_capacity(found):.0f} rps")
    nearest = min({m.workers for m in pool}, key=lambda w: (abs(w - workers), w))
    found = max((m for m in pool if m.workers == nearest), key=_capacity)
    return Folklore(
        rule,
        workers,
        found,
        f"{workers} workers not measured; nearest measured, {found.label}: {_capacity(found):.0f} rps",
    )


def _why(best: Measured, smallest: Measured) -> str:
    said = f"most throughput: {best.label}, {_capacity(best):.0f} rps under the SLO, bound by {best.bound_by}"
    if smallest == best:
        return f"{said}; no smaller configuration comes within {NEAR_BEST:.0%} of it"
    lost = 1 - _capacity(smallest) / _capacity(best)
    return (
        f"{said}; the smallest within {NEAR_BEST:.0%}: {smallest.label}, {_capacity(smallest):.0f} rps "
        f"({lost:.1%} less), bound by {smallest.bound_by}"
    )


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
    best = min(usable, key=lambda m: (-_capacity(m), *_size(m)))  # a tie goes to the smaller
    near = [m for m in usable if _capacity(m) >= (1 - NEAR_BEST) * _capacity(best)]
    smallest = min(near, key=_size)
    why = _why(best, smallest)
    left_out = sum(m.generator_saturated for m in group)
    if left_out:
        why += f" ({left_out} configuration{'s' if left_out > 1 else ''} left out: the generator saturated)"
    for m in dict.fromkeys((best, smallest)):
        if m.trust_unknown:
            why += f"; trust unknown for {m.label} at its capacity: {', '.join(m.trust_unknown)}"
    return Recommendation(target, scenario, best, smallest, why, folklore)


def recommend(measured: Sequence[Measured], cores: int) -> list[Recommendation]:
    """One recommendation per (target, scenario) present in `measured`, in that order."""
    groups: dict[tuple[str, str], list[Measured]] = {}
    for m in measured:
        groups.setdefault((m.target, m.scenario), []).append(m)
    return [_recommend(target, scenario, group, cores) for (target, scenario), group in sorted(groups.items())]
