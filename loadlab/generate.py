"""`loadlab generate` (`make dashboards`): the rules, dashboards and the compose stack's Prometheus
configuration rendered from code, committed.

The rendered files are committed beside the code that makes them, so a diff shows what a change
does to the dashboards and alerts; a test fails when they and the code disagree.
"""

from pathlib import Path

from loadlab import REPO, rules
from loadlab.stack import compose_config
from loadlab.stack.prometheus import RULES_FILE

DASHBOARDS_DIR = REPO / "grafana" / "dashboards"
COMPOSE_PROMETHEUS_DIR = REPO / "prometheus" / "compose"


def rendered() -> dict[Path, str]:
    """{path: its text} of every generated file."""
    from loadlab.dashboards import dashboards, to_json  # the Grafana SDK is needed only here

    files = {
        RULES_FILE: rules.render(),
        COMPOSE_PROMETHEUS_DIR / "prometheus.yml": compose_config.prometheus_yml(),
        COMPOSE_PROMETHEUS_DIR / "stack.json": compose_config.stack_targets(),
    }
    for dashboard in dashboards():
        files[DASHBOARDS_DIR / f"{dashboard['uid']}.json"] = to_json(dashboard)
    return files


def write_all() -> list[Path]:
    written = []
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
