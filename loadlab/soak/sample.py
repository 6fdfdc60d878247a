"""One checkpoint of a soak: what psutil sees of every process tree the soak started, and what
Prometheus saw over the checkpoint's window (PromQL from loadlab.queries only)."""

import time
from dataclasses import dataclass

import psutil

from loadlab import queries
from loadlab.soak.record import Checkpoint
from loadlab.stack.prometheus import SELF_JOB, TARGETS_JOB, Prometheus

MB = 1e6


@dataclass(frozen=True)
class Watched:
    """A point of the soak: its id, the roots of its target's and its Locust's process trees, where
    Prometheus scrapes its target, and the selector of its series."""

    point: str
    target_pid: int
    locust_pid: int
    metrics_address: str
    sel: str


def tree(pid: int) -> list[psutil.Process]:
    """The process and every descendant still running (a server's supervisor and workers)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def process_values(owner: str, proc: psutil.Process) -> dict[str, float]:
    """RSS, open file descriptors and threads of one process, keyed `<kind> <owner> <pid>`."""
    try:
        with proc.oneshot():
            rss, fds, threads = proc.memory_info().rss / MB, proc.num_fds(), proc.num_threads()
    except psutil.Error:  # gone meanwhile
        return {}
    name = f"{owner} {proc.pid}"
    return {f"rss_mb {name}": rss, f"fds {name}": float(fds), f"threads {name}": float(threads)}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000 * seconds


def checkpoint(watched: list[Watched], prometheus: Prometheus, window_s: float, elapsed_s: float) -> Checkpoint:
    at = time.time()
    window = f"{max(1, round(window_s))}s"
    values: dict[str, float | None] = {}
    late: dict[str, float | None] = {}
    for w in watched:
        for role, root in (("target", w.target_pid), ("locust", w.locust_pid)):
            for proc in tree(root):
                values.update(process_values(f"{w.point} {role}", proc))
        q = prometheus.scalar
        values[f"scrape_ms {w.point}"] = _ms(q(queries.scrape_duration(TARGETS_JOB, w.metrics_address, window), at))
        values[f"p99_ms {w.point}"] = _ms(q(queries.client_latency_quantile(0.99, w.sel, window), at))
        values[f"error_ratio {w.point}"] = q(queries.client_error_ratio(w.sel, window), at)
        late[w.point] = q(queries.late_share(w.sel, window), at)
    values["head_series prometheus"] = prometheus.scalar(queries.head_series(SELF_JOB), at)
    return Checkpoint(at, elapsed_s, values, late)


def summary_line(c: Checkpoint, number: int, of: int) -> str:
    """One line per checkpoint for the console."""

    def of_kind(kind: str, owner: str = "") -> list[float]:
        return [v for k, v in c.values.items() if k.startswith(kind + " ") and owner in k and v is not None]

    rss_t, rss_l = sum(of_kind("rss_mb", " target ")), sum(of_kind("rss_mb", " locust "))
    scrape, p99 = of_kind("scrape_ms"), of_kind("p99_ms")
    late = [v for v in c.late.values() if v is not None]
    head = c.values.get("head_series prometheus")
    return (
        f"checkpoint {number}/{of} at {c.elapsed_s / 60:.1f} min: RSS targets {rss_t:.0f} MB, Locust {rss_l:.0f} MB; "
        f"fds {sum(of_kind('fds')):.0f}; scrape max {max(scrape, default=0):.1f} ms; "
        f"p99 max {max(p99, default=0):.0f} ms; errors max {100 * max(of_kind('error_ratio'), default=0):.2f} %; "
        f"late max {100 * max(late, default=0):.2f} %; head series {head or 0:.0f}"
    )
