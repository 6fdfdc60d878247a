"""The `loadlab` command: parses arguments and wires the modules that do the work."""

import argparse
import sys
from pathlib import Path

from loadlab import servers
from loadlab.errors import USAGE, LoadlabError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit status 2."""

    def error(self, message: str) -> None:
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="loadlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="serve a target in the foreground (Ctrl-C stops it and its workers)")
    serve.add_argument("--target", choices=servers.TARGETS, required=True)
    serve.add_argument("--server", choices=servers.SERVERS, default="uvicorn")
    serve.add_argument("--workers", type=_int, default=1)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_int, default=8000)
    serve.add_argument("--threads", type=_int, default=40, help="anyio thread limiter size (default 40)")
    serve.add_argument("--db-pool", type=_int, default=10, help="DB connection pool size per worker")
    serve.add_argument("--loop", choices=servers.LOOPS, default="auto")
    serve.add_argument("--metrics-dir", type=Path, help="multiprocess metrics directory (default: a fresh temp dir)")

    upstream = sub.add_parser("serve-upstream", help="serve the upstream the targets call (/delay?ms=N)")
    upstream.add_argument("--host", default="127.0.0.1")
    upstream.add_argument("--port", type=_int, default=8010)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            from loadlab.serve import serve

            spec = servers.ServerSpec(args.target, args.server, args.workers, args.host, args.port, args.loop)
            return serve(spec, args.threads, args.db_pool, args.metrics_dir)
        if args.command == "serve-upstream":
            from loadlab.serve import serve_upstream

            return serve_upstream(args.host, args.port)
    except LoadlabError as exc:
        print(f"loadlab {args.command}: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
