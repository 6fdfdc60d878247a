"""The published claims `make loadtest` checks (from a widely read asyncio/FastAPI article),
each with the verdict the measured points support.

A verdict needs certain points in the run; a claim whose points are missing says so instead of
guessing. Figures in `claimed` are the article's, not ours.
"""

from collections.abc import Callable
from dataclasses import dataclass

from loadlab.results.point import PointResult


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    claimed: str
    verdict: Callable[[list[PointResult]], str]


def _find(results: list[PointResult], scenario: str, target: str) -> PointResult | None:
    return next((e for e in results if e.scenario == scenario and e.target == target), None)


def _rps(result: PointResult) -> float:
    return result.rps or 0.0  # None: no request completed


def _ms(value: float | None) -> float:
    return value if value is not None else float("nan")


def _missing(*names: str) -> str:
    return "not measured in this run (needs " + ", ".join(names) + ")"


def _c1(results: list[PointResult]) -> str:
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
            f"; the claimed ~10 rps shape is the blocking-in-async anti-pattern ({_rps(blocking):.1f} rps), "
            f"and sync only serialises once users exceed workers x threads ({sync.workers} x {sync.threads})"
        )
    return f"does not hold: {measured}, because FastAPI runs def handlers in a threadpool{tail}"


def _c2(results: list[PointResult]) -> str:
    sync, async_ = _find(results, "fanout", "sync"), _find(results, "fanout", "async")
    if not (sync and async_):
        return _missing("fanout on sync and async")
    holds = _ms(sync.p50_ms) >= 2 * _ms(async_.p50_ms)
    return (
        f"{'holds' if holds else 'does not hold'}: 3 upstream calls of 50 ms take p50 {_ms(sync.p50_ms):.0f} ms in "
        f"sequence vs {_ms(async_.p50_ms):.0f} ms gathered, at {sync.users} users (our calls are equal, "
        "3 x 50 ms, not 50/80/40)"
    )


def _c3(results: list[PointResult]) -> str:
    blocking, async_ = _find(results, "blocking-sleep", "async"), _find(results, "io-sleep", "async")
    if not blocking:
        return _missing("blocking-sleep on async")
    ceiling = blocking.workers / 0.1
    holds = _rps(blocking) <= 1.2 * ceiling
    versus = f" vs {_rps(async_):.1f} rps with await" if async_ else ""
    verdict = "holds" if holds else "does not hold"
    return (
        f"{verdict}: time.sleep in async def serves {_rps(blocking):.1f} rps{versus}; "
        f"one request at a time per worker caps it at {ceiling:.0f} rps ({blocking.workers} workers x 10/s)"
    )


def _c4(results: list[PointResult]) -> str:
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


def _c5(results: list[PointResult]) -> str:
    sync, async_ = _find(results, "io-sleep", "sync"), _find(results, "io-sleep", "async")
    if not (sync and async_) or not sync.server_cpu_ms_per_request or not async_.server_cpu_ms_per_request:
        return _missing("server CPU of io-sleep on sync and async")
    s, a = sync.server_cpu_ms_per_request, async_.server_cpu_ms_per_request
    holds = a < 0.9 * s
    return (
        f"{'holds' if holds else 'does not hold'}: server CPU per request {a:.2f} ms async vs {s:.2f} ms "
        f"sync (threads) for the same 100 ms wait"
    )


CLAIMS = (
    Claim(
        "C1",
        "Sync endpoints serialise under concurrency; async ones overlap",
        "4 Uvicorn workers, 100 concurrent 100 ms waits: sync 9.8 req/s, async 95.2 req/s",
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


def verdicts(results: list[PointResult]) -> list[tuple[Claim, str]]:
    return [(claim, claim.verdict(results)) for claim in CLAIMS]
