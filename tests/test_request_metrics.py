"""The request counter and latency histogram kept in per-worker slot files (`targets.request_metrics`):
exact across workers, forks and a restarted pid, and exposed as Prometheus counters and histograms."""

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from loadlab.contract import metrics as m
from loadlab.contract import routes
from targets.request_metrics import read_totals
from tests.helpers import concurrently, scrape, serve, total

LE = [*(str(b) for b in m.LATENCY_BUCKETS), "+Inf"]


def histograms(samples: dict, **labels: str) -> dict[tuple, dict[str, float]]:
    """{(route, method): {le: cumulative count}} of the request-duration histogram."""
    found: dict[tuple, dict[str, float]] = {}
    for (name, ls), value in samples.items():
        d = dict(ls)
        if name == m.HTTP_REQUEST_DURATION + "_bucket" and labels.items() <= d.items():
            found.setdefault((d["route"], d["method"]), {})[d["le"]] = value
    return found


def workers_that_counted(metrics_dir: Path, route: str) -> int:
    return sum(f'"{route}"' in f.read_text() for f in metrics_dir.glob("requests_*.keys"))


@pytest.mark.parametrize("server", ["gunicorn-uvicorn", "uvicorn-workers"])
def test_exact_counts_and_histograms_across_two_workers(tmp_path, server):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # A stale pair from an earlier server, in the documented format: `loadlab serve` must wipe it.
    stale = ["async", server, routes.HELLO, "GET", "200"]
    (metrics_dir / "requests_1.keys").write_text(f"0 {json.dumps([m.HTTP_REQUESTS, stale])}\n")
    (metrics_dir / "requests_1.slots").write_bytes(struct.pack("d", 1e6))

    with serve(tmp_path, "async", server, 2, "--metrics-dir", str(metrics_dir)) as srv:
        hello = 0
        while workers_that_counted(metrics_dir, routes.HELLO) < 2:  # concurrent connections reach both workers
            assert hello < 2000, "one worker got every request"
            concurrently(srv.url + routes.HELLO, 100)
            hello += 100
        concurrently(srv.url + "/no/such/path", 7, status=404)
        concurrently(f"{srv.url}{routes.IO_SLEEP}?ms=abc", 5, status=422)
        concurrently(f"{srv.url}{routes.IO_SLEEP}?ms=1", 3)

        for _ in range(4):  # whichever worker answers the scrape sums every worker's files
            samples = scrape(srv.url)
            assert total(samples, m.HTTP_REQUESTS, route=routes.HELLO, method="GET", status="200") == hello
            assert total(samples, m.HTTP_REQUESTS, route="<unmatched>", status="404") == 7
            assert total(samples, m.HTTP_REQUESTS, route=routes.IO_SLEEP, status="422") == 5
            assert total(samples, m.HTTP_REQUESTS, route=routes.IO_SLEEP, status="200") == 3
            assert total(samples, m.HTTP_REQUESTS) == hello + 15  # /metrics itself is not counted

            found = histograms(samples, target="async", server=server)
            assert set(found) == {(routes.HELLO, "GET"), ("<unmatched>", "GET"), (routes.IO_SLEEP, "GET")}
            for (route, method), buckets in found.items():
                count = total(samples, m.HTTP_REQUEST_DURATION + "_count", route=route, method=method)
                assert count == total(samples, m.HTTP_REQUESTS, route=route, method=method)
                assert set(buckets) == set(LE)
                cumulative = [buckets[le] for le in LE]
                assert cumulative == sorted(cumulative), (route, cumulative)  # monotone
                assert buckets["+Inf"] == count
                assert total(samples, m.HTTP_REQUEST_DURATION + "_sum", route=route, method=method) > 0


FORK_AND_RESTART = """
import os
from targets import request_metrics as rm

metrics = rm.RequestMetrics("t", "s")
metrics.record("/a", "GET", 200, 0.003)
child = os.fork()
if child == 0:  # must count in a file of its own, not in its parent's
    metrics.record("/a", "GET", 200, 0.5)
    os._exit(0)
assert os.waitpid(child, 0)[1] == 0
metrics.record("/a", "GET", 500, 0.003)

# A new process that gets this pid again carries on in its files, past a key line torn by a kill.
keys = os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], f"requests_{os.getpid()}.keys")
with open(keys, "ab") as f:
    f.write(b'99 ["loadlab_http_req')
rm._FILE.forget()
rm.RequestMetrics("t", "s").record("/a", "GET", 200, 20.0)
print(os.getpid(), child)
"""


def test_forked_child_and_reused_pid_keep_exact_counts(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", FORK_AND_RESTART], env=env, capture_output=True, text=True, check=True)
    parent, child = out.stdout.split()
    assert {p.name for p in tmp_path.glob("requests_*")} == {
        f"requests_{pid}.{ext}" for pid in (parent, child) for ext in ("keys", "slots")
    }
    for keys in tmp_path.glob("requests_*.keys"):
        lines = keys.read_bytes().splitlines(keepends=True)
        assert all(line.endswith(b"\n") for line in lines)  # the torn line was cut off
        assert len(lines) == len(set(lines))  # no series allocated twice

    totals = read_totals(str(tmp_path))
    assert totals[(m.HTTP_REQUESTS, ("t", "s", "/a", "GET", "200"))] == [3.0]
    assert totals[(m.HTTP_REQUESTS, ("t", "s", "/a", "GET", "500"))] == [1.0]
    histogram = totals[(m.HTTP_REQUEST_DURATION, ("t", "s", "/a", "GET"))]
    buckets, total_s = histogram[:-1], histogram[-1]
    by_le = dict(zip(LE, buckets, strict=True))
    assert by_le["0.005"] == 2 and by_le["0.5"] == 1 and by_le["20.0"] == 1
    assert sum(buckets) == 4
    assert total_s == pytest.approx(0.003 + 0.5 + 0.003 + 20.0)
