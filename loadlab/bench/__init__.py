"""`loadlab bench`: speed goals measured side by side in one run, printed as ratios.

The machine is shared and noisy, so no absolute figure is trusted: the two sides of a ratio run
alternately, several rounds, against servers started together. Each round measures both sides back
to back, so its ratio is what that round says; the figure reported is the median of the per-round
ratios with a distribution-free interval for it, and a goal is judged on that interval: met, missed,
or undetermined when the interval straddles it.

- `stats`: the paired-ratio statistics (median_interval, verdict, Comparison, table).
- `drivers`: what measures a side (wrk, the suite's Locust, a plain Locust) and `alternate`.
- `benchmarks`: the benchmarks on the lab's targets, the registry `BENCHMARKS` and `run`.
- `own_app`: the instrumentation's cost on a user's app served with `loadlab serve --app`.
"""
