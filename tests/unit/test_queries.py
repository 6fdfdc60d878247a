"""The PromQL builders as strings; that each returns data from a real run is checked in tests/test_run.py."""

import pytest

from loadlab import queries
from loadlab.contract import metrics as m


def test_selector_quotes_values_and_skips_none():
    assert queries.selector(run_id="r1", target="sync", server=None) == 'run_id="r1",target="sync"'
    assert queries.selector(scenario='we"ird\\') == 'scenario="we\\"ird\\\\"'


def test_selector_refuses_a_label_that_is_not_a_run_label():
    with pytest.raises(ValueError, match="not a run label: pid"):
        queries.selector(pid="1")


def test_grafana_selector_matches_template_variables():
    assert queries.grafana_selector("run_id", "target") == 'run_id=~"$run_id",target=~"$target"'


def test_totals_read_the_last_value_of_a_range_so_exited_processes_still_count():
    sel = queries.selector(run_id="r1")
    assert queries.server_requests_total(sel, "25s", route="/hello") == (
        f'sum(last_over_time({m.HTTP_REQUESTS}{{run_id="r1",route="/hello"}}[25s]))'
    )
    assert queries.client_requests_total(sel, "25s", route="/hello") == (
        f'sum(last_over_time({m.LOCUST_REQUESTS}{{run_id="r1",name="/hello"}}[25s]))'
    )
    assert queries.late_total(sel, "25s") == f'sum(last_over_time({m.LOCUST_LATE}{{run_id="r1"}}[25s]))'


def test_quantiles_keep_le_and_the_grouping_labels():
    assert queries.server_latency_quantile(0.99, 'run_id="r1"', "12s", by=("route",)) == (
        f'histogram_quantile(0.99, sum by (le, route) (increase({m.HTTP_REQUEST_DURATION}_bucket{{run_id="r1"}}[12s])))'
    )
    assert queries.loop_lag_quantile(0.5, "", "$__rate_interval") == (
        f"histogram_quantile(0.5, sum by (le) (increase({m.EVENT_LOOP_LAG}_bucket[$__rate_interval])))"
    )


def test_window_figures():
    cpu = f'{m.PROCESS_CPU}{{target="sync"}}'
    assert (
        queries.server_cpu_seconds('target="sync"', "12s")
        == f"sum(max_over_time({cpu}[12s]) - min_over_time({cpu}[12s]))"
    )
    requests = f'{m.HTTP_REQUESTS}{{target="sync",route="/hello"}}'
    assert (
        queries.server_requests_scraped('target="sync"', "12s", route="/hello")
        == f"sum(max_over_time({requests}[12s]) - min_over_time({requests}[12s]))"
    )
    assert queries.generator_cpu_max("", "12s") == f"max(max_over_time({m.LOCUST_CPU}[12s]))"  # no empty {}


def test_rates_group_by_what_they_are_asked_to():
    assert queries.server_rps('run_id=~"$run_id"', "$__rate_interval", ("route",)) == (
        f'sum by (route) (rate({m.HTTP_REQUESTS}{{run_id=~"$run_id"}}[$__rate_interval]))'
    )
    assert queries.client_error_ratio("", "5s") == (
        f'sum (rate({m.LOCUST_REQUESTS}{{result="failure"}}[5s])) / sum (rate({m.LOCUST_REQUESTS}[5s]))'
    )
