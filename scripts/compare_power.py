#!/usr/bin/env python3
"""How often `loadlab compare` calls a regression: on A/A pairs (nothing changed: it should not) and
on a real 20 % slowdown of the target (it should).

    .venv/bin/python scripts/compare_power.py [--rounds 10] [--pairs 3] [--slow-threads 8] [--results DIR]

First `loadlab calibrate` on the `calibration` suite's sync points (its A/A pairs are this
machine's noise floor). Then each round runs that suite three times back to back, single runs:
A, A' (the same), S (the same but `--threads 8`: the sync target's 10 threads are its capacity under
30 users of 100 ms waits, so 8 cut it by 20 %: a real slowdown, no result edited). It compares A
with A' (an A/A pair) and A' with S (the slowdown), as `loadlab compare` does, and counts the pairs
called a regression. Goal (issue 15): at most 1 of 10 A/A pairs, at least 9 of 10 slowdowns.
Each run is about 30 s here (2 points of 2 s warm-up + 6 s, and the stack's start), so 10 rounds
and the calibration take about 18 minutes. The figures and every pair's verdict go to
<results>/compare_power.json.
"""

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from loadlab.cli import parse_args
from loadlab.commands.run import config_from
from loadlab.results.calibration import default_path
from loadlab.run import run
from loadlab.tuning.comparison import compare_sides, open_side

SUITE = ["--suite", "calibration", "--target", "sync"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=10, help="A/A and slowdown pairs each (default 10)")
    p.add_argument("--pairs", type=int, default=3, help="calibration pairs (default 3)")
    p.add_argument("--slow-threads", type=int, default=8, help="the slowdown's --threads (the suite has 10)")
    p.add_argument("--results", type=Path, default=Path("results") / f"compare-power-{time.strftime('%Y%m%d-%H%M%S')}")
    args = p.parse_args()
    root = args.results
    started = time.time()

    def config(run_id: str, *extra: str):
        return config_from(parse_args(["run", *SUITE, *extra, "--run-id", run_id, "--results", str(root)]))

    def compare(a: str, b: str):
        return compare_sides(open_side(root, a), open_side(root, b), 0.1, None, default_path(root))

    cal = parse_args(["calibrate", *SUITE, "--pairs", str(args.pairs), "--run-id", "cal", "--results", str(root)])
    if cal.handler(cal) != 0:
        return 1
    pairs = []
    for i in range(1, args.rounds + 1):
        base = config(f"r{i}-a")
        for run_id, cfg in (
            (f"r{i}-a", base),
            (f"r{i}-a2", base),
            (f"r{i}-s", config(f"r{i}-s", "--threads", str(args.slow_threads))),
        ):
            run(replace(cfg, run_id=run_id))
        for kind, a, b in (("A/A", f"r{i}-a", f"r{i}-a2"), ("slowdown", f"r{i}-a2", f"r{i}-s")):
            result = compare(a, b)
            called = bool(result.regressions)
            pairs.append(
                {"round": i, "kind": kind, "a": a, "b": b, "regression": called, "summary": result.summary_line()}
            )
            print(f"round {i} {kind}: {result.summary_line()}", flush=True)
    aa = [x["regression"] for x in pairs if x["kind"] == "A/A"]
    slow = [x["regression"] for x in pairs if x["kind"] == "slowdown"]
    figures = {
        "date": time.strftime("%Y-%m-%d"),
        "minutes": round((time.time() - started) / 60, 1),
        "load_average_at_end": os.getloadavg(),
        "aa_called_regression": f"{sum(aa)} of {len(aa)}",
        "slowdown_caught": f"{sum(slow)} of {len(slow)}",
        "pairs": pairs,
    }
    (root / "compare_power.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(
        f"\n{figures['date']}: A/A pairs called a regression: {figures['aa_called_regression']} "
        "(goal: at most 1 of 10); "
        f"20 % slowdowns caught: {figures['slowdown_caught']} (goal: at least 9 of 10); "
        f"{figures['minutes']} min; load average {os.getloadavg()[0]:.1f} at the end; {root / 'compare_power.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
