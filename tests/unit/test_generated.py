"""The committed rules and dashboards are what the code renders: `make dashboards` regenerates them."""

import json

import yaml

from loadlab import generate, rules
from loadlab.contract.metrics import RUN_LABELS
from loadlab.dashboards import dashboards, panel_queries
from loadlab.stack.prometheus import RULES_FILE
from loadlab.stack.reopen import DATASOURCE_UID


def test_committed_files_match_the_code():
    stale = [str(path) for path, text in generate.rendered().items() if not path.exists() or path.read_text() != text]
    assert stale == [], "run `make dashboards` and commit the result"


def test_every_panel_has_a_unit_a_description_and_the_fixed_datasource():
    for dashboard in dashboards():
        for panel in dashboard["panels"]:
            if panel["type"] == "row":
                continue
            where = f"{dashboard['title']} / {panel.get('title')}"
            assert panel.get("description"), where
            assert panel["fieldConfig"]["defaults"].get("unit"), where
            assert panel["datasource"]["uid"] == DATASOURCE_UID, where
            assert all(t["datasource"]["uid"] == DATASOURCE_UID for t in panel["targets"]), where


def test_every_dashboard_has_the_run_variables_and_point_annotations():
    for dashboard in dashboards():
        names = [v["name"] for v in dashboard["templating"]["list"]]
        assert {"run_id", "server", "workers", "scenario"} <= set(names) <= {*RUN_LABELS, "route"}
        (annotation,) = dashboard["annotations"]["list"]
        assert "locust_test_running" in annotation["expr"] and annotation["titleFormat"]
        # every query follows the chosen runs, but the SLO limits, which belong to a scenario
        unscoped = [e for _, e in panel_queries(dashboard) if "$run_id" not in e and rules.SLO_LIMIT not in e]
        assert unscoped == [], dashboard["title"]


def test_dashboard_json_is_stable():
    assert [json.dumps(d, sort_keys=True) for d in dashboards()] == [
        json.dumps(d, sort_keys=True) for d in dashboards()
    ]


def test_the_kubernetes_copies_are_the_committed_files():
    """deploy/kubernetes/ cannot read grafana/ or prometheus/ (kustomize's load restrictions): its
    copies are these files' own text, and its kustomization lists every dashboard."""
    base = generate.KUBERNETES_BASE
    dashboards = sorted(generate.DASHBOARDS_DIR.glob("*.json"))
    for path in dashboards:
        assert (base / "grafana" / path.name).read_text() == path.read_text(), path.name
    assert (base / "prometheus" / "loadlab.rules.yml").read_text() == RULES_FILE.read_text()
    stack = generate.COMPOSE_PROMETHEUS_DIR / "stack.json"
    assert (base / "prometheus" / "stack.json").read_text() == stack.read_text()
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    generators = {g["name"]: g["files"] for g in kustomization["configMapGenerator"] if "files" in g}
    assert generators["loadlab-dashboards"] == [f"grafana/{path.name}" for path in dashboards]
