"""The processes of a run: targets and their servers, the upstream, Prometheus, PostgreSQL."""
