"""`loadlab soak`: a long constant open-model load, a checkpoint every minute, and a verdict by trend.

By role, and by layer (the lower modules are read by the report and the console):

record   the checkpoints and settings in results/<run_id>/soak/, read and written   (results layer)
drift    the tolerances, and each series' Theil-Sen slope with its interval judged  (judge layer)
sample   one checkpoint: psutil over the started process trees, PromQL via queries (stack layer)
engine   the soak itself, over `loadlab run`'s building blocks                       (run layer)

Nothing is imported here: importing loadlab.soak.drift must not start a run's imports.
"""
