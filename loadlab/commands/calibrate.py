"""`loadlab calibrate`: this machine's noise between identical runs, the floor `loadlab compare`
requires a change of single runs to exceed.

    loadlab calibrate [--pairs 3] [--suite calibration] [--target sync] [--duration 6s] [any `loadlab run` option]
                      [--out results/calibration.json]

It runs the suite (default `calibration`: io-sleep and io-http on both targets, 8 s a point) twice
per pair, back to back, nothing changed (A/A), as `loadlab run` would, each run its own folder
under --results (<run-id>-p1a, -p1b, ...). Then it writes, per target, scenario and figure, its
value in every run, with the machine's identity and the suite's settings, to --out (default
<results>/calibration.json), and prints each figure's values and floor. Compare refuses the file on
another machine, or for runs of another suite. How a floor is made: loadlab.tuning.noise_floor.
The default, 3 pairs of the default suite, is about 4 minutes here.
"""

import argparse
import sys
import time
from pathlib import Path

from loadlab.commands.arguments import whole
from loadlab.commands.run import add_options
from loadlab.errors import LoadlabError

DEFAULT_SUITE = "calibration"
DEFAULT_PAIRS = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="measure this machine's noise between identical runs (A/A pairs), for `loadlab compare`",
        description="Run a suite in A/A pairs and store each figure's spread between runs for `loadlab compare`.",
    )
    add_options(p)
    p.set_defaults(suite=DEFAULT_SUITE)
    p.add_argument("--pairs", type=whole, default=DEFAULT_PAIRS, help=f"A/A pairs to run (default {DEFAULT_PAIRS})")
    p.add_argument("--out", type=Path, help="the calibration file (default <results>/calibration.json)")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from loadlab.commands.run import config_from
    from loadlab.results.calibration import Calibration, Machine, default_path, point_key, settings_of
    from loadlab.run import run
    from loadlab.stack import procs
    from loadlab.tuning.noise_floor import floor, merge, run_values

    if args.repeat not in (None, 1):
        raise LoadlabError("calibrate runs single runs: leave out --repeat (compare with --repeat needs no floor)")
    if args.pairs < 2:
        raise LoadlabError(f"--pairs must be at least 2 (a spread from one pair is no spread), got {args.pairs}")
    prefix = args.run_id or f"calibrate-{time.strftime('%Y%m%d-%H%M%S')}"
    base = config_from(args)
    out = args.out or default_path(Path(base.results_root))
    procs.sigterm_as_ctrl_c()
    pairs, figures_of = [], []
    try:
        for i in range(1, args.pairs + 1):
            runs = []
            for side in "ab":
                runs.append(run(replace(base, run_id=f"{prefix}-p{i}{side}")))
                print(f"calibrate: pair {i} of {args.pairs}, run {side.upper()}: {runs[-1][0].path}", flush=True)
            pairs.append([summary.run_id for _, summary in runs])
            figures_of += [run_values(summary, folder) for folder, summary in runs]
    except KeyboardInterrupt:
        print("\nloadlab calibrate: interrupted; no calibration written", file=sys.stderr)
        return 130
    points = runs[0][1].points
    calibration = Calibration(
        machine=Machine.here(),
        suite=args.suite or "custom",
        settings={point_key(p): settings_of(p) for p in points},
        pairs=pairs,
        values=merge(figures_of),
    )
    calibration.write(out)
    print(f"\nA/A noise of {len(pairs)} pairs (each run's figure; floor: the change compare requires beyond it)")
    for key, figures in calibration.values.items():
        target, scenario = key.split(" ", 1)
        for figure, values in figures.items():
            f = floor(calibration, target, scenario, figure)
            seen = " ".join(f"{v:.4g}" for v in values)
            print(f"  {key:<20} {figure:<8} {seen}; floor ±{f.relative:.1%}" if f else f"  {key} {figure} {seen}")
    print(f"calibration: {out}  (loadlab compare uses it for single runs of this suite)")
    return 0
