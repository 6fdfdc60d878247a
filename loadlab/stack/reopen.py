"""`loadlab prometheus <run_id>`: a finished run's TSDB served again, so any Grafana can show it.

Nothing is scraped (the run's data stays as it was); the rules are loaded, so the recording rules'
names resolve for new evaluations. Ctrl-C or SIGTERM stops it.
"""

import time
from datetime import UTC, datetime

from loadlab.results.folder import RunFolder
from loadlab.results.point import RunSummary
from loadlab.stack import procs
from loadlab.stack.prometheus import Prometheus

DATASOURCE_UID = "loadlab-prometheus"  # the uid grafana/provisioning gives the datasource, which every panel names
POLL_S = 0.5


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def serve(folder: RunFolder, port: int | None) -> int:
    summary = folder.summary()
    prometheus = Prometheus(folder.prometheus_dir, port=port, scrape=False)

    procs.sigterm_as_ctrl_c()
    try:  # Ctrl-C is how this ends, whenever it comes: once Prometheus is ready, or while it starts
        return _serve(summary, prometheus)
    except KeyboardInterrupt:
        return 0


def _serve(summary: RunSummary, prometheus: Prometheus) -> int:
    with prometheus:
        end = summary.ended_at or max((p.ended_at for p in summary.points), default=summary.started_at)
        start_ms, end_ms = int(summary.started_at * 1000) - 10_000, int(end * 1000) + 10_000
        print(f"loadlab: run {summary.run_id} ({summary.status}, {len(summary.points)} points) served read-only")
        print(f"  Prometheus  {prometheus.url}  (data: {prometheus.data_dir})")
        print(f"  time range  {_iso(summary.started_at)} to {_iso(end)}")
        print(
            f"  Grafana     point a Prometheus datasource with uid {DATASOURCE_UID} at {prometheus.url}, then open "
            f"/d/loadlab-overview?from={start_ms}&to={end_ms}&var-run_id={summary.run_id}"
        )
        print("  Ctrl-C stops it.", flush=True)
        while prometheus.running:
            time.sleep(POLL_S)
    print("loadlab: Prometheus exited on its own; see its log", flush=True)
    return 1
