"""Keeping generator and target apart (`loadlab run --pin auto|on|off`).

Pinned, a run's CPUs (those loadlab itself may run on) are split in two halves: the target's side
gets the first half (rounded up) and runs the target (its server and workers), the upstream and a
private PostgreSQL; the generator's side gets the rest and runs Locust (and its processes) and
Prometheus, which measures. On 2 CPUs: the target on CPU 0, the generator on CPU 1. Each process
gets its side's CPUs before exec (`procs.on_cpus`), so its children and threads inherit them.
loadlab itself is not pinned: it mostly waits.

"auto" pins with AUTO_MIN_CPUS CPUs or more; below that the generator and the target share every
CPU, as unpinned. "on" pins with 2 or more and refuses fewer; "off" never pins.
"""

import os
from collections.abc import Collection
from contextlib import AbstractContextManager

from loadlab.errors import USAGE, LoadlabError
from loadlab.stack import procs

CHOICES = ("auto", "on", "off")
AUTO_MIN_CPUS = 4
TARGET, GENERATOR = "target", "generator"


def split(cpus: Collection[int]) -> dict[str, list[int]]:
    """The target's half (the first, rounded up) and the generator's (the rest)."""
    ordered = sorted(cpus)
    half = (len(ordered) + 1) // 2
    return {TARGET: ordered[:half], GENERATOR: ordered[half:]}


def resolve(pin: str, allowed: Collection[int] | None = None) -> dict[str, list[int]]:
    """Each side's CPUs for `pin`, or {} when the run is not pinned. `allowed`: the CPUs this process
    may run on (by default its own affinity)."""
    if pin not in CHOICES:
        raise LoadlabError(f"unknown --pin {pin!r}; valid: {', '.join(CHOICES)}")
    cpus = sorted(os.sched_getaffinity(0) if allowed is None else allowed)
    if pin == "off" or (pin == "auto" and len(cpus) < AUTO_MIN_CPUS):
        return {}
    if len(cpus) < 2:
        raise LoadlabError(
            f"--pin on needs 2 CPUs or more to keep generator and target apart; loadlab may run on "
            f"{len(cpus)} (CPU {', '.join(map(str, cpus))}): use --pin off",
            USAGE,
        )
    return split(cpus)


def side(cpus: dict[str, list[int]], name: str) -> AbstractContextManager[None]:
    """Processes started inside run on side `name`'s CPUs (anywhere when the run is not pinned)."""
    return procs.on_cpus(cpus.get(name))


def describe(cpus: dict[str, list[int]]) -> str:
    if not cpus:
        return "not pinned"
    return f"target on CPU {_cpu_list(cpus[TARGET])}, generator on CPU {_cpu_list(cpus[GENERATOR])}"


def _cpu_list(cpus: list[int]) -> str:
    return ",".join(map(str, cpus))
