"""Every panel, annotation and variable query of the dashboards, evaluated against a real Prometheus
with Grafana's variables substituted as Grafana substitutes them ("All" selected for every variable
of the dashboard but the run, `$__rate_interval` from the 1 s scrape interval). A variable that is
neither the dashboard's nor Grafana's own fails the test: Grafana would leave it as typed, and the
query would match nothing. Used on a native run's reopened TSDB (test_dashboards) and on the compose
stack's Prometheus (tests/compose)."""

import re

import httpx

from loadlab.dashboards import dashboards, panel_queries

RATE_INTERVAL = "4s"  # Grafana: max(4 x scrape interval, $__interval + scrape interval) with a 1 s interval
INTERVAL = "1s"


# $name, ${name}, ${name:format} and the deprecated [[name]]: Grafana's three ways to write a variable
VARIABLE = re.compile(r"\$(?P<plain>\w+)|\$\{(?P<braced>\w+)(?::[^}]*)?\}|\[\[(?P<old>\w+)(?::[^\]]*)?\]\]")


class UndefinedVariable(AssertionError):
    """A query names a variable that is neither its dashboard's nor one of Grafana's built-ins."""


def builtins(start: float, end: float) -> dict[str, str]:
    """Grafana's global variables a PromQL query may use, as Grafana would fill them in over start..end."""
    range_s = round(end - start)
    return {
        "__rate_interval": RATE_INTERVAL,
        "__rate_interval_ms": str(int(RATE_INTERVAL[:-1]) * 1000),
        "__interval": INTERVAL,
        "__interval_ms": str(int(INTERVAL[:-1]) * 1000),
        "__range": f"{range_s}s",
        "__range_s": str(range_s),
        "__range_ms": str(range_s * 1000),
        "__from": str(round(start * 1000)),
        "__to": str(round(end * 1000)),
    }


def variable_names(dashboard: dict) -> set[str]:
    """The names of the dashboard's own template variables."""
    return {v["name"] for v in dashboard.get("templating", {}).get("list", [])}


def substitute(expr: str, dashboard: dict, run_id: str, start: float, end: float) -> str:
    """`expr` as Grafana sends it to Prometheus: the run variable set to `run_id`, every other variable
    of `dashboard` on "All" (whose value is .*), Grafana's built-ins filled in for start..end.
    Raises UndefinedVariable for any other variable."""
    own, grafana = variable_names(dashboard), builtins(start, end)

    def value(match: re.Match) -> str:
        name = match["plain"] or match["braced"] or match["old"]
        if name in own:
            return run_id if name == "run_id" else ".*"
        if name in grafana:
            return grafana[name]
        raise UndefinedVariable(
            f"{dashboard.get('title')}: {match[0]} is neither a variable of the dashboard "
            f"({', '.join(sorted(own)) or 'none'}) nor one of Grafana's: {expr}"
        )

    return VARIABLE.sub(value, expr)


def queries(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL or label_values query) of every panel query, annotation and variable of the dashboard."""
    found = [(panel_title, expr) for panel_title, expr in panel_queries(dashboard)]
    found += [("annotation", a["expr"]) for a in dashboard["annotations"]["list"] if a.get("expr")]
    found += [(f"${v['name']}", v["query"]) for v in dashboard["templating"]["list"]]
    return found


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
            if not evaluate(url, substitute(expr, dashboard, run_id, start, end), start, end, instant):
                empty.append(f"{dashboard['title']} / {panel_title}: {expr}")
    return checked, empty
