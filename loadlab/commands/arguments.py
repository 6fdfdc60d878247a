"""What every command's parser shares: one-line usage errors, and the types of its options."""

import argparse
import math

from loadlab import durations
from loadlab.errors import USAGE


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit status 2."""

    def error(self, message: str) -> None:
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # float() takes "nan" and "inf": no option means them
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    return value


def duration(text: str) -> float:
    """`30`, `30s`, `2m`, `1h30m`, as Locust's -t takes them."""
    try:
        return durations.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def wholes(text: str) -> list[int]:
    """`1,2,4`: a comma-separated list of whole numbers."""
    return [whole(part) for part in text.split(",") if part.strip()]


def names(text: str) -> list[str]:
    """`a,b`: a comma-separated list of names."""
    return [part.strip() for part in text.split(",") if part.strip()]
