"""`loadlab serve` and `loadlab serve-upstream`: one target, or the upstream, in the foreground."""

import argparse
from pathlib import Path

from loadlab.commands.arguments import whole
from loadlab.contract.ports import TARGET_METRICS_PORT, TARGET_PORT, UPSTREAM_PORT
from loadlab.contract.scenarios import TARGETS
from loadlab.contract.settings import DEFAULT_DB_POOL, DEFAULT_THREADS
from loadlab.stack import servers


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a target in the foreground (Ctrl-C stops it and its workers)")
    p.add_argument("--target", choices=TARGETS, required=True)
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
    p.set_defaults(handler=serve)

    up = sub.add_parser("serve-upstream", help="serve the upstream the targets call (/delay?ms=N)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=whole, default=UPSTREAM_PORT)
    up.set_defaults(handler=serve_upstream)


def serve(args: argparse.Namespace) -> int:
    from loadlab.stack.serve import serve

    spec = servers.ServerSpec(
        args.target, args.server, args.workers, args.host, args.port, args.loop, metrics_port=args.metrics_port
    )
    return serve(spec, args.threads, args.db_pool, args.metrics_dir)


def serve_upstream(args: argparse.Namespace) -> int:
    from loadlab.stack.serve import serve_upstream

    return serve_upstream(args.host, args.port)
