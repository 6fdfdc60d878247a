"""The compose stack's Prometheus scrapes each target on the metrics port its `loadlab serve` opens,
the one a blocked event loop cannot block, not on the app's port."""

import json
import re

import yaml

from loadlab import REPO
from loadlab.contract.ports import TARGET_METRICS_PORT, TARGET_PORT
from loadlab.contract.scenarios import TARGETS
from loadlab.stack import compose_config
from loadlab.stack.prometheus import TARGETS_JOB

SERVICES = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]


def test_each_target_container_serves_its_metrics_on_the_port_the_stack_scrapes():
    scraped = {
        address
        for entry in json.loads(compose_config.stack_targets())
        if entry["labels"]["job"] == TARGETS_JOB
        for address in entry["targets"]
    }
    assert scraped == {f"target-{target}:{TARGET_METRICS_PORT}" for target in TARGETS}
    for target in TARGETS:
        command = " ".join(SERVICES[f"target-{target}"]["command"])
        assert re.search(rf"--port {TARGET_PORT}\b", command), command
        assert re.search(rf"--metrics-port {TARGET_METRICS_PORT}\b", command), command
