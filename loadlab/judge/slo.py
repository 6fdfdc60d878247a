"""SLOs like k6's thresholds: limits per scenario in a TOML file; a point that breaks one fails the run.

[default]                 # applies to every scenario
error_ratio = 0.01        # failures / requests, at most
[scenario.io-sleep]
p99_ms = 1000             # any of p50_ms, p95_ms, p99_ms, max_ms, p99_scheduled_ms: at most
rps_min = 50              # at least
"""

import math
import tomllib
from pathlib import Path

from loadlab import REPO
from loadlab.contract.scenarios import SCENARIOS
from loadlab.errors import LoadlabError
from loadlab.results.point import PointResult

DEFAULT_FILE = REPO / "slo.toml"
AT_MOST = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "p99_scheduled_ms", "error_ratio")
AT_LEAST = ("rps_min",)
TABLES = ("default", "scenario")

Limits = dict[str, dict[str, float]]  # {"default" or a scenario name: {limit: value}}


def load(path: Path) -> Limits:
    """The limits of an SLO file, validated: one line naming the file and the key on any mistake."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, ValueError) as exc:  # ValueError: TOMLDecodeError, or bytes that are not UTF-8
        raise LoadlabError(f"cannot read SLO file {path}: {exc}") from None
    for key, value in data.items():
        if key not in TABLES or not isinstance(value, dict):
            raise LoadlabError(f"{path}: unknown table [{_shown(key)}]; an SLO file has [default] and [scenario.NAME]")
    scenarios = data.get("scenario", {})
    for name, values in scenarios.items():
        if not isinstance(values, dict):
            raise LoadlabError(f"{path}: [scenario.{_shown(name)}] should be a table of limits, got {values!r}")
        if name not in SCENARIOS:
            raise LoadlabError(
                f"{path}: unknown scenario {name!r} in [scenario.{_shown(name)}]; known: {', '.join(SCENARIOS)}"
            )
    limits = {"default": data.get("default", {}), **scenarios}
    for scope, values in limits.items():
        for key, value in values.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if key not in AT_MOST + AT_LEAST or not number or not 0 <= value < math.inf:  # nan fails too
                raise LoadlabError(
                    f"{path}: [{scope}] {_shown(key)} = {value!r} is not a limit (a number of 0 or more); "
                    f"known: {', '.join(AT_MOST + AT_LEAST)}"
                )
    return limits


def _shown(name: str) -> str:
    """A key as the file has it, or quoted when it holds a line break or another unprintable character."""
    return name if name.isprintable() else repr(name)


def applicable(limits: Limits, scenario: str) -> dict[str, float]:
    """The limits that hold for `scenario`: the defaults, overridden by its own."""
    return {**limits.get("default", {}), **limits.get(scenario, {})}


def check(result: PointResult, limits: Limits) -> list[str]:
    """The limits `result` breaks, each as one readable phrase; [] when it meets them all."""
    measured = {
        "p50_ms": result.p50_ms,
        "p95_ms": result.p95_ms,
        "p99_ms": result.p99_ms,
        "max_ms": result.max_ms,
        "p99_scheduled_ms": result.p99_scheduled_ms,
        "error_ratio": result.error_ratio,
        "rps_min": result.rps,
    }
    broken = []
    for key, limit in applicable(limits, result.scenario).items():
        value = measured[key]
        if value is None:
            continue
        if (key in AT_MOST and value > limit) or (key in AT_LEAST and value < limit):
            broken.append(f"{key} {value:.3g} {'>' if key in AT_MOST else '<'} {limit:g}")
    if result.requests == 0:
        broken.append("no request completed")
    return broken
