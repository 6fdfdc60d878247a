"""`loadlab compose up|down|loadtest|open`: the containerized stack of docker-compose.yml, driven from
the host (the Makefile's `up`, `down`, `loadtest-compose` and `open-run`)."""

import argparse

from loadlab.commands.arguments import Parser, whole


def register(sub: argparse._SubParsersAction) -> None:
    comp = sub.add_parser("compose", help="the containerized stack of docker-compose.yml (make up, down, ...)")
    comp.set_defaults(handler=main)
    actions = comp.add_subparsers(dest="action", required=True, parser_class=Parser)
    up = actions.add_parser("up", help="build, start, wait until healthy, print the URLs")
    up.add_argument("--workers", type=whole, default=2, help="Locust worker containers (default 2)")
    up.add_argument("--without-grafana", action="store_true", help="everything but Grafana")
    down = actions.add_parser("down", help="stop the stack (the data volumes stay)")
    down.add_argument("--volumes", action="store_true", help="remove the data volumes too")
    loadtest = actions.add_parser("loadtest", help="`loadlab run` inside the stack; results to results/<run_id>")
    loadtest.add_argument("run_args", nargs="*", help="`loadlab run` options (--suite claims, --duration 20, ...)")
    opened = actions.add_parser("open", help="serve a native run's Prometheus data in the stack, for Grafana")
    opened.add_argument("run", help="a run id under results/, or a run folder")


def main(args: argparse.Namespace) -> int:
    from loadlab import compose

    if args.action == "up":
        compose.up(args.workers, args.without_grafana)
    elif args.action == "down":
        compose.down(args.volumes)
    elif args.action == "loadtest":
        return compose.loadtest(args.run_args)
    elif args.action == "open":
        compose.open_run(args.run)
    return 0
