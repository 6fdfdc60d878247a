"""The `loadlab` command: builds the parser from the subcommands' modules (loadlab.commands) and runs
the handler the arguments name. A handler's LoadlabError is one line on stderr and its status."""

import argparse
import sys

from loadlab.commands import COMMANDS
from loadlab.commands.arguments import Parser
from loadlab.errors import LoadlabError


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="loadlab", description="A load-testing lab for Python web services: run, sweep, report, compare."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def parse_args(argv: list[str], parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """`argv` parsed; `compose loadtest` passes `loadlab run` options on as they are (argparse's
    REMAINDER stops at a leading --option), checked here first so a typo fails before the stack is touched."""
    parser = parser or build_parser()
    if argv[:2] == ["compose", "loadtest"]:
        parser.parse_args(["run", *argv[2:]])
        args = parser.parse_args(argv[:2])
        args.run_args = argv[2:]
        return args
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return args.handler(args)
    except LoadlabError as exc:
        print(f"loadlab {args.command}: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
