"""Bookkeeping of prometheus_client's multiprocess directories, shared by the targets and Locust.

Import it only after `PROMETHEUS_MULTIPROC_DIR` is set: it imports prometheus_client.
"""

import os
import re

import psutil
from prometheus_client import multiprocess

_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE  # an exited child stays a zombie until reaped
    except psutil.NoSuchProcess:
        return False


def live_pids(path: str) -> set[int]:
    """The processes with live-gauge files in `path` that still run. The live-gauge files of the
    others are removed, so their gauges disappear; their counters and histograms stay summed."""
    pids = {int(match.group(1)) for f in os.listdir(path) if (match := _LIVE_GAUGE_FILE.match(f))}
    for pid in [pid for pid in pids if not alive(pid)]:
        multiprocess.mark_process_dead(pid, path)
        pids.discard(pid)
    return pids
