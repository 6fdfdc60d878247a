"""Every panel, annotation and variable query of the dashboards, evaluated against a real Prometheus
with Grafana's variables substituted as Grafana substitutes them ("All" selected for every variable
but the run, `$__rate_interval` from the 1 s scrape interval). Used on a native run's reopened TSDB
(test_dashboards) and on the compose stack's Prometheus (tests/compose)."""

import re

import httpx

from loadlab.dashboards import dashboards, panel_queries

RATE_INTERVAL = "4s"  # Grafana: max(4 x scrape interval, $__interval + scrape interval) with a 1 s interval
INTERVAL = "1s"


def substitute(expr: str, run_id: str, run_range_s: int) -> str:
    expr = expr.replace("$__rate_interval", RATE_INTERVAL).replace("$__interval", INTERVAL)
    expr = expr.replace("$__range", f"{run_range_s}s").replace("$run_id", run_id)
    return re.sub(r"\$[a-z_]+", ".*", expr)  # every other variable: "All", whose value is .*


def evaluate(url: str, expr: str, start: float, end: float, instant: bool) -> list:
    if instant:
        params = {"query": expr, "time": f"{end:.3f}"}
        body = httpx.get(f"{url}/api/v1/query", params=params, timeout=30).json()
    else:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": "1"}
        body = httpx.get(f"{url}/api/v1/query_range", params=params, timeout=30).json()
    assert body["status"] == "success", f"{body.get('error')}: {expr}"
    return [s for s in body["data"]["result"] if any(v != "NaN" for v in _values(s))]


def _values(series: dict) -> list[str]:
    return [v for _, v in series["values"]] if "values" in series else [series["value"][1]]


def all_panels(dashboard: dict) -> list[dict]:
    panels, found = list(dashboard.get("panels", [])), []
    while panels:
        panel = panels.pop(0)
        found.append(panel)
        panels.extend(panel.get("panels", []))
    return found


def empty_panels(url: str, run_id: str, start: float, end: float) -> tuple[int, list[str]]:
    """(queries checked, "dashboard / panel: query" of each that returned no data over start..end)."""
    empty = []
    checked = 0
    for dashboard in dashboards():
        targets = {
            (panel_title, expr): any(
                t.get("instant") for p in all_panels(dashboard) for t in p.get("targets", []) if t.get("expr") == expr
            )
            for panel_title, expr in panel_queries(dashboard)
        }
        annotations = [a["expr"] for a in dashboard["annotations"]["list"] if a.get("expr")]
        for (panel_title, expr), instant in [*targets.items(), *((("annotation", a), False) for a in annotations)]:
            checked += 1
            if not evaluate(url, substitute(expr, run_id, round(end - start)), start, end, instant):
                empty.append(f"{dashboard['title']} / {panel_title}: {expr}")
    return checked, empty
