"""`loadlab history`: every stored run and sweep as series over time, with the change points Apache
Otava finds in them.

    loadlab history [--results DIR] [--min-runs K] [--window N] [--max-pvalue P] [--min-magnitude M]

Series and entries: loadlab.results.history; the analysis: loadlab.tuning.history; the printout:
loadlab.console.history_table. A summary that cannot be read is one warning on stderr; the rest are
still read. Exit status, for CI: 0 when the newest run is in no regression, 1 when it is (the latest
change point of a figure of a series it measured went the bad way), 2 for bad input (no such
folder, no run in it, an option out of range), with one line on stderr.
"""

import argparse
import sys
from pathlib import Path

from loadlab.commands.arguments import number, whole
from loadlab.results.folder import DEFAULT_ROOT
from loadlab.tuning.history import MAX_PVALUE, MIN_MAGNITUDE, MIN_RUNS, WINDOW, Options  # no numpy, no Otava


def _at_least(low: int, kind: str):
    def parse(text: str) -> int:
        value = whole(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"{kind} must be at least {low}, got {value}")
        return value

    return parse


def _fraction(text: str) -> float:
    value = number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def _magnitude(text: str) -> float:
    value = number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more (0.1 is 10 %), got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history",
        help="every stored run and sweep over time, with Apache Otava's change points; exit 1 on a regression",
        description="Series of runs over time with their change points; exit 0 the newest run is in no "
        "regression, 1 it is, 2 bad input.",
    )
    p.add_argument("--results", type=Path, default=DEFAULT_ROOT, help="results folder (default results/)")
    p.add_argument(
        "--min-runs", type=_at_least(3, "--min-runs"), help=f"runs a series needs to be analysed (default {MIN_RUNS})"
    )
    p.add_argument(
        "--window", type=_at_least(2, "--window"), help=f"Otava's sliding window, in runs (default {WINDOW})"
    )
    p.add_argument("--max-pvalue", type=_fraction, help=f"Otava's significance threshold (default {MAX_PVALUE:g})")
    p.add_argument(
        "--min-magnitude",
        type=_magnitude,
        help=f"smallest relative change that counts (default {MIN_MAGNITUDE:g}: {MIN_MAGNITUDE * 100:.0f} %%)",
    )
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from loadlab.console.history_table import show
    from loadlab.console.table import console
    from loadlab.errors import LoadlabError
    from loadlab.results import history
    from loadlab.tuning.history import analyse

    found = history.read(args.results)
    for warning in found.warnings:
        print(warning, file=sys.stderr)
    if not found.sources:
        raise LoadlabError(f"no run or sweep in {args.results}: nothing to follow over time")
    analysis = analyse(found, options(args))
    show(analysis, console())
    return analysis.status


def options(args: argparse.Namespace) -> Options:
    """The analysis' options from the command line, its defaults where none was given."""
    import dataclasses

    given = {
        "min_runs": args.min_runs,
        "window_len": args.window,
        "max_pvalue": args.max_pvalue,
        "min_magnitude": args.min_magnitude,
    }
    return dataclasses.replace(Options(), **{k: v for k, v in given.items() if v is not None})
