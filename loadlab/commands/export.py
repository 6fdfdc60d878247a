"""`loadlab export <run> --format hdr|csv`: a run's latency histograms for analysis elsewhere."""

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="a run's latency histograms as an HdrHistogram log or as CSV")
    p.add_argument("run_id", help="a run id under --results, or the path of a run folder")
    p.add_argument(
        "--format", choices=("hdr", "csv"), required=True, help="hdr: HdrHistogram's log; csv: a row a bucket"
    )
    p.add_argument("--out", type=Path, help="write here (default: standard output)")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default results/)")
    p.set_defaults(handler=export)


def export(args: argparse.Namespace) -> int:
    from loadlab.results import export as ex
    from loadlab.results.folder import RunFolder, write_text

    found = ex.logs(RunFolder.open(args.results, args.run_id))
    for problem in found.problems:
        print(f"export: skipped {problem}", file=sys.stderr)
    text = ex.hdr(found.found) if args.format == "hdr" else ex.csv_text(found.found)
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_text(args.out, text)
    return 1 if found.problems else 0
