"""What every loadlab dashboard shares: the datasource, the template variables, panel helpers.

Every panel and query names the datasource by its fixed uid (the one grafana/provisioning gives
it): file provisioning does not substitute `${DS_PROMETHEUS}`. Selectors match the template
variables by regex, so "All" (`.*`) and multi-value selections work alike.
"""

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, timeseries
from grafana_foundation_sdk.models import common, dashboard
from grafana_foundation_sdk.models import prometheus as prometheus_model

from loadlab import queries
from loadlab.contract import metrics as m
from loadlab.contract.metrics import ROUTE_LABEL, RUN_LABELS
from loadlab.stack.reopen import DATASOURCE_UID

DATASOURCE = dashboard.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
RATE = "$__rate_interval"
WIDTH = 24  # Grafana's grid
RUN = queries.grafana_selector(*RUN_LABELS)
RUN_ROUTE = queries.grafana_selector(*RUN_LABELS, ROUTE_LABEL)
SCENARIO_VAR = "scenario"


def variable(name: str, label: str, source: str, multi: bool = True) -> db.QueryVariable:
    """A variable listing the values of `name` on `source`, filtered by the variables before it."""
    return (
        db.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"label_values({source}, {name})")
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard.VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
        .all_value(".*")
    )


def run_variables(labels: tuple[str, ...] = RUN_LABELS, with_route: bool = False) -> list[db.QueryVariable]:
    """A variable for each of `labels` (by default run_id, target, server, workers, scenario), and
    route: each narrows the next. A dashboard that leaves a run label out passes the same `labels`
    to `base`, so that no query names a variable the dashboard does not define."""
    made, chosen = [], []
    for name in labels:
        source = f"{m.LOCUST_TEST_RUNNING}{{{queries.grafana_selector(*chosen)}}}" if chosen else m.LOCUST_TEST_RUNNING
        made.append(variable(name, name.replace("_", " "), source, multi=True))
        chosen.append(name)
    if with_route:
        made.append(variable(ROUTE_LABEL, "route", f"{m.HTTP_REQUESTS}{{{queries.grafana_selector(*labels)}}}"))
    return made


def point_annotations(labels: tuple[str, ...] = RUN_LABELS) -> db.AnnotationQuery:
    """A region for each point under load, from Locust's `locust_test_running` (no Grafana API needed),
    selected by the variables of `labels` and kept apart by every run label."""
    return (
        db.AnnotationQuery()
        .name("Points under load")
        .datasource(DATASOURCE)
        .enable(True)
        .icon_color("rgba(0, 211, 255, 0.5)")
        .expr(f"{queries.test_running(queries.grafana_selector(*labels), RUN_LABELS)} == 1")
    )


# Grafana's Prometheus annotation options that the SDK's AnnotationQuery does not model; added to the JSON.
ANNOTATION_EXTRA = {
    "step": "1s",
    "titleFormat": "{{target}} {{scenario}}",
    "textFormat": "{{server}} x{{workers}}, run {{run_id}}",
    "tagKeys": "run_id,target,scenario",
}


def query(
    expr: str, legend: str, ref: str = "A", fmt: prometheus_model.PromQueryFormat | None = None, instant: bool = False
) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE)
    if fmt is not None:
        q = q.format(fmt)
    return q.instant() if instant else q.range()


def graph(
    title: str, description: str, unit: str, *queries_: tuple[str, str], width: int = 12, height: int = 8
) -> timeseries.Panel:
    """A time series panel: `queries_` are (PromQL, legend) pairs; `unit` is Grafana's unit id."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .line_width(1)
        .fill_opacity(8)
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["mean", "max", "lastNotNull"])
        )
        .tooltip(common_builder.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI))
    )
    for i, (expr, legend) in enumerate(queries_):
        panel = panel.with_target(query(expr, legend, chr(ord("A") + i)))
    return panel


def limit_line(panel: timeseries.Panel, value: float, color: str = "red") -> timeseries.Panel:
    """Draw `value` as a dashed threshold line (e.g. a trust limit)."""
    return panel.thresholds(
        db.ThresholdsConfig()
        .mode(dashboard.ThresholdsMode.ABSOLUTE)
        .steps([dashboard.Threshold(value=None, color="green"), dashboard.Threshold(value=value, color=color)])
    ).thresholds_style(common_builder.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED))


def slo_lines(panel: timeseries.Panel) -> timeseries.Panel:
    """Series named "SLO ..." (the limits of slo.toml) drawn dashed and red, without fill."""
    return panel.override_by_regexp(
        "^SLO .*",
        [
            dashboard.DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}),
            dashboard.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "red"}),
            dashboard.DynamicConfigValue(id_val="custom.fillOpacity", value=0),
        ],
    )


def base(uid: str, title: str, description: str, tags: list[str], labels: tuple[str, ...] = RUN_LABELS) -> db.Dashboard:
    """A dashboard whose annotation follows the variables of `labels` (those `run_variables` makes)."""
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["loadlab", *tags])
        .editable()
        .timezone("browser")
        .time("now-15m", "now")
        .refresh("5s")
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .annotation(point_annotations(labels))
    )
