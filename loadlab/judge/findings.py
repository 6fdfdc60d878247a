"""loadlab's own measured findings, printed beside the article's claims, each with its verdict.

A finding is something loadlab measured that the article does not say. Like a claim, its verdict
needs certain points in the run and says "not measured in this run" without them; unlike a claim,
there is no published figure: beside the measurement stands what the queueing model
(`loadlab.model`) predicts. Every figure a verdict states is derived: from the measured
points, from the scenario catalogue (each scenario's `ms` wait and its threadpool trips), or from
the model fed with those.

F1, the second threadpool trip: FastAPI runs a `def` handler in anyio's threadpool and, when the
route has a response model, validates the response in a second `run_in_threadpool` call (see
targets/sync_app.py). With the threads limit binding, that second trip joins the back of the
queue, behind every request that arrived while the first one waited. It needs an open load above
the threads ceiling: in a closed loop every request waits behind the other users whatever its
trips, so both routes take the same time (the model's `closed_latency`). `loadlab run --suite
trips` measures both routes at such a load.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs

from loadlab import model
from loadlab.contract.scenarios import SCENARIOS
from loadlab.judge import trust
from loadlab.results.point import PointResult

SUITE = "trips"  # the suite (loadlab.config.suites) that measures F1's points
TARGET = "sync"
TWO_TRIPS, ONE_TRIP = "io-sleep", "io-sleep-1trip"  # the same wait, with and without a response model
SAME_LOAD = ("server", "workers", "threads", "load_model", "users", "rate", "warmup_s", "duration_s")
GAP_SHARE = 0.5  # F1 holds when the measured p50 gap is at least this share of the model's


class Described(Protocol):
    """What a finding reads of a scenario: its query string and its threadpool trips per target."""

    query: str

    def trips(self, target: str) -> int: ...


Catalogue = Mapping[str, Described]


@dataclass(frozen=True)
class Finding:
    id: str
    text: str
    setup: str  # where it shows, and what measures it
    verdict: Callable[[list[PointResult], Catalogue], str]


class _NotJudged(Exception):
    """The points or the catalogue do not allow a verdict; the message says why."""


def _find(results: list[PointResult], scenario: str, target: str) -> PointResult | None:
    return next((e for e in results if e.scenario == scenario and e.target == target), None)


def _wait_s(scenarios: Catalogue, scenario: str) -> float:
    if scenario not in scenarios:
        raise _NotJudged(f"scenario {scenario!r} is not in the catalogue")
    ms = parse_qs(scenarios[scenario].query).get("ms")
    if not ms:
        raise _NotJudged(f"scenario {scenario!r} requests no ms=")
    return int(ms[0]) / 1000


def _s(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f} s"


def _trips(n: int) -> str:
    return f"{n} trip{'s' if n != 1 else ''}"


def _untrusted(*points: PointResult) -> str:
    doubtful = [f"{p.point} {trust.describe(p)}" for p in points if trust.state(p) != trust.TRUSTWORTHY]
    return f" (note: {'; '.join(doubtful)})" if doubtful else ""


def _f1(results: list[PointResult], scenarios: Catalogue) -> str:
    two, one = _find(results, TWO_TRIPS, TARGET), _find(results, ONE_TRIP, TARGET)
    if not (two and one):
        return (
            f"not measured in this run (needs {TWO_TRIPS} and {ONE_TRIP} on {TARGET} at the same open load "
            f"above the threads ceiling: loadlab run --suite {SUITE})"
        )
    trips_two, trips_one = (scenarios[s].trips(TARGET) if s in scenarios else 0 for s in (TWO_TRIPS, ONE_TRIP))
    if trips_two <= trips_one:
        raise _NotJudged(f"the catalogue gives {TWO_TRIPS} {_trips(trips_two)} and {ONE_TRIP} {_trips(trips_one)}")
    wait, other_wait = _wait_s(scenarios, TWO_TRIPS), _wait_s(scenarios, ONE_TRIP)
    if wait != other_wait:
        raise _NotJudged(f"{TWO_TRIPS} waits {wait:g} s and {ONE_TRIP} {other_wait:g} s: not the same work")
    differ = [f for f in SAME_LOAD if getattr(two, f) != getattr(one, f)]
    if differ:
        raise _NotJudged("the two points ran at different loads (" + ", ".join(differ) + ")")
    threads = f"{two.workers} worker{'s' if two.workers != 1 else ''} × {two.threads} threads"
    if two.load_model != "open" or two.rate is None:
        users = two.users or 0
        each = model.closed_latency(users, two.workers, two.threads, wait)
        raise _NotJudged(
            f"in a closed loop of {users} users each request queues behind the other users whatever its trips: "
            f"the model gives both routes p50 {each:.1f} s ({users} × {wait:g} s ÷ {threads}); measured "
            f"{_s(two.p50_ms)} and {_s(one.p50_ms)}. The second trip shows under an open load above the threads "
            f"ceiling: loadlab run --suite {SUITE}"
        )
    ceiling = model.threads_limit(two.workers, two.threads, wait, trips_two)
    if two.rate <= ceiling.rps:
        raise _NotJudged(
            f"{two.rate:g}/s offered is within the threads ceiling of {ceiling.rps:.0f} rps ({threads} ÷ {wait:g} s): "
            "no backlog builds for the second trip to queue behind"
        )
    for p in (two, one):
        check = model.versus_model(p.rps or 0.0, ceiling)
        if check.hidden_limit:
            raise _NotJudged(f"{p.point}: {check.note}: the threads limit did not bind")
    predicted = [
        model.open_latency(two.rate, two.workers, two.threads, wait, t, two.warmup_s, two.duration_s)
        for t in (trips_two, trips_one)
    ]
    if None in predicted or two.p50_ms is None or one.p50_ms is None:
        raise _NotJudged("no request was counted after the warm-up")
    p_two, p_one = predicted
    gap_predicted = p_two.p50_s - p_one.p50_s
    gap = (two.p50_ms - one.p50_ms) / 1000
    holds = gap_predicted > 0 and gap >= GAP_SHARE * gap_predicted
    return (
        f"{'holds' if holds else 'does not hold'}: at {two.rate:g}/s offered against the threads ceiling of "
        f"{ceiling.rps:.0f} rps ({threads} ÷ {wait:g} s), {TWO_TRIPS} ({_trips(trips_two)}) took p50 "
        f"{_s(two.p50_ms)}, max {_s(two.max_ms)} and {ONE_TRIP} ({_trips(trips_one)}) p50 {_s(one.p50_ms)}, "
        f"max {_s(one.max_ms)}: {gap:+.1f} s at p50; the model predicts p50 {p_two.p50_s:.1f} s vs "
        f"{p_one.p50_s:.1f} s (max {p_two.max_s:.1f} s vs {p_one.max_s:.1f} s), and holding needs at least "
        f"{GAP_SHARE:.0%} of its {gap_predicted:+.1f} s{_untrusted(two, one)}"
    )


def _f1_setup(scenarios: Catalogue = SCENARIOS) -> str:
    trips_two, trips_one = (scenarios[s].trips(TARGET) for s in (TWO_TRIPS, ONE_TRIP))
    return (
        f"{TWO_TRIPS} ({_trips(trips_two)}) vs {ONE_TRIP} ({_trips(trips_one)}) on the {TARGET} target, "
        f"an open load above its threads ceiling: loadlab run --suite {SUITE}"
    )


FINDINGS = (
    Finding(
        "F1",
        "A def endpoint with a response model crosses the threadpool twice: "
        "under a saturated limiter every request waits for the whole backlog",
        _f1_setup(),
        _f1,
    ),
)


def verdict(finding: Finding, results: list[PointResult], scenarios: Catalogue = SCENARIOS) -> str:
    """`finding`'s verdict on `results`, whose scenarios requested what `scenarios` says."""
    try:
        return finding.verdict(results, scenarios)
    except _NotJudged as exc:
        return f"not judged: {exc}"


def verdicts(results: list[PointResult], scenarios: Catalogue = SCENARIOS) -> list[tuple[Finding, str]]:
    return [(finding, verdict(finding, results, scenarios)) for finding in FINDINGS]
