"""Verdicts on measured points: SLOs, whether a point can be trusted, the published claims."""
