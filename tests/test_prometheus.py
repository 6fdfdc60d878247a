"""The native Prometheus: a real binary scraping a real target served by `loadlab serve`."""

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loadlab.contract.metrics import HTTP_REQUESTS, RUN_LABELS
from loadlab.errors import LoadlabError
from loadlab.stack import ports, procs
from loadlab.stack.prometheus import (
    INSTALL_HINT,
    SELF_JOB,
    TARGETS_JOB,
    Prometheus,
    ScrapeTarget,
    render_config,
)
from tests.helpers import serve

REQUESTS = 25


@pytest.fixture
def served_target(tmp_path: Path) -> Iterator[str]:
    """`loadlab serve --target async --server uvicorn-workers --workers 2`; yields its host:port."""
    with serve(tmp_path, "async", "uvicorn-workers", 2) as server:
        yield server.url.removeprefix("http://")


def test_counts_every_request_with_the_run_labels(tmp_path: Path, served_target: str) -> None:
    run_id = f"test-{os.getpid()}"
    scrape = ScrapeTarget(TARGETS_JOB, served_target, run_id, "async", "uvicorn-workers", 2, "hello")
    with Prometheus(tmp_path / "prometheus") as prom:
        pid = prom.pid
        with pytest.raises(LoadlabError, match="already using"):  # one Prometheus per TSDB
            Prometheus(prom.directory).start()
        prom.set_targets([scrape])
        assert json.loads(prom.targets_file.read_text())[0]["labels"]["workers"] == "2"
        prom.wait_until_up(served_target)  # 5-10 s: see loadlab.prometheus

        with httpx.Client(base_url=f"http://{served_target}", timeout=5) as client:
            for _ in range(REQUESTS):
                assert client.get("/hello").status_code == 200
        done = time.time()
        prom.wait_for_scrape(served_target, after=done)

        total = f'sum({HTTP_REQUESTS}{{route="/hello", run_id="{run_id}"}})'
        [result] = prom.query(total)
        assert result.value == REQUESTS
        for sample in prom.query(f'{HTTP_REQUESTS}{{route="/hello", run_id="{run_id}"}}'):
            assert {name: sample.labels[name] for name in RUN_LABELS} == {
                "run_id": run_id,
                "target": "async",
                "server": "uvicorn-workers",
                "workers": "2",
                "scenario": "hello",
            }
            assert sample.labels["job"] == TARGETS_JOB
            assert sample.labels["instance"] == served_target

        # Later scrapes find the same count, and a range query sees it too.
        prom.wait_for_scrape(served_target, after=time.time())
        [later] = prom.query(total)
        assert later.value == REQUESTS
        [series] = prom.query_range(total, start=done - 5, end=time.time(), step=1)
        assert series.points[-1][1] == REQUESTS

        # Prometheus scrapes itself; the target's entry is its only other job.
        jobs = {t["labels"]["job"] for t in prom.active_targets()}
        assert jobs == {TARGETS_JOB, SELF_JOB}

        prom.set_targets([])  # a process that goes away is dropped from the scrape
        deadline = time.monotonic() + 30
        while any(t["labels"]["job"] == TARGETS_JOB for t in prom.active_targets()):
            assert time.monotonic() < deadline, "target still scraped after set_targets([])"
            time.sleep(0.2)

    assert not prom.running
    assert not procs.group_alive(pid)
    assert ports.port_is_free("127.0.0.1", prom.port)
    assert (tmp_path / "prometheus" / "data" / "wal").is_dir()


def test_missing_binary_is_one_line_with_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(LoadlabError) as info:
        Prometheus(tmp_path, binary=tmp_path / "no-such-prometheus")
    message = str(info.value)
    assert "\n" not in message
    assert INSTALL_HINT in message


def test_a_prometheus_that_dies_at_start_points_to_its_log(tmp_path: Path) -> None:
    prom = Prometheus(tmp_path, binary="false")  # exits 1 at once, like a Prometheus with a bad flag
    with pytest.raises(LoadlabError, match=r"exited with status 1 .*prometheus\.log"):
        prom.start(timeout=10)
    assert not prom.running


def test_rendered_config_is_valid(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(render_config("127.0.0.1:9091", tmp_path / "targets.json"))
    (tmp_path / "targets.json").write_text("[]")
    check = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
