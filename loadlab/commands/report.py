"""`loadlab report`: a run's or a sweep's HTML report (loadlab.report), optionally with a comparison."""

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from loadlab.commands.compare import match_arg, threshold_arg
    from loadlab.tuning.comparison import RUN_MATCH

    p = sub.add_parser("report", help="write a run's or a sweep's HTML report (plots inlined) and its PNGs")
    p.add_argument("folder", help="a run or sweep folder, or its id under --results")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default results/)")
    p.add_argument("--out", type=Path, help="the report's file (default <folder>/report.html; PNGs beside it)")
    p.add_argument(
        "--compare",
        metavar="A",
        help="add a section comparing this run (or sweep) with A, as `loadlab compare A <folder>` does",
    )
    p.add_argument(
        "--threshold",
        type=threshold_arg,
        help="with --compare: relative change beyond which a difference may count (default 0.1: 10 %%)",
    )
    p.add_argument(
        "--match",
        type=match_arg,
        help=f"with --compare: fields that pair points (default {','.join(RUN_MATCH)})",
    )
    p.add_argument(
        "--history",
        action="store_true",
        help="add a section with this run's series over every run and sweep beside it, change points marked",
    )
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from loadlab import report
    from loadlab.errors import USAGE, LoadlabError

    folder = Path(args.folder)
    if not folder.exists() and (args.results / args.folder).exists():
        folder = args.results / args.folder
    extra, summary = [], ""
    if args.compare is None:
        if args.threshold is not None or args.match is not None:
            raise LoadlabError("--threshold and --match go with --compare A", USAGE)
    else:
        import dataclasses

        from loadlab.report.compare_section import report_section
        from loadlab.tuning.compare import THRESHOLD
        from loadlab.tuning.comparison import compare_sides, open_side

        report.kind(folder)  # what is wrong with the report's own folder first, in the report's words
        b = dataclasses.replace(open_side(args.results, str(folder)), name=str(args.folder))
        a = open_side(args.results, args.compare)
        threshold = THRESHOLD if args.threshold is None else args.threshold
        result = compare_sides(a, b, threshold, args.match)
        extra.append(report_section(result))
        summary = result.summary_line()
    history = None
    if args.history:
        from loadlab.results.history import read
        from loadlab.tuning.history import analyse

        report.kind(folder)
        found = read(folder.resolve().parent)  # the runs and sweeps beside this one
        for warning in found.warnings:
            print(warning, file=sys.stderr)
        history = analyse(found)
    out = report.build(folder, args.out, extra, history)
    print(f"report: {out}  (figures as PNG in {report.png_dir(out)}/)")
    if summary:
        print(f"compared with {args.compare}: {summary}")
    if history is not None:
        print(f"history: {history.summary_line()}")
    return 0
