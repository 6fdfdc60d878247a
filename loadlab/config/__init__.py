"""What a run measures: the scenario catalogue, named suites and a run's settings."""
