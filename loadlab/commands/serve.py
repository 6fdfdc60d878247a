"""`loadlab serve` and `loadlab serve-upstream`: one target, or the upstream, in the foreground."""

import argparse
from pathlib import Path

from loadlab.commands.arguments import whole
from loadlab.commands.own_options import add_app_options, app_settings_given
from loadlab.contract.ports import TARGET_METRICS_PORT, TARGET_PORT, UPSTREAM_PORT
from loadlab.contract.scenarios import TARGETS
from loadlab.contract.settings import DEFAULT_DB_POOL, DEFAULT_THREADS
from loadlab.errors import LoadlabError
from loadlab.stack import servers


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a target, or your app, in the foreground (Ctrl-C stops it and its workers)")
    p.add_argument("--target", choices=TARGETS, help="one of the lab's targets (or --app)")
    p.add_argument("--server", choices=servers.SERVERS, default="uvicorn")
    p.add_argument("--workers", type=whole, default=1)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=whole, default=TARGET_PORT)
    p.add_argument("--threads", type=whole, default=DEFAULT_THREADS, help=f"thread limiter size ({DEFAULT_THREADS})")
    p.add_argument("--db-pool", type=whole, default=DEFAULT_DB_POOL, help=f"DB pool per worker ({DEFAULT_DB_POOL})")
    p.add_argument("--loop", choices=servers.LOOPS, default="auto")
    p.add_argument(
        "--metrics-port",
        type=whole,
        help="also serve /metrics here, from a thread in every worker: a blocked event loop cannot block it "
        f"(scrape this one; the compose stack uses {TARGET_METRICS_PORT}; default: only /metrics on --port)",
    )
    p.add_argument("--metrics-dir", type=Path, help="multiprocess metrics directory (default: a fresh temp dir)")
    add_app_options(p)
    p.set_defaults(handler=serve)

    up = sub.add_parser("serve-upstream", help="serve the upstream the targets call (/delay?ms=N)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=whole, default=UPSTREAM_PORT)
    up.set_defaults(handler=serve_upstream)


def serve(args: argparse.Namespace) -> int:
    from loadlab.stack.serve import serve

    if args.app:
        return serve_app(args)
    if not args.target:
        raise LoadlabError("say what to serve: --target sync|async, or --app package.module:attr")
    if given := app_settings_given(args):
        raise LoadlabError(f"{', '.join(given)} go with --app")
    spec = servers.ServerSpec(
        args.target, args.server, args.workers, args.host, args.port, args.loop, metrics_port=args.metrics_port
    )
    return serve(spec, args.threads, args.db_pool, args.metrics_dir)


def serve_app(args: argparse.Namespace) -> int:
    """A user's app, wrapped in loadlab's instrumentation; /metrics on the metrics port only."""
    from loadlab.config.own import app_under_test
    from loadlab.stack import ports
    from loadlab.stack.serve import serve

    if args.target:
        raise LoadlabError("--app and --target together: serve one of them")
    app = app_under_test(args, args.server)
    spec = servers.ServerSpec(
        app.name,
        args.server,
        args.workers,
        args.host,
        args.port,
        args.loop,
        metrics_port=args.metrics_port or ports.free_port(),
        wrapped=True,
        threads=args.threads,
    )
    return serve(spec, args.threads, args.db_pool, args.metrics_dir, app.env(), spec.url + app.health)


def serve_upstream(args: argparse.Namespace) -> int:
    from loadlab.stack.serve import serve_upstream

    return serve_upstream(args.host, args.port)
