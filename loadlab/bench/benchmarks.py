"""The benchmarks `loadlab bench` runs, each a Comparison of two sides measured alternately, the
registry that names them, and `run`, which prints each one's line and then the table."""

import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from loadlab.bench.drivers import alternate, baseline_rps, locust_rps, wrk
from loadlab.bench.own_app import app_instrumentation
from loadlab.bench.stats import Comparison, table
from loadlab.contract import routes
from loadlab.stack import ports, services
from loadlab.stack.servers import ServerSpec


def instrumentation_overhead(workdir: Path, seconds: float, rounds: int) -> Comparison:
    """Throughput of /hello on gunicorn-uvicorn x2 with the instrumentation vs the same app without."""
    with ExitStack() as stack:
        urls = []
        for instrument in ("1", "0"):
            spec = ServerSpec("async", "gunicorn-uvicorn", workers=2, port=ports.free_port())
            log = workdir / f"target-instrument-{instrument}.log"
            service = services.start_target(spec, log, env={"LOADLAB_INSTRUMENT": instrument})
            stack.callback(service.stop)
            urls.append(spec.url + routes.HELLO)
        wrk(urls[0], 2), wrk(urls[1], 2)  # warm up both
        instrumented, plain = alternate(lambda: wrk(urls[0], seconds), lambda: wrk(urls[1], seconds), rounds)
    return Comparison(
        "instrumentation overhead (wrk, /hello, gunicorn-uvicorn x2)",
        0.95,
        "instrumented",
        "plain",
        instrumented,
        plain,
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
    """What recording every request's latency in HdrHistograms costs Locust, at saturation on /hello."""
    recording, plain = _against_hello(
        workdir,
        "hdr-cost",
        lambda url: locust_rps(url, "hello", users, seconds, workdir),
        lambda url: locust_rps(url, "hello", users, seconds, workdir, latency_log=False),
        rounds,
    )
    title = f"HdrHistogram recording (/hello, gunicorn-uvicorn x2, {users} users, 1 process)"
    return Comparison(title, 0.97, "recording", "not recording", recording, plain)


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
