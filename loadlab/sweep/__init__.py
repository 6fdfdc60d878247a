"""`loadlab sweep`'s engine, by role (the arithmetic it uses is in loadlab.tuning):

settings       the sweep's settings, `--quick`'s and a TOML file's, and its configurations
configuration  one configuration's capacity search, driven through `loadlab run`'s engine
engine         the sweep: every configuration in turn, sweep.json after every step, the analysis
"""
