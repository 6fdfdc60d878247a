"""`loadlab compare A B`: did run (or sweep) B regress against A? One verdict per point and figure.

    loadlab compare <run A> <run B> [--threshold 0.1] [--match target,scenario] [--results DIR]
                    [--calibration FILE|none] [--json]

A and B are run ids under --results (default results/) or paths of results folders; two runs or
two sweeps (a folder with sweep.json), not one of each. How points are paired and judged:
loadlab.tuning.comparison and run_comparison; single runs need this machine's noise floor from
`loadlab calibrate` (default <results>/calibration.json); the table: loadlab.console.compare_table;
`--json` prints `Result.to_dict()`. The same comparison is a section of B's report with
`loadlab report B --compare A` (loadlab.commands.report, loadlab.report.compare_section).

Exit status, for CI: 0 when nothing regressed (improvement, noise and not enough data all pass),
1 when B regressed on at least one figure, 2 for bad input (a missing run, a folder that is not
one, a run against a sweep, no point in common, different --repeat, a threshold outside (0, 1), a
calibration of another machine or suite), with one line on stderr. E.g. in a pipeline:

    loadlab run --scenario io-sleep --run-id candidate ...
    loadlab compare baseline candidate --threshold 0.15   # fails the job on status 1 or 2
"""

import argparse
import sys
from pathlib import Path

from loadlab.errors import LoadlabError
from loadlab.results.folder import DEFAULT_ROOT
from loadlab.tuning.compare import THRESHOLD
from loadlab.tuning.comparison import RUN_MATCH, check_threshold, parse_match


def threshold_arg(text: str) -> float:
    try:
        return check_threshold(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    except LoadlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def match_arg(text: str) -> tuple[str, ...]:
    try:
        return parse_match(text)
    except LoadlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="did run (or sweep) B regress against A? exit 1 when it did (for CI)",
        description="Each point's throughput and latency, B against A; exit 0 no regression, 1 regressed, 2 bad input.",
    )
    p.add_argument("a", metavar="A", help="the baseline: a run id under --results, or a run or sweep folder")
    p.add_argument("b", metavar="B", help="the candidate, as A")
    p.add_argument("--results", type=Path, default=DEFAULT_ROOT, help="results folder (default results/)")
    p.add_argument(
        "--threshold",
        type=threshold_arg,
        default=THRESHOLD,
        help="relative change beyond which a difference may count (default 0.1: 10 %%)",
    )
    p.add_argument(
        "--match",
        type=match_arg,
        help=f"fields that pair points (default {','.join(RUN_MATCH)}; sweeps: the whole configuration)",
    )
    p.add_argument(
        "--calibration",
        type=Path,
        help="this machine's noise floor for single runs (default <results>/calibration.json from "
        "`loadlab calibrate`; 'none' to judge without one)",
    )
    p.add_argument("--json", action="store_true", help="print the comparison as JSON instead of a table")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """0: nothing regressed; 1: B regressed; 2: bad input, one line on stderr."""
    from loadlab.results.calibration import default_path
    from loadlab.tuning.comparison import compare_sides, open_side

    try:
        a, b = open_side(args.results, args.a), open_side(args.results, args.b)
        calibration = args.calibration or default_path(args.results)
        result = compare_sides(a, b, args.threshold, args.match, calibration)
    except LoadlabError as exc:
        print(f"loadlab compare: error: {exc}", file=sys.stderr)
        return exc.status
    if args.json:
        import json

        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        from loadlab.console.compare_table import show
        from loadlab.console.table import console

        show(result, console())
    return result.status
