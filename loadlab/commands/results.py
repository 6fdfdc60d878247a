"""`loadlab show` and `loadlab prometheus`: a finished (or interrupted) run again, as a table or as its
Prometheus data."""

import argparse
from pathlib import Path

from loadlab.commands.arguments import whole


def register(sub: argparse._SubParsersAction) -> None:
    show = sub.add_parser("show", help="print a finished (or interrupted) run again")
    show.add_argument("run_id")
    show.add_argument("--results", type=Path, default=Path("results"), help="results folder (default results/)")
    show.set_defaults(handler=show_run)

    prom = sub.add_parser("prometheus", help="serve a finished run's Prometheus data again (Ctrl-C stops it)")
    prom.add_argument("run_id", help="a run id under --results, or the path of a run folder")
    prom.add_argument("--results", type=Path, default=Path("results"), help="results folder (default results/)")
    prom.add_argument("--port", type=whole, help="port on 127.0.0.1 (default 9091, or a free one)")
    prom.set_defaults(handler=serve_prometheus)


def show_run(args: argparse.Namespace) -> int:
    from loadlab.console.table import console, show
    from loadlab.results.folder import RunFolder

    show(RunFolder.open(args.results, args.run_id).summary(), console())
    return 0


def serve_prometheus(args: argparse.Namespace) -> int:
    from loadlab.results.folder import RunFolder
    from loadlab.stack import reopen

    return reopen.serve(RunFolder.open(args.results, args.run_id), args.port)
