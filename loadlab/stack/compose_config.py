"""The compose stack's Prometheus configuration, rendered from the same template as a run's own.

Two sources of scrape targets: the stack's long-running services (prometheus/compose/stack.json:
both targets, whose `loadlab serve` runs as docker-compose.yml says, and the Locust master behind
the web UI), and the `scrape-targets` volume where a run inside the stack (`make loadtest-compose`)
publishes its own processes (see loadlab.stack.placement). Both carry the run labels, so the same
dashboards and rules work on either; the stack's services have run_id "stack".
"""

import json

from loadlab.contract.ports import TARGET_METRICS_PORT
from loadlab.contract.scenarios import TARGETS
from loadlab.stack.prometheus import LOCUST_JOB, TARGETS_JOB, render_config

CONFIG_DIR = "/etc/prometheus"
RUN_TARGETS_DIR = f"{CONFIG_DIR}/sd"  # the scrape-targets volume
STACK_RUN_ID = "stack"
STACK_SCENARIO = "interactive"  # whatever the Locust web UI is asked to run


def prometheus_yml() -> str:
    return render_config(
        "localhost:9090",
        [f"{CONFIG_DIR}/stack/*.json", f"{RUN_TARGETS_DIR}/*.json"],
        f"{CONFIG_DIR}/rules/loadlab.rules.yml",
    )


def stack_targets() -> str:
    def entry(job: str, address: str, target: str) -> dict:
        labels = {"job": job, "run_id": STACK_RUN_ID, "target": target, "scenario": STACK_SCENARIO}
        return {"targets": [address], "labels": labels}

    entries = [
        # each target's metrics port (docker-compose.yml's --metrics-port), which a blocked event loop cannot block
        *(entry(TARGETS_JOB, f"target-{target}:{TARGET_METRICS_PORT}", target) for target in TARGETS),
        entry(LOCUST_JOB, "locust-master:9646", "async"),
    ]
    return json.dumps(entries, indent=2) + "\n"
