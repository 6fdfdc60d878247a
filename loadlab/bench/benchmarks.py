"""The benchmarks `loadlab bench` runs, each a Comparison of two sides measured alternately, the
registry that names them, and `run`, which prints each one's line and then the table."""

import statistics
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from loadlab.bench.drivers import (
    alternate,
    baseline_rps,
    listener_added_us,
    locust_round,
    locust_rps,
    wrk,
    wrk_round,
)
from loadlab.bench.own_app import app_instrumentation
from loadlab.bench.stats import Comparison, table
from loadlab.contract import routes
from loadlab.stack import ports, services
from loadlab.stack.servers import ServerSpec


def instrumentation_overhead(workdir: Path, seconds: float, rounds: int) -> Comparison:
    """Requests per server CPU-second on /hello, gunicorn-uvicorn x2, with the instrumentation vs the
    same app without, driven by wrk in alternate rounds."""
    with ExitStack() as stack:
        sides = []
        for instrument in ("1", "0"):
            spec = ServerSpec("async", "gunicorn-uvicorn", workers=2, port=ports.free_port())
            log = workdir / f"target-instrument-{instrument}.log"
            service = services.start_target(spec, log, env={"LOADLAB_INSTRUMENT": instrument})
            stack.callback(service.stop)
            sides.append((spec.url + routes.HELLO, service.proc.pid))
        (url_a, pid_a), (url_b, pid_b) = sides
        wrk(url_a, 2), wrk(url_b, 2)  # warm up both
        instrumented, plain = alternate(
            lambda: wrk_round(url_a, seconds, pid_a), lambda: wrk_round(url_b, seconds, pid_b), rounds
        )
    return Comparison.per_cpu_second(
        "instrumentation overhead (wrk, /hello, gunicorn-uvicorn x2)",
        0.95,
        "instrumented",
        "plain",
        instrumented,
        plain,
        "server",
    )


def _against_hello(workdir: Path, name: str, a: Callable[[str], float], b: Callable[[str], float], rounds: int):
    """a and b, each given the target's URL, measured alternately against one /hello target on
    gunicorn-uvicorn x2 (warmed up by wrk first); (a's rounds, b's rounds)."""
    spec = ServerSpec("async", "gunicorn-uvicorn", workers=2, port=ports.free_port())
    service = services.start_target(spec, workdir / f"target-{name}.log")
    try:
        wrk(spec.url + routes.HELLO, 2)
        return alternate(lambda: a(spec.url), lambda: b(spec.url), rounds)
    finally:
        service.stop()


def suite_cost(workdir: Path, seconds: float, rounds: int, users: int = 64) -> Comparison:
    """What the suite adds to Locust (exporter, warm-up, drain, scenario users) against a plain
    FastHttpUser locustfile, at saturation on the same /hello target, alternating rounds."""
    suite, plain = _against_hello(
        workdir,
        "suite-cost",
        lambda url: locust_rps(url, "hello", users, seconds, workdir),
        lambda url: baseline_rps(url, users, seconds, workdir),
        rounds,
    )
    title = f"suite's Locust additions (/hello, gunicorn-uvicorn x2, {users} users, 1 process)"
    return Comparison(title, 0.97, "suite user", "plain FastHttpUser", suite, plain)


def hdr_cost(workdir: Path, seconds: float, rounds: int, users: int = 64) -> Comparison:
    """What recording every request's latency in HdrHistograms costs Locust's throughput, per round:
    Locust's CPU per request without recording (measured at saturation on /hello, in rounds
    alternating with recording) against that plus what the recording listener adds per request
    (timed in a Locust process of its own, round by round). When Locust is what limits the load,
    throughput with ÷ without is their ratio. Measured whole, recording / not recording, Locust's CPU
    per request swings by about ±10 % between rounds on a shared 2-core VM, far more than the cost;
    the whole-Locust round ratios are printed beside the judged figure."""
    recording, plain = _against_hello(
        workdir,
        "hdr-cost",
        lambda url: locust_round(url, "hello", users, seconds, workdir),
        lambda url: locust_round(url, "hello", users, seconds, workdir, latency_log=False),
        rounds,
    )
    added = listener_added_us(rounds)  # the open model's two histograms: the dearer case
    base_us = [1e6 / r.per_cpu_s for r in plain]
    whole = [a.per_cpu_s / b.per_cpu_s for a, b in zip(recording, plain, strict=True)]
    rounds_whole = ", ".join(
        f"{a.per_cpu_s:.0f}/{b.per_cpu_s:.0f} (wall rps {a.rps:.0f}/{b.rps:.0f})"
        for a, b in zip(recording, plain, strict=True)
    )
    return Comparison(
        f"HdrHistogram recording (/hello, gunicorn-uvicorn x2, {users} users, 1 process)",
        0.97,
        "recording",
        "not recording",
        [1e6 / (base + extra) for base, extra in zip(base_us, added, strict=True)],
        [r.per_cpu_s for r in plain],  # as measured
        unit="requests per Locust CPU-second",
        context=(
            f"the listener adds {' '.join(f'{x:.2f}' for x in added)} us to Locust's "
            f"{' '.join(f'{x:.0f}' for x in base_us)} us per request; Locust measured whole, recording/not "
            f"per round: {rounds_whole}, median ratio {statistics.median(whole):.3f}"
        ),
    )


def locust_vs_wrk(workdir: Path, seconds: float, rounds: int, processes: int = 1) -> Comparison:
    """The generator's own ceiling: Locust vs wrk against the same /hello target at saturation."""
    locust, wrk_ = _against_hello(
        workdir,
        "hello",
        lambda url: locust_rps(url, "hello", 64, seconds, workdir, processes=processes),
        lambda url: wrk(url + routes.HELLO, seconds),
        rounds,
    )
    title = f"generator (/hello, gunicorn-uvicorn x2, 64 connections, {processes} Locust process(es))"
    return Comparison(title, 0.9, "locust", "wrk", locust, wrk_)


def sleep_efficiency(workdir: Path, seconds: float, rounds: int, users: int = 100) -> Comparison:
    """Closed model on /io/sleep?ms=100: measured rps against the ideal U / 0.1 s."""
    spec = ServerSpec("async", "uvicorn-workers", workers=2, port=ports.free_port())
    service = services.start_target(spec, workdir / "target-sleep.log")
    try:
        measured = [locust_rps(spec.url, "io-sleep", users, seconds, workdir) for _ in range(rounds)]
    finally:
        service.stop()
    ideal = users / 0.1
    return Comparison(
        f"io-sleep efficiency ({users} users, async uvicorn-workers x2)",
        0.95,
        "measured rps",
        "ideal U/0.1s",
        measured,
        [ideal] * rounds,
    )


BENCHMARKS = {
    "instrumentation": instrumentation_overhead,
    "suite-cost": suite_cost,
    "hdr-cost": hdr_cost,
    "generator": locust_vs_wrk,
    "generator-2p": lambda workdir, seconds, rounds: locust_vs_wrk(workdir, seconds, rounds, processes=2),
    "sleep": sleep_efficiency,
    "app-instrumentation": app_instrumentation,
}


def run(names: list[str], seconds: float, rounds: int) -> list[Comparison]:
    with tempfile.TemporaryDirectory(prefix="loadlab-bench-") as tmp:
        results = []
        for name in names:
            comparison = BENCHMARKS[name](Path(tmp), seconds, rounds)
            print(comparison.report(), flush=True)
            results.append((name, comparison))
    print()
    print(table(results), flush=True)
    return [comparison for _, comparison in results]
