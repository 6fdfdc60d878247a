"""`loadlab worker --master HOST[:PORT]`: Locust workers on this machine for a run on another
(loadlab.load.remote); see docs/multi-host.md."""

import argparse

from loadlab.commands.arguments import duration, whole
from loadlab.contract.ports import LOCUST_MASTER_PORT


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="Locust workers here for a run's master on another machine")
    p.add_argument("--master", required=True, type=address, help=f"HOST[:PORT] (port {LOCUST_MASTER_PORT})")
    p.add_argument("--processes", type=whole, default=1, help="Locust worker processes here (default 1)")
    p.add_argument("--connect-timeout", dest="connect_s", type=duration, default=60.0, help="wait for the master (60s)")
    p.add_argument(
        "--idle-timeout",
        dest="idle_s",
        type=duration,
        default=60.0,
        help="the run is over when no master answers this long after the last (60s)",
    )
    p.add_argument("--logs", help="folder for the workers' logs (default: one under the temp folder)")
    p.set_defaults(handler=main)


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    if not host or (port and not port.isdigit()) or not 0 < int(port or LOCUST_MASTER_PORT) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST or HOST:PORT, got {text!r}")
    return host, int(port or LOCUST_MASTER_PORT)


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from loadlab.errors import LoadlabError
    from loadlab.load.remote import RemoteWorkers
    from loadlab.stack import procs

    if args.processes < 1:
        raise LoadlabError(f"--processes must be at least 1, got {args.processes}")
    host, port = args.master
    procs.sigterm_as_ctrl_c()
    logs = Path(args.logs) if args.logs else None
    workers = RemoteWorkers(host, port, args.processes, args.connect_s, args.idle_s, logs)
    workers.serve(lambda line: print(line, flush=True))
    return 0
