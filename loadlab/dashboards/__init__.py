"""Grafana dashboards as code, built with Grafana's own SDK (grafana-foundation-sdk).

`loadlab generate` (make dashboards) writes them to grafana/dashboards/, where Grafana's file
provisioning (grafana/provisioning/) loads them. Every query comes from loadlab.queries.
"""

import json
from collections.abc import Iterator

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from loadlab.dashboards.common import ANNOTATION_EXTRA
from loadlab.dashboards.internals import internals
from loadlab.dashboards.overview import overview
from loadlab.dashboards.sync_vs_async import sync_vs_async
from loadlab.dashboards.tuning import tuning

BUILDERS = (overview, internals, sync_vs_async, tuning)


def dashboards() -> list[dict]:
    """Every dashboard as Grafana's JSON model (a dict)."""
    return [as_dict(build()) for build in BUILDERS]


def as_dict(dashboard: Dashboard) -> dict:
    data = json.loads(JSONEncoder().encode(dashboard.build()))
    for annotation in data.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            annotation.update(ANNOTATION_EXTRA)
    return data


def to_json(dashboard: dict) -> str:
    return json.dumps(dashboard, indent=2, sort_keys=True) + "\n"


def panel_queries(dashboard: dict) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) of every query of every panel, rows' panels included."""
    panels = list(dashboard.get("panels", []))
    while panels:
        panel = panels.pop(0)
        panels.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel.get("title", ""), target["expr"]
