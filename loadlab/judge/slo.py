"""SLOs like k6's thresholds: limits per scenario in a TOML file; a point that breaks one fails the run.

[default]                 # applies to every scenario
error_ratio = 0.01        # failures / requests, at most
[scenario.io-sleep]
p99_ms = 1000             # any of p50_ms, p95_ms, p99_ms, max_ms, p99_scheduled_ms: at most
rps = 50                  # rps_min: at least
"""

import tomllib
from pathlib import Path
from typing import Any

from loadlab import REPO
from loadlab.errors import LoadlabError

DEFAULT_FILE = REPO / "slo.toml"
AT_MOST = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "p99_scheduled_ms", "error_ratio")
AT_LEAST = ("rps_min",)


def load(path: Path) -> dict[str, dict[str, float]]:
    """{scenario or "default": {limit: value}}, validated."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LoadlabError(f"cannot read SLO file {path}: {exc}") from None
    limits = {"default": data.get("default", {}), **data.get("scenario", {})}
    for scope, values in limits.items():
        for key, value in values.items():
            if key not in AT_MOST + AT_LEAST or not isinstance(value, int | float):
                raise LoadlabError(
                    f"{path}: [{scope}] {key} = {value!r} is not a limit; known: {', '.join(AT_MOST + AT_LEAST)}"
                )
    return limits


def check(entry: dict[str, Any], limits: dict[str, dict[str, float]]) -> list[str]:
    """The limits `entry` breaks, each as one readable phrase; [] when it meets them all."""
    applicable = {**limits.get("default", {}), **limits.get(entry["scenario"], {})}
    measured = {
        **entry,
        "error_ratio": entry["failures"] / entry["requests"] if entry["requests"] else 1.0,
        "rps_min": entry["rps"],
    }
    broken = []
    for key, limit in applicable.items():
        value = measured.get(key)
        if value is None:
            continue
        if (key in AT_MOST and value > limit) or (key in AT_LEAST and value < limit):
            broken.append(f"{key} {value:.3g} {'>' if key in AT_MOST else '<'} {limit:g}")
    if entry["requests"] == 0:
        broken.append("no request completed")
    return broken
