"""A point measured several times (`loadlab run --repeat N`): its median and the spread between its
repetitions, per figure.

The interval is the range of the repetitions, [lowest, highest]. For the median of N independent
repetitions it is a distribution-free confidence interval: the true median lies below all N, or
above all N, with probability 2 × 0.5^N each way together, so the range covers it with confidence
1 − 2 × 0.5^N (75 % at N = 3, 94 % at N = 5, 98 % at N = 7). It assumes nothing about the shape
of the figures' distribution; it does assume the repetitions are alike, which interleaving them
(A B C A B C, not A A A B B B) helps: a drift of the machine's speed touches every point alike.
"""

import statistics
from dataclasses import dataclass, field, replace
from typing import Any

from loadlab.results.point import PointResult

# The figures summarized: Locust's throughput and percentiles (after warm-up), the open model's
# latency from the schedule, and the server's CPU per request.
FIGURES = ("rps", "p50_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "p99_scheduled_ms", "server_cpu_ms_per_request")
# Besides the figures, what the typical repetition carries for the claims' verdicts
MEDIAN_TOO = ("loop_lag_p99_ms",)


def confidence(n: int) -> float:
    """The confidence of [min, max] of `n` repetitions as an interval of their median."""
    return 1 - 2 * 0.5**n


@dataclass(frozen=True)
class Spread:
    """One figure over the repetitions: its median and [low, high], the range of the repetitions."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> "Spread":
        return cls(statistics.median(values), min(values), max(values))


@dataclass
class Repeated:
    """Every repetition of one point: `point` is its id without the `-r<n>`."""

    point: str
    target: str
    scenario: str
    repetitions: list[PointResult]
    figures: dict[str, Spread] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.repetitions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "point": self.point,
            "target": self.target,
            "scenario": self.scenario,
            "repetitions": self.n,
            "interval": f"range of the repetitions: {100 * confidence(self.n):.0f} % for the median",
            "figures": {name: vars(spread) for name, spread in self.figures.items()},
        }


def base_id(result: PointResult) -> str:
    suffix = f"-r{result.repeat}"
    return result.point.removesuffix(suffix) if result.repeat else result.point


def repeated(results: list[PointResult]) -> list[Repeated]:
    """The points measured more than once, in the order of their first repetition."""
    groups: dict[str, Repeated] = {}
    for r in results:
        if r.repeat is None:
            continue
        key = base_id(r)
        groups.setdefault(key, Repeated(key, r.target, r.scenario, [])).repetitions.append(r)
    for g in groups.values():
        for name in FIGURES:
            values = [v for r in g.repetitions if (v := getattr(r, name)) is not None]
            if values:
                g.figures[name] = Spread.of(values)
    return list(groups.values())


def typical(results: list[PointResult]) -> list[PointResult]:
    """One result per point: a point measured once as it is; one measured several times as its first
    repetition with every figure replaced by the median over the repetitions, counts summed, and every
    SLO breach and trust doubt of any repetition kept. The claims are judged on these."""
    once = [r for r in results if r.repeat is None]
    merged = []
    for g in repeated(results):
        first = g.repetitions[0]
        medians = {}
        for name in (*FIGURES, *MEDIAN_TOO):
            values = [v for r in g.repetitions if (v := getattr(r, name)) is not None]
            medians[name] = statistics.median(values) if values else None
        merged.append(
            replace(
                first,
                point=g.point,
                repeat=None,
                requests=sum(r.requests for r in g.repetitions),
                failures=sum(r.failures for r in g.repetitions),
                generator_cpu_max=max((c for r in g.repetitions if (c := r.generator_cpu_max)), default=None),
                slo_broken=sorted({b for r in g.repetitions for b in r.slo_broken}),
                untrustworthy_reasons=sorted({u for r in g.repetitions for u in r.untrustworthy_reasons}),
                **medians,
            )
        )
    return once + merged
