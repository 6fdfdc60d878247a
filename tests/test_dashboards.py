"""Every dashboard shows data from a real run, and every metric a dashboard or rule names is one that exists.

One short open-model run (sync and async targets: the open-model panels need it, the others do
not mind) is made for the module; `loadlab prometheus` then serves its TSDB, as a user would before
pointing Grafana at it, and every query of every panel, variable and annotation is evaluated over
the run's time range with Grafana's variables substituted as Grafana substitutes them ("All"
selected, `$__rate_interval` from the 1 s scrape interval).
"""

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from loadlab import REPO, rules
from loadlab.dashboards import dashboards, panel_queries
from loadlab.results.folder import RunFolder
from loadlab.stack import ports, procs
from tests.dashboard_queries import UndefinedVariable, empty_panels, queries, substitute
from tests.helpers import LOADLAB, wait_http

RUN_ID = "dash"
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")
METRIC = re.compile(r"(?<![\w$])(?:loadlab_[a-z_]+|locust_[a-z_]+|[a-z][a-z_]*:[a-z0-9_:]+)\b")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """(URL of a Prometheus serving the run's TSDB, the run's summary)."""
    root = tmp_path_factory.mktemp("dashboards")
    args = ["--run-id", RUN_ID, "--results", str(root), "--scenario", "io-sleep", "--model", "open", "--rate", "20"]
    args += ["--duration", "4s", "--warmup", "2s", "--server", "uvicorn-workers", "--workers", "2"]
    run = subprocess.run(
        [*LOADLAB, "run", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr + run.stdout
    assert f"loadlab prometheus {RUN_ID}" in run.stdout  # the run says how to serve its data again
    summary = json.loads(RunFolder(root / RUN_ID).summary_file.read_text())
    summary["run_folder"] = str(root / RUN_ID)
    port = ports.free_port()
    log = root / "reopen.log"
    proc = procs.start([*LOADLAB, "prometheus", RUN_ID, "--results", str(root), "--port", str(port)], log=log)
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc, log)
        yield f"http://127.0.0.1:{port}", summary
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        assert proc.wait(60) == 0, log.read_text()  # its Prometheus gets 15 s after SIGTERM, then SIGKILL
        assert not procs.group_alive(proc.pid)


def test_every_panel_query_returns_data_from_the_run(served):
    url, summary = served
    start = min(p["started_at"] for p in summary["points"]) - 5
    end = max(p["ended_at"] for p in summary["points"]) + 5
    checked, empty = empty_panels(url, RUN_ID, start, end)
    assert checked > 30
    assert empty == []


def test_every_template_variable_lists_values(served):
    url, _ = served
    for dashboard in dashboards():
        for variable in dashboard["templating"]["list"]:
            match = LABEL_VALUES.match(variable["query"])
            assert match, variable["query"]
            selector = substitute(match["selector"], dashboard, RUN_ID, 0, 60)
            response = httpx.get(
                f"{url}/api/v1/label/{match['label']}/values", params={"match[]": selector}, timeout=30
            ).json()
            assert response["data"], f"{dashboard['title']}: ${variable['name']} lists nothing ({selector})"


def test_every_query_names_only_its_dashboards_variables_or_grafanas():
    """Grafana leaves a variable the dashboard does not define as typed: `target=~"$target"` then
    matches nothing, and the panel, variable or annotation stays empty without an error."""
    undefined = []
    for dashboard in dashboards():
        for where, expr in queries(dashboard):
            try:
                substitute(expr, dashboard, RUN_ID, 0, 60)
            except UndefinedVariable as error:
                undefined.append(f"{where}: {error}")
    assert undefined == []


def test_substitute_fills_in_grafanas_builtins_and_refuses_an_unknown_variable():
    dashboard = {"title": "d", "templating": {"list": [{"name": "run_id"}, {"name": "scenario"}]}}
    expr = 'rate(m{run_id=~"$run_id",scenario=~"${scenario}"}[$__rate_interval]) * $__range_s / ${__to}'
    assert substitute(expr, dashboard, "r1", 100, 160) == 'rate(m{run_id=~"r1",scenario=~".*"}[4s]) * 60 / 160000'
    assert substitute("m[$__interval] offset $__range", dashboard, "r1", 0, 30) == "m[1s] offset 30s"
    for unknown in ('m{target=~"$target"}', 'm{target=~"${target:regex}"}', 'm{target=~"[[target]]"}'):
        with pytest.raises(UndefinedVariable, match=r"d: .*target.* neither a variable of the dashboard"):
            substitute(unknown, dashboard, "r1", 0, 60)


def test_every_metric_named_by_a_dashboard_or_rule_exists(served):
    url, _ = served
    stored = set(httpx.get(f"{url}/api/v1/label/__name__/values", timeout=30).json()["data"])
    rule_text = (REPO / "prometheus" / "rules" / "loadlab.rules.yml").read_text()
    recorded = set(re.findall(r"record: (\S+)", rule_text))
    exprs = [expr for d in dashboards() for _, expr in panel_queries(d)]
    exprs += [v["query"] for d in dashboards() for v in d["templating"]["list"]]
    exprs += re.findall(r"expr: (.+)", rule_text)
    named = {name for expr in exprs for name in METRIC.findall(expr)}
    assert named, "no metric names found: the pattern is wrong"
    assert rules.SLO_LIMIT in named
    assert named - stored - recorded == set()


def test_a_typo_in_a_metric_name_would_be_caught(served):
    """The check above is not vacuous: a misspelt name is neither stored nor recorded."""
    url, _ = served
    stored = set(httpx.get(f"{url}/api/v1/label/__name__/values", timeout=30).json()["data"])
    assert "loadlab_http_requests_total" in stored
    assert "loadlab_http_request_total" not in stored


def test_loadlab_prometheus_refuses_a_folder_without_data_or_a_taken_port(tmp_path, served):
    url, summary = served
    empty = {
        "schema_version": 1,
        "run_id": "empty",
        "status": "complete",
        "started_at": 1.0,
        "config": {},
        "points": [],
    }
    (tmp_path / "empty").mkdir()
    RunFolder(tmp_path / "empty").summary_file.write_text(json.dumps(empty))
    taken = url.rsplit(":", 1)[1]  # the port the module's `loadlab prometheus` listens on
    for args, words in (
        (["empty", "--results", str(tmp_path)], ["no Prometheus data to reopen"]),
        (["nope", "--results", str(tmp_path)], ["no run 'nope'"]),
        ([summary["run_folder"], "--port", taken], ["port", taken, "already in use"]),
    ):
        result = subprocess.run([*LOADLAB, "prometheus", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert all(w in result.stderr for w in words), result.stderr
