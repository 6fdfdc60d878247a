"""The published claims `make loadtest` checks (from a widely read asyncio/FastAPI article),
each with the verdict the measured points support.

A verdict needs certain points in the run; a claim whose points are missing says so instead of
guessing. Figures in `claimed` are the article's, not ours. Every figure a verdict states is derived:
from the measured points, or from the query each scenario requests (its `ms` wait and its `n`
upstream calls), read from the scenario catalogue (`loadlab.contract.scenarios`, or the one passed in).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs

from loadlab.contract.scenarios import SCENARIOS
from loadlab.results.point import PointResult

CLAIMED_SYNC_RPS = 9.8  # the article's sync figure (C1)


class Requested(Protocol):
    """What a verdict reads of a scenario: its query string (e.g. "ms=50&n=3")."""

    query: str


Catalogue = Mapping[str, Requested]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    claimed: str
    verdict: Callable[[list[PointResult], Catalogue], str]


def _find(results: list[PointResult], scenario: str, target: str) -> PointResult | None:
    return next((e for e in results if e.scenario == scenario and e.target == target), None)


def _rps(result: PointResult) -> float:
    return result.rps or 0.0  # None: no request completed


def _ms(value: float | None) -> float:
    return value if value is not None else float("nan")


def _missing(*names: str) -> str:
    return "not measured in this run (needs " + ", ".join(names) + ")"


class _NoFigure(Exception):
    """The catalogue does not give a figure a verdict needs."""


def _param(scenarios: Catalogue, scenario: str, name: str, default: int | None = None) -> int:
    """An integer of `scenario`'s query (`ms`, `n`), as the catalogue says it is requested."""
    if scenario not in scenarios:
        raise _NoFigure(f"scenario {scenario!r} is not in the catalogue")
    values = parse_qs(scenarios[scenario].query).get(name)
    if values:
        return int(values[0])
    if default is None:
        raise _NoFigure(f"scenario {scenario!r} requests no {name}=")
    return default


def _c1(results: list[PointResult], scenarios: Catalogue) -> str:
    sync, async_, blocking = (
        _find(results, s, t) for s, t in (("io-sleep", "sync"), ("io-sleep", "async"), ("blocking-sleep", "async"))
    )
    if not (sync and async_):
        return _missing("io-sleep on sync and async")
    ratio = _rps(async_) / _rps(sync) if _rps(sync) else float("inf")
    measured = f"sync {_rps(sync):.1f} rps vs async {_rps(async_):.1f} rps (x{ratio:.2f})"
    if ratio >= 5:
        return f"holds: {measured}"
    tail = ""
    if blocking:
        tail = (
            f"; the claimed {CLAIMED_SYNC_RPS:g} rps shape is the blocking-in-async anti-pattern "
            f"({_rps(blocking):.1f} rps), "
            f"and sync only serialises once users exceed workers x threads ({sync.workers} x {sync.threads})"
        )
    return f"does not hold: {measured}, because FastAPI runs def handlers in a threadpool{tail}"


def _c2(results: list[PointResult], scenarios: Catalogue) -> str:
    sync, async_ = _find(results, "fanout", "sync"), _find(results, "fanout", "async")
    if not (sync and async_):
        return _missing("fanout on sync and async")
    calls, ms = _param(scenarios, "fanout", "n", default=1), _param(scenarios, "fanout", "ms")
    # in sequence n calls cost n times one, gathered about one: it holds from halfway between 1 and n
    factor = (1 + calls) / 2
    holds = calls > 1 and _ms(sync.p50_ms) >= factor * _ms(async_.p50_ms)
    return (
        f"{'holds' if holds else 'does not hold'}: {calls} upstream calls of {ms} ms take p50 "
        f"{_ms(sync.p50_ms):.0f} ms in sequence vs {_ms(async_.p50_ms):.0f} ms gathered (x{factor:g} needed), "
        f"at {sync.users} users (our calls are equal, {calls} x {ms} ms, not 50/80/40)"
    )


def _c3(results: list[PointResult], scenarios: Catalogue) -> str:
    blocking, async_ = _find(results, "blocking-sleep", "async"), _find(results, "io-sleep", "async")
    if not blocking:
        return _missing("blocking-sleep on async")
    per_worker = 1000 / _param(scenarios, "blocking-sleep", "ms")  # requests/s one blocked worker can serve
    ceiling = blocking.workers * per_worker
    holds = _rps(blocking) <= 1.2 * ceiling
    versus = f" vs {_rps(async_):.1f} rps with await" if async_ else ""
    verdict = "holds" if holds else "does not hold"
    return (
        f"{verdict}: time.sleep in async def serves {_rps(blocking):.1f} rps{versus}; "
        f"one request at a time per worker caps it at {ceiling:.0f} rps "
        f"({blocking.workers} workers x {per_worker:.3g}/s)"
    )


def _c4(results: list[PointResult], scenarios: Catalogue) -> str:
    inline, offload = _find(results, "cpu", "async"), _find(results, "cpu-offload", "async")
    if not (inline and offload):
        return _missing("cpu and cpu-offload on async")
    lag_inline, lag_offload = inline.loop_lag_p99_ms, offload.loop_lag_p99_ms
    if lag_inline is None or lag_offload is None:
        return "not measured: no event-loop lag for the cpu points"
    holds = lag_offload < lag_inline
    return (
        f"{'holds' if holds else 'does not hold'}: event-loop lag p99 {lag_inline:.0f} ms inline vs "
        f"{lag_offload:.0f} ms offloaded; throughput {_rps(inline):.1f} vs {_rps(offload):.1f} rps"
    )


def _c5(results: list[PointResult], scenarios: Catalogue) -> str:
    sync, async_ = _find(results, "io-sleep", "sync"), _find(results, "io-sleep", "async")
    if not (sync and async_) or not sync.server_cpu_ms_per_request or not async_.server_cpu_ms_per_request:
        return _missing("server CPU of io-sleep on sync and async")
    s, a = sync.server_cpu_ms_per_request, async_.server_cpu_ms_per_request
    holds = a < 0.9 * s
    return (
        f"{'holds' if holds else 'does not hold'}: server CPU per request {a:.2f} ms async vs {s:.2f} ms "
        f"sync (threads) for the same {_param(scenarios, 'io-sleep', 'ms')} ms wait"
    )


CLAIMS = (
    Claim(
        "C1",
        "Sync endpoints serialise under concurrency; async ones overlap",
        f"4 Uvicorn workers, 100 concurrent 100 ms waits: sync {CLAIMED_SYNC_RPS:g} req/s, async 95.2 req/s",
        _c1,
    ),
    Claim(
        "C2",
        "Three awaited calls in sequence cost the sum; asyncio.gather costs the slowest",
        "~170 ms sequential vs ~80 ms gathered",
        _c2,
    ),
    Claim("C3", "A blocking call inside async def blocks the whole event loop", "qualitative", _c3),
    Claim("C4", "CPU-bound work gains nothing from asyncio; a process pool keeps the loop free", "qualitative", _c4),
    Claim("C5", "For I/O-bound work asyncio is more efficient than threads", "qualitative", _c5),
)


def verdict(claim: Claim, results: list[PointResult], scenarios: Catalogue = SCENARIOS) -> str:
    """`claim`'s verdict on `results`, whose scenarios requested what `scenarios` says."""
    try:
        return claim.verdict(results, scenarios)
    except _NoFigure as exc:
        return f"not judged: {exc}"


def verdicts(results: list[PointResult], scenarios: Catalogue = SCENARIOS) -> list[tuple[Claim, str]]:
    return [(claim, verdict(claim, results, scenarios)) for claim in CLAIMS]
