"""`loadlab sweep` (make sweep): the options (or a TOML file) into a SweepConfig, the sweep run with
progress lines, its tables printed, and where its results are."""

import argparse
import logging
import sys
from dataclasses import fields
from pathlib import Path

from loadlab.commands.arguments import duration, names, number, whole, wholes
from loadlab.commands.own_options import add_app_options, add_load_options
from loadlab.commands.run import add_worker_options
from loadlab.errors import LoadlabError
from loadlab.stack import pinning


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="each configuration's capacity under the SLO, a model, a recommendation")
    add_options(p)
    add_worker_options(p)
    add_app_options(p)
    add_load_options(p, url=False)
    p.set_defaults(handler=main)


def add_options(p: argparse.ArgumentParser) -> None:
    """Every option defaults to None: unset ones come from --file, then SweepConfig's defaults (shown here)."""
    from loadlab.sweep.settings import QUICK, SweepConfig

    d = SweepConfig()

    def listed(values: list) -> str:
        return ",".join(str(v) for v in values)

    quick = f"workers {listed(QUICK['workers'])}, {listed(QUICK['scenarios'])}, both targets, coarse steps"
    p.add_argument("--file", type=Path, help="a TOML file with the same keys (servers = [...], workers = [...])")
    p.add_argument("--quick", action="store_true", help=f"a first look: {quick}")
    p.add_argument("--server", dest="servers", type=names, help=f"server kinds, comma-separated ({listed(d.servers)})")
    p.add_argument("--workers", type=wholes, help=f"worker counts, comma-separated ({listed(d.workers)})")
    p.add_argument("--threads", type=wholes, help=f"thread limits, comma-separated ({listed(d.threads)})")
    p.add_argument(
        "--db-pool", dest="db_pool", type=wholes, help=f"DB pool sizes, comma-separated ({listed(d.db_pool)})"
    )
    p.add_argument("--target", dest="targets", type=names, help=f"sync, async or both ({listed(d.targets)})")
    p.add_argument(
        "--scenario", dest="scenarios", type=names, help=f"scenarios, comma-separated ({listed(d.scenarios)})"
    )
    p.add_argument(
        "--start-rate", dest="start_rate", type=number, help=f"first rate of each search, rps ({d.start_rate:g})"
    )
    p.add_argument("--factor", type=number, help=f"each step up multiplies the rate by this ({d.factor:g})")
    p.add_argument(
        "--precision", type=number, help=f"bisect until (high - low) / low is at most this ({d.precision:g})"
    )
    p.add_argument("--max-rate", dest="max_rate", type=number, help=f"never offer more than this, rps ({d.max_rate:g})")
    p.add_argument(
        "--max-steps", dest="max_steps", type=whole, help=f"search steps per configuration at most ({d.max_steps})"
    )
    p.add_argument(
        "--confirm",
        type=whole,
        help=f"measure the highest held and the lowest broken rate this many more times ({d.confirm}; 0: none)",
    )
    p.add_argument(
        "--duration", dest="duration_s", type=duration, help=f"measured per step, after warm-up ({d.duration_s:g}s)"
    )
    p.add_argument(
        "--pin", choices=pinning.CHOICES, help=f"generator and target on separate CPUs, as loadlab run's ({d.pin})"
    )
    p.add_argument(
        "--warmup", dest="warmup_s", type=duration, help=f"load before measuring, per step ({d.warmup_s:g}s)"
    )
    p.add_argument("--p99-ms", dest="p99_ms", type=number, help="the SLO's p99 limit (default: slo.toml's)")
    p.add_argument("--error-ratio", dest="error_ratio", type=number, help="the SLO's error ratio limit (slo.toml's)")
    p.add_argument("--slo", dest="slo_file", help="SLO file (default slo.toml)")
    p.add_argument("--sweep-id", dest="sweep_id", help="name of the sweep folder; the same one resumes it")
    p.add_argument("--results", dest="results_root", help="where results go (default results/)")


def config_from(args: argparse.Namespace):
    """The SweepConfig the options ask for: an option set overrides --quick, which overrides --file,
    which overrides SweepConfig's defaults. The options carry SweepConfig's field names (`dest`)."""
    from loadlab.results.folder import new_run_id
    from loadlab.sweep.settings import QUICK, SweepConfig, read_toml, with_overrides

    own = own_from(args)  # the app imported and checked before anything starts
    from_file = read_toml(args.file) if args.file else {}
    config = SweepConfig(**from_file)
    if args.quick:
        config = with_overrides(config, QUICK)
    config = with_overrides(config, {f.name: getattr(args, f.name, None) for f in fields(SweepConfig)})
    if own is not None:
        config.own = own
        if args.servers is None and "servers" not in from_file:  # a WSGI app: Gunicorn's default, sync workers
            config.servers = [s for s in config.servers if s in config.own_servers()] or [config.own_servers()[0]]
    if not config.sweep_id:
        config.sweep_id = f"sweep-{new_run_id()}"
    config.validate()
    return config


def own_from(args: argparse.Namespace):
    """The user's app and load (`--app` and its options, `--locustfile` or `--requests`), checked as
    `loadlab run` checks them; None for the lab's targets."""
    from loadlab.config.own import own_load

    if args.app and args.db_pool:
        raise LoadlabError("--db-pool sizes the lab's targets' pool: your app sets its own")
    # loadlab run's checks, on the sweep's names of the options they refuse beside --app
    as_run = argparse.Namespace(**{**vars(args), "target": args.targets, "scenario": args.scenarios, "suite": None})
    return own_load(as_run, None)


def main(args: argparse.Namespace) -> int:
    from loadlab import report
    from loadlab.console.sweep_table import show
    from loadlab.console.table import console
    from loadlab.stack import procs
    from loadlab.sweep.engine import Sweep

    config = config_from(args)
    out = console()
    sweep = Sweep(config)

    procs.sigterm_as_ctrl_c()
    summary = sweep.open()  # a new folder, or the stored sweep: checked before anything starts
    handler = logging.FileHandler(sweep.layout.log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("loadlab.sweep", "loadlab.run")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    out.print(f"loadlab sweep {config.sweep_id}: {len(config.configurations())} configurations in {sweep.folder}")
    if config.own:
        own = config.own
        p99, errors = config.limits(own.scenario.name)
        app = f"{own.app.ref} ({own.app.kind.upper()})" if own.app else own.target
        load = own.locustfile or own.requests
        limit = f"p99 {p99:g} ms" + (f", error ratio {errors:g}" if errors is not None else "")
        out.print(f"  your app {app}, health {own.health}, load {load}; SLO {limit}", soft_wrap=True)
    try:
        summary = sweep.run(lambda line: out.print(line), summary)
    except KeyboardInterrupt:
        print(
            f"\nloadlab sweep: interrupted; what was measured is in {sweep.folder} (the same command resumes it)",
            file=sys.stderr,
        )
        return 130
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()
    out.print()
    show(summary, out)
    out.print()
    out.print(f"results: {sweep.folder}")
    report.at_end(sweep.folder, out.print)
    return 0
