"""`loadlab run`'s engine, by role:

slots      each point's ports and labels, fixed when the run starts
processes  each point's target and Locust: started (early, at nice 19), gated, stopped
drive      one point's load: gate opened, followed to its end, Locust stopped
collect    one point's result from Locust's CSV and Prometheus, with its verdicts
engine     the stack, the points in order, summary.json after each: `run()`
"""

from loadlab.run.engine import overhead_line, run

__all__ = ["overhead_line", "run"]
