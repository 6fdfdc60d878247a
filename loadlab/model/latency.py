"""Latency once the threads limit binds, trip by trip: what the ceilings (loadlab.model.ceilings) do
not say.

Threadpool trips. A request borrows a thread as many times as its scenario says (`trips`, from the
catalogue: 2 for a `def` route with a response model, whose response FastAPI validates in a second
`run_in_threadpool` call; 1 without one; 0 on the async target, which the threads limit then does
not bind). The later trips only validate a small response: they add no wait, so the threads
ceiling is the same, and measured throughput agrees. Where they count is latency once the threads
limit binds and requests queue for a thread: a later trip joins the back of the queue, behind every
request that arrived while the first trip waited. `burst_latency` and `open_latency` give the
latency, trip by trip, for two loads where that shows:

- a burst of n requests at once on T = workers × threads threads, each waiting s: with one trip
  they finish in waves of T, s, 2s, … ⌈n/T⌉·s; with two, each second trip queues behind all n
  first trips, so all finish together at the end (min ≈ p50 ≈ max);
- an open load at a rate λ above the ceiling μ (r = λ/μ > 1): the backlog grows, and a request
  arriving at a starts its first trip at r·a and ends it at e = r·a + s; a later trip that joins
  at e waits for everything that arrived until then, served at μ: it ends at r·min(e, end of
  arrivals), not before e. Latency is the end of the last trip minus a, taken over the requests
  Locust counts (those done after the warm-up, of the arrivals until the load stops).

A closed loop of N users hides the trips: each user's next request joins behind the other N − 1
whatever the trips, so p50 ≈ N·s/T for either (Little's law; `closed_latency`).
"""

import math
from dataclasses import dataclass

from loadlab.errors import LoadlabError
from loadlab.model.ceilings import threads_limit

GRID = 4000  # arrival times at which `open_latency` evaluates a request's latency


@dataclass(frozen=True)
class Latency:
    """The model's latency for one load: seconds at the fastest, median and slowest request, and how."""

    min_s: float
    p50_s: float
    max_s: float
    explanation: str


def _threads_label(workers: int, threads: int) -> str:
    return f"{workers} worker{'s' if workers != 1 else ''} × {threads} threads"


def burst_latency(n: int, workers: int, threads: int, wait: float, trips: int) -> Latency:
    """`n` requests sent at once to `workers` × `threads` threads, each waiting `wait` in its first
    trip (requests spread evenly over the workers). One trip: wave k of T finishes at k·wait. Two or
    more: each second trip queues behind all n first trips, so it runs once the last wave has its
    threads: at the end of the last wave, or at its start when that wave leaves threads idle."""
    if n < 1 or min(workers, threads, trips) < 1:
        raise LoadlabError(
            f"a burst needs n, workers, threads and trips of at least 1, got {n}, {workers}, {threads}, {trips}"
        )
    slots = workers * threads
    waves = math.ceil(n / slots)
    who = f"{n} requests at once on {_threads_label(workers, threads)}, {wait:g} s each"
    if trips == 1:
        done = sorted((i // slots + 1) * wait for i in range(n))
        return Latency(
            done[0],
            done[(n - 1) // 2],
            done[-1],
            f"{who}, 1 trip: waves of {slots} finish at {wait:g} s, {2 * wait:g} s, … {waves * wait:g} s",
        )
    last_wave = n - (waves - 1) * slots
    idle = last_wave < slots  # the last wave leaves threads for the second trips as it starts
    earlier = (waves - 1 if idle else waves) * wait
    done = sorted([earlier] * (n - last_wave) + [waves * wait] * last_wave)
    return Latency(
        done[0],
        done[(n - 1) // 2],
        done[-1],
        f"{who}, {trips} trips: each request's second trip queues behind all {n} first trips, "
        f"so it runs once the last wave has its threads: all done by {waves * wait:g} s",
    )


def open_latency(
    rate: float, workers: int, threads: int, wait: float, trips: int, warmup_s: float, duration_s: float
) -> Latency | None:
    """An open load of `rate` requests per second for `warmup_s` + `duration_s`, each waiting `wait`
    in its first trip: min, p50 and max over the requests Locust counts (done after the warm-up).
    None when `rate` is within the threads ceiling: no backlog builds for a trip to queue behind
    (the random queueing below the ceiling is not modelled)."""
    if min(workers, threads, trips) < 1 or rate <= 0 or wait <= 0:
        raise LoadlabError("an open load needs a rate and a wait above 0 and workers, threads and trips of at least 1")
    ceiling = threads_limit(workers, threads, wait, trips)
    r = rate / ceiling.rps
    if r <= 1:
        return None
    end = warmup_s + duration_s  # the last arrival

    def done(a: float) -> float:
        t = r * a + wait  # first trip: starts once the λ·a earlier arrivals are served at μ (r·a), then waits
        for _ in range(trips - 1):  # each later trip waits for everything that arrived before it joined
            t = max(t, r * min(t, end))
        return t

    arrivals = (end * i / GRID for i in range(GRID + 1))
    counted = sorted(done(a) - a for a in arrivals if done(a) >= warmup_s)  # Locust resets its stats after warm-up
    if not counted:
        return None
    threads_said = _threads_label(workers, threads)
    overload = f"{rate:g}/s offered against {ceiling.rps:.0f} rps ({threads_said} ÷ {wait:g} s): r = {r:.2f}"
    if trips == 1:
        how = f"1 trip: a request arriving at a ends at r·a + {wait:g} s"
    else:
        how = (
            f"{trips} trips: a request arriving at a ends its first trip at e = r·a + {wait:g} s, then waits for "
            f"every arrival until e (until the load stops at {end:g} s, if sooner): it ends at r·min(e, {end:g} s)"
        )
    return Latency(
        counted[0],
        counted[len(counted) // 2],
        counted[-1],
        f"{overload}; {how}; over the requests done after the {warmup_s:g} s warm-up",
    )


def closed_latency(users: int, workers: int, threads: int, wait: float) -> float:
    """Seconds per request of a closed loop of `users` with no think time, the threads limit binding:
    each request joins behind the other users' (Little's law: users ÷ throughput), for any number of
    trips, since a user's later trip and next request both queue behind the same others."""
    return max(wait, users * wait / (workers * threads))
