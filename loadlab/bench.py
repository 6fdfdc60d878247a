"""`loadlab bench`: speed goals measured side by side in one run, printed as ratios.

The machine is shared and noisy, so no absolute figure is trusted: the two sides of a ratio run
alternately, several rounds, against servers started together. Each round measures both sides back
to back, so its ratio is what that round says; the figure reported is the median of the per-round
ratios with a distribution-free interval for it (`median_interval`), and a goal is judged on that
interval: met, missed, or undetermined when the interval straddles it. (The ratio of the two sides'
medians, reported before, mixes rounds: on a machine whose speed drifts between rounds it can differ
from every round, e.g. rounds 1.02, 0.99, 0.93, 0.93, 0.95 gave 1.020.)
"""

import math
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from loadlab import REPO
from loadlab.contract import routes
from loadlab.contract.scenarios import SCENARIOS
from loadlab.errors import LoadlabError
from loadlab.load.command import LoadSpec, baseline_command, command
from loadlab.results.locust_csv import read_locust_row
from loadlab.stack import ports, services
from loadlab.stack.servers import ServerSpec

_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")


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


@dataclass
class Comparison:
    name: str
    goal: float
    a_label: str
    b_label: str
    a: list[float]
    b: list[float]

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
            f"rps per round {rounds}"
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


def wrk(url: str, seconds: float, connections: int = 64, threads: int = 2) -> float:
    """Requests per second that wrk measured against `url` (bounded by `seconds`)."""
    if shutil.which("wrk") is None:
        raise LoadlabError("wrk not found; install it with: apt-get install wrk")
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{math.ceil(seconds)}s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    match = _RPS.search(out)
    if match is None:
        raise LoadlabError(f"could not read wrk's output: {out.strip()[:200]}")
    return float(match.group(1))


def alternate(a: Callable[[], float], b: Callable[[], float], rounds: int) -> tuple[list[float], list[float]]:
    """Run a and b alternately, `rounds` times each, so drift on the machine hits both alike."""
    results_a, results_b = [], []
    for i in range(rounds):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        x, y = first(), second()
        results_a.append(x if first is a else y)
        results_b.append(y if first is a else x)
    return results_a, results_b


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


def _locust_rps(cmd: list[str], prefix: Path, route: str, timeout: float) -> float:
    subprocess.run(cmd, cwd=REPO, capture_output=True, timeout=timeout, check=False)
    return read_locust_row(prefix, route)["rps"] or 0.0


def locust_rps(
    url: str,
    scenario: str,
    users: int,
    seconds: float,
    workdir: Path,
    warmup: float = 2,
    processes: int = 1,
    latency_log: bool = True,
) -> float:
    """Requests per second of the suite's Locust setup (closed model) after a warm-up; `latency_log`:
    with every request's latency recorded in HdrHistograms, as a run does."""
    prefix = workdir / f"locust-{scenario}-{users}-{time.monotonic_ns()}"
    load = LoadSpec("closed", users=users, processes=processes)
    cmd = command(
        load,
        url,
        scenario,
        seconds + warmup,
        warmup_s=warmup,
        csv_prefix=prefix,
        prometheus_port=ports.free_port(),  # the exporter serves, as in a run (nothing scrapes it here)
        stop_timeout_s=10,
        master_port=ports.free_port() if processes > 1 else None,
        latency_log=prefix.with_suffix(".hlog") if latency_log else None,
    )
    return _locust_rps(cmd, prefix, SCENARIOS[scenario].route, seconds + warmup + 90)


def baseline_rps(url: str, users: int, seconds: float, workdir: Path, warmup: float = 2) -> float:
    """Requests per second of a plain FastHttpUser on /hello (whole run: the baseline has no warm-up reset)."""
    prefix = workdir / f"locust-baseline-{users}-{time.monotonic_ns()}"
    cmd = baseline_command(url, users, seconds + warmup, prefix)
    return _locust_rps(cmd, prefix, routes.HELLO, seconds + warmup + 90)


def suite_cost(workdir: Path, seconds: float, rounds: int, users: int = 64) -> Comparison:
    """What the suite adds to Locust (exporter, warm-up, drain, scenario users) against a plain
    FastHttpUser locustfile, at saturation on the same /hello target, alternating rounds."""
    spec = ServerSpec("async", "gunicorn-uvicorn", workers=2, port=ports.free_port())
    service = services.start_target(spec, workdir / "target-suite-cost.log")
    try:
        wrk(spec.url + routes.HELLO, 2)
        suite, plain = alternate(
            lambda: locust_rps(spec.url, "hello", users, seconds, workdir),
            lambda: baseline_rps(spec.url, users, seconds, workdir),
            rounds,
        )
    finally:
        service.stop()
    return Comparison(
        f"suite's Locust additions (/hello, gunicorn-uvicorn x2, {users} users, 1 process)",
        0.97,
        "suite user",
        "plain FastHttpUser",
        suite,
        plain,
    )


def hdr_cost(workdir: Path, seconds: float, rounds: int, users: int = 64) -> Comparison:
    """What recording every request's latency in HdrHistograms costs Locust, at saturation on /hello."""
    spec = ServerSpec("async", "gunicorn-uvicorn", workers=2, port=ports.free_port())
    service = services.start_target(spec, workdir / "target-hdr-cost.log")
    try:
        wrk(spec.url + routes.HELLO, 2)
        recording, plain = alternate(
            lambda: locust_rps(spec.url, "hello", users, seconds, workdir),
            lambda: locust_rps(spec.url, "hello", users, seconds, workdir, latency_log=False),
            rounds,
        )
    finally:
        service.stop()
    return Comparison(
        f"HdrHistogram recording (/hello, gunicorn-uvicorn x2, {users} users, 1 process)",
        0.97,
        "recording",
        "not recording",
        recording,
        plain,
    )


def locust_vs_wrk(workdir: Path, seconds: float, rounds: int, processes: int = 1) -> Comparison:
    """The generator's own ceiling: Locust vs wrk against the same /hello target at saturation."""
    spec = ServerSpec("async", "gunicorn-uvicorn", workers=2, port=ports.free_port())
    service = services.start_target(spec, workdir / "target-hello.log")
    try:
        wrk(spec.url + routes.HELLO, 2)
        locust, wrk_ = alternate(
            lambda: locust_rps(spec.url, "hello", 64, seconds, workdir, processes=processes),
            lambda: wrk(spec.url + routes.HELLO, seconds),
            rounds,
        )
    finally:
        service.stop()
    return Comparison(
        f"generator (/hello, gunicorn-uvicorn x2, 64 connections, {processes} Locust process(es))",
        0.9,
        "locust",
        "wrk",
        locust,
        wrk_,
    )


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
