"""Gunicorn settings and hooks shared by the gunicorn-uvicorn and gunicorn-asgi servers.

`loadlab serve` passes the bind address, worker count and worker class on the command line.
"""

import os

from targets.request_metrics import fold_dead_workers

# A handler that blocks its event loop (the anti-patterns) must not get its worker killed
# mid-run as "timed out": measure the stall instead.
timeout = 120
graceful_timeout = 10
keepalive = 5
accesslog = None  # access logs cost more CPU than /hello itself
# Gunicorn's control socket has one default path per user: two servers at once would fight over it.
control_socket_disable = True


def child_exit(server, worker):
    """A worker exited: drop its live gauges and fold its counters and histograms into the archive
    (loadlab.contract.multiproc), before Gunicorn forks its replacement, which may get its pid."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        fold_dead_workers(path)
