"""Value types for loadlab's Locust options: a bad value is one line on stderr and exit status 2.

argparse would print Locust's whole usage (dozens of lines) before the error; these types exit
themselves, while the command line is parsed, so `--processes` has not forked any worker yet.
Imported only inside Locust processes.
"""

import math
import sys
from collections.abc import Callable
from typing import NoReturn

import psutil

from loadlab.errors import USAGE


def usage_error(message: str) -> NoReturn:
    sys.stderr.write(f"locust: error: {message}\n")
    sys.exit(USAGE)


def abort(message: str) -> NoReturn:
    """A usage error found once Locust runs: `--processes` has forked its workers, and Locust's exit
    would leave them waiting for a master that is gone, so stop them first."""
    for child in psutil.Process().children():
        child.terminate()
    usage_error(message)


def number(option: str, kind: type[int] | type[float], minimum: float, *, inclusive: bool = True) -> Callable:
    """The argparse `type` of `option`: a `kind` no less than (or, not inclusive, above) `minimum`."""
    bound = "at least" if inclusive else "above"

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            usage_error(f"{option} expects a number {bound} {minimum:g}, got {text!r}")
        if value < minimum or (value == minimum and not inclusive):
            usage_error(f"{option} must be {bound} {minimum:g}, got {text}")
        return value

    return parse
