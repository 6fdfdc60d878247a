"""The paired-ratio statistics of `loadlab bench`: each round's ratio of two sides measured back to
back, their median, a distribution-free interval for it (`median_interval`), and a goal judged on
that interval. (The ratio of the two sides' medians, reported before, mixes rounds: on a machine
whose speed drifts between rounds it can differ from every round, e.g. rounds 1.02, 0.99, 0.93,
0.93, 0.95 gave 1.020.)
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.90  # the interval's aim: the narrowest order-statistic interval reaching it (if any can)


@dataclass(frozen=True)
class Interval:
    """An interval for a median, and the probability it covers the true median (exact, for any
    continuous distribution of independent rounds)."""

    low: float
    high: float
    coverage: float


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The order-statistic interval of the median: [x_(k), x_(n+1-k)] of the sorted values covers
    the true median with probability 1 - 2 P(Binomial(n, 1/2) <= k - 1), whatever the distribution.
    The narrowest such interval whose coverage reaches `confidence`; when none does (fewer than 5
    rounds for 90 %: 3 give 75 %, 4 give 87.5 %), the widest, [min, max], with the coverage it has.
    A bootstrap over 3-7 rounds would claim more than it has: it never reaches past min and max."""
    if not values:
        raise ValueError("median_interval: no values")
    x, n = sorted(values), len(values)
    best = Interval(x[0], x[-1], _coverage(n, 1))
    for k in range(2, (n + 1) // 2 + 1):
        coverage = _coverage(n, k)
        if coverage < confidence:
            break
        best = Interval(x[k - 1], x[n - k], coverage)
    return best


def _coverage(n: int, k: int) -> float:
    """P(x_(k) <= median <= x_(n+1-k)) for n independent draws: 1 - 2 P(Binomial(n, 1/2) <= k - 1)."""
    return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n


def verdict(goal: float, interval: Interval) -> str:
    """A goal "ratio >= goal" judged on the interval of the median ratio."""
    if interval.coverage <= 0:  # one round: no interval at all
        return "undetermined (one round)"
    if interval.low >= goal:
        return "goal met"
    if interval.high < goal:
        return "goal missed"
    return "undetermined"


@dataclass(frozen=True)
class Round:
    """One side's round: the requests it completed, over how many wall seconds, and the CPU seconds
    (user + system) the judged process tree spent meanwhile."""

    requests: int
    seconds: float
    cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def per_cpu_s(self) -> float:
        """Requests per CPU-second: the throughput that process would reach with one core to itself."""
        return self.requests / self.cpu_s if self.cpu_s > 0 else 0.0


@dataclass
class Comparison:
    name: str
    goal: float
    a_label: str
    b_label: str
    a: list[float]
    b: list[float]
    unit: str = "rps"  # what each round's two figures are
    context: str = ""  # printed after the rounds (e.g. the wall-clock rps behind per-CPU figures)

    @classmethod
    def per_cpu_second(
        cls, name: str, goal: float, a_label: str, b_label: str, a: Sequence[Round], b: Sequence[Round], who: str
    ) -> "Comparison":
        """Judged on requests per CPU-second of `who` (the process the cost lands on), with each
        round's wall-clock rps printed beside them for reference."""
        wall = ", ".join(f"{x.rps:.0f}/{y.rps:.0f}" for x, y in zip(a, b, strict=True))
        return cls(
            name,
            goal,
            a_label,
            b_label,
            [x.per_cpu_s for x in a],
            [y.per_cpu_s for y in b],
            unit=f"requests per {who} CPU-second",
            context=f"wall rps per round {wall}",
        )

    @property
    def ratios(self) -> list[float]:
        """Each round's ratio: its two sides were measured back to back."""
        return [a / b for a, b in zip(self.a, self.b, strict=True)]

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios."""
        return statistics.median(self.ratios)

    @property
    def interval(self) -> Interval:
        return median_interval(self.ratios)

    @property
    def verdict(self) -> str:
        return verdict(self.goal, self.interval)

    def report(self) -> str:
        rounds = ", ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(self.a, self.b, strict=True))
        i = self.interval
        return (
            f"{self.name}: {self.a_label} / {self.b_label}, median of {len(self.a)} round ratios {self.ratio:.3f} "
            f"[{i.low:.3f}, {i.high:.3f}] ({i.coverage:.1%} interval): {self.verdict} (goal >= {self.goal}); "
            f"{self.unit} per round {rounds}" + (f"; {self.context}" if self.context else "")
        )


def table(results: Sequence[tuple[str, Comparison]]) -> str:
    """One line per benchmark: goal, median of round ratios, its interval and confidence, the rounds, verdict."""
    head = ("benchmark", "goal", "median ratio", "interval", "conf.", "round ratios", "verdict")
    rows = [head]
    for name, c in results:
        i = c.interval
        rows.append(
            (
                name,
                f">= {c.goal}",
                f"{c.ratio:.3f}",
                f"[{i.low:.3f}, {i.high:.3f}]",
                f"{i.coverage:.1%}",
                " ".join(f"{r:.3f}" for r in c.ratios),
                c.verdict,
            )
        )
    widths = [max(len(row[col]) for row in rows) for col in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
