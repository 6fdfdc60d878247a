"""`loadlab generate` and `loadlab bench`: the rules and dashboards written from code, and the
side-by-side benchmarks."""

import argparse

from loadlab.commands.arguments import duration, whole
from loadlab.errors import LoadlabError


def register(sub: argparse._SubParsersAction) -> None:
    generate = sub.add_parser(
        "generate", help="write the Prometheus rules and Grafana dashboards from code (make dashboards)"
    )
    generate.set_defaults(handler=write_generated)

    bench = sub.add_parser("bench", help="side-by-side benchmarks that print ratios")
    bench.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    bench.add_argument("--seconds", type=duration, default=8.0, help="length of each measurement (8, 8s)")
    bench.add_argument("--rounds", type=whole, default=3, help="alternating rounds per side")
    bench.set_defaults(handler=run_benchmarks)


def write_generated(args: argparse.Namespace) -> int:
    from loadlab import generate

    for path in generate.write_all():
        print(f"wrote {path}")
    return 0


def run_benchmarks(args: argparse.Namespace) -> int:
    from loadlab.bench.benchmarks import BENCHMARKS, run

    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        raise LoadlabError(f"unknown benchmark {', '.join(unknown)}; valid: {', '.join(BENCHMARKS)}")
    run(args.names or list(BENCHMARKS), args.seconds, args.rounds)
    return 0
