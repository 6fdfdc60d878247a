"""Durations as Locust and k6 users write them: `30`, `30s`, `2m`, `1h30m`, `0.5s`, `1m30.5s`.

A bare number is seconds. Units go from hours down to seconds, each at most once.
"""

import math
import re

_DURATION = re.compile(r"(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def parse(text: str) -> float:
    """Seconds in `text`; ValueError with a readable message when it is not a duration."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        match = _DURATION.fullmatch(text)
        if not text or match is None:
            raise ValueError(f"expected a duration such as 30, 30s, 2m or 1h30m, got {text!r}") from None
        value = sum(float(n) * _SECONDS[unit] for unit, n in match.groupdict().items() if n is not None)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"expected a duration of 0 or more, got {text!r}")
    return value


def render(seconds: float) -> str:
    """`1h02m03s`, `2m05s`, `42s`: for progress lines and ETAs (whole seconds, rounded up)."""
    total = math.ceil(max(0.0, seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
