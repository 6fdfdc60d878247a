"""`loadlab soak` (make soak): a long constant open-model load on both targets over a mix of
scenarios, a checkpoint every minute, and a verdict by trend (loadlab.soak)."""

import argparse
import sys

from loadlab.commands.arguments import duration, names, number, whole
from loadlab.contract.scenarios import SCENARIOS, TARGETS
from loadlab.errors import USAGE, LoadlabError
from loadlab.stack import servers

DEFAULT_SCENARIOS = ("io-sleep", "io-db", "io-http")
MIN_CHECKPOINT_S = 5.0  # Prometheus scrapes every second: a window needs a few scrapes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "soak", help="a long constant load on both targets, a checkpoint every minute, a verdict by trend (make soak)"
    )
    p.add_argument("--duration", dest="duration_s", type=duration, default=1800.0, help="how long (default 30m)")
    p.add_argument(
        "--checkpoint", dest="checkpoint_s", type=duration, default=60.0, help="time between checkpoints (default 1m)"
    )
    p.add_argument("--rate", type=number, default=10.0, help="requests per second per target and scenario (default 10)")
    p.add_argument("--scenario", type=names, default=list(DEFAULT_SCENARIOS), help="comma-separated scenarios")
    p.add_argument("--target", choices=(*TARGETS, "both"), default="both", help="which targets (default both)")
    p.add_argument("--server", choices=servers.ASGI_SERVERS, default="uvicorn-workers")
    p.add_argument("--workers", type=whole, default=2, help="worker processes per target (default 2)")
    p.add_argument("--warmup", dest="warmup_s", type=duration, default=10.0, help="load before the first window")
    p.add_argument("--no-report", dest="report", action="store_false", help="no HTML report at the end")
    p.add_argument("--run-id", dest="run_id", help="name of the results folder (default: the time)")
    p.add_argument("--results", dest="results_root", default="results", help="where results go (default results/)")
    p.set_defaults(handler=main)


def settings_from(args: argparse.Namespace):
    """The soak's settings, or one line on what is wrong with them."""
    from loadlab.soak.drift import MIN_POINTS
    from loadlab.soak.record import SoakSettings

    unknown = [s for s in args.scenario if s not in SCENARIOS]
    if unknown:
        raise LoadlabError(f"unknown scenario {', '.join(unknown)}; valid: {', '.join(SCENARIOS)}", USAGE)
    if not args.scenario:
        raise LoadlabError("--scenario: give at least one scenario", USAGE)
    if args.checkpoint_s < MIN_CHECKPOINT_S:
        raise LoadlabError(f"--checkpoint must be at least {MIN_CHECKPOINT_S:g}s, got {args.checkpoint_s:g}s", USAGE)
    if args.duration_s < MIN_POINTS * args.checkpoint_s:
        raise LoadlabError(
            f"--duration must hold at least {MIN_POINTS} checkpoints of {args.checkpoint_s:g}s for a trend, "
            f"got {args.duration_s:g}s",
            USAGE,
        )
    if args.rate <= 0 or args.workers < 1 or args.warmup_s < 0:
        raise LoadlabError("--rate must be above 0, --workers at least 1, --warmup at least 0", USAGE)
    targets = TARGETS if args.target == "both" else (args.target,)
    return SoakSettings(
        duration_s=args.duration_s,
        checkpoint_s=args.checkpoint_s,
        warmup_s=args.warmup_s,
        rate=args.rate,
        targets=tuple(targets),
        scenarios=tuple(args.scenario),
        server=args.server,
        workers=args.workers,
    )


def main(args: argparse.Namespace) -> int:
    from loadlab import report
    from loadlab.console.soak_table import show
    from loadlab.console.table import console
    from loadlab.results.folder import new_run_id
    from loadlab.soak.drift import failed
    from loadlab.soak.engine import soak
    from loadlab.soak.record import SoakRecord
    from loadlab.stack import procs

    settings = settings_from(args)
    procs.sigterm_as_ctrl_c()
    out = console()
    ended = soak(settings, args.run_id or new_run_id(), args.results_root, lambda line: out.print(line, markup=False))
    record = SoakRecord(ended.folder.path)
    trends = record.trends()
    show(record, trends, ended.status, ended.notes, out)
    out.print(f"results: {ended.folder.path}")
    if ended.status != "interrupted" and args.report:
        report.at_end(ended.folder.path, out.print)
    if ended.status == "interrupted":
        print(f"loadlab soak: interrupted; every checkpoint is in {ended.folder.path}", file=sys.stderr)
        return 130
    return 1 if ended.status == "failed" or failed(trends) else 0
