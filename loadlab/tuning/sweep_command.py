"""`loadlab sweep` from the command line: the options (or a TOML file) into a SweepConfig, the sweep
run with progress lines, its tables printed, and where its results are."""

import argparse
import logging
import sys
from dataclasses import fields

from loadlab import report
from loadlab.console.sweep_table import show
from loadlab.console.table import console
from loadlab.results.folder import new_run_id
from loadlab.stack import procs
from loadlab.tuning.sweep import QUICK, Sweep, SweepConfig, read_toml, with_overrides


def config_from(args: argparse.Namespace) -> SweepConfig:
    config = SweepConfig(**read_toml(args.file)) if args.file else SweepConfig()
    if args.quick:
        config = with_overrides(config, QUICK)
    config = with_overrides(config, {f.name: getattr(args, f.name, None) for f in fields(SweepConfig)})
    if not config.sweep_id:
        config.sweep_id = f"sweep-{new_run_id()}"
    config.validate()
    return config


def main(args: argparse.Namespace) -> int:
    config = config_from(args)
    out = console()
    sweep = Sweep(config)

    procs.sigterm_as_ctrl_c()
    summary = sweep.open()  # a new folder, or the stored sweep: checked before anything starts
    handler = logging.FileHandler(sweep.folder / "sweep.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    for name in ("loadlab.sweep", "loadlab.run"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    out.print(f"loadlab sweep {config.sweep_id}: {len(config.configurations())} configurations in {sweep.folder}")
    try:
        summary = sweep.run(lambda line: out.print(line), summary)
    except KeyboardInterrupt:
        print(
            f"\nloadlab sweep: interrupted; what was measured is in {sweep.folder} (the same command resumes it)",
            file=sys.stderr,
        )
        return 130
    finally:
        for name in ("loadlab.sweep", "loadlab.run"):
            logging.getLogger(name).removeHandler(handler)
        handler.close()
    out.print()
    show(summary, out)
    out.print()
    out.print(f"results: {sweep.folder}")
    report.at_end(sweep.folder, out.print)
    return 0
