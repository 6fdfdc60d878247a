"""`loadlab sweep --app`, the parts that need no process: a user's app and load in the sweep's
matrix (its name as target, its load as scenario, only servers of its kind), through sweep.json and
resume, into each run's RunConfig, the analysis without a model, and the SLO it must be given."""

from pathlib import Path

import pytest

from loadlab.config.own import AppUnderTest, OwnLoad
from loadlab.config.run_config import plan
from loadlab.errors import LoadlabError
from loadlab.results.sweep import ConfigResult, SweepFolder, SweepStep
from loadlab.sweep.configuration import ConfigSearch
from loadlab.sweep.engine import Sweep
from loadlab.sweep.settings import SweepConfig, read_toml
from loadlab.tuning import analysis


def own(kind: str = "wsgi", ref: str = "notes.app:app") -> OwnLoad:
    app = AppUnderTest(ref, "/srv/app", False, None, "/health", kind, ("/notes", "/notes/<int:note_id>"))
    return OwnLoad(app, None, "/health", None, "/srv/app/requests.toml")


def config(**values) -> SweepConfig:
    return SweepConfig(**{"own": own(), "p99_ms": 200.0, "servers": ["gunicorn-sync"], "workers": [2], **values})


def test_a_wsgi_app_is_swept_under_gunicorns_workers_only_its_threads_under_gthread():
    c = config(servers=["uvicorn-workers", "gunicorn-sync", "gunicorn-gthread"], workers=[1, 2], threads=[4, 8])
    c.validate()
    found = [(x.target, x.scenario, x.server, x.workers, x.threads) for x in c.configurations()]
    assert found == [
        ("notes", "requests", "gunicorn-sync", 1, 1),  # a sync worker: one request at a time, once
        ("notes", "requests", "gunicorn-sync", 2, 1),
        ("notes", "requests", "gunicorn-gthread", 1, 4),
        ("notes", "requests", "gunicorn-gthread", 1, 8),
        ("notes", "requests", "gunicorn-gthread", 2, 4),
        ("notes", "requests", "gunicorn-gthread", 2, 8),
    ]


def test_an_asgi_app_keeps_the_asgi_servers_and_ignores_the_labs_targets_and_scenarios():
    c = config(own=own("asgi", "dsapp:app"), servers=["uvicorn", "uvicorn-workers", "gunicorn-sync"], workers=[1, 2])
    c.targets, c.scenarios = ["sync", "async"], ["io-db"]
    c.validate()
    found = [(x.target, x.scenario, x.server, x.workers) for x in c.configurations()]
    assert found == [
        ("dsapp", "requests", "uvicorn", 1),
        ("dsapp", "requests", "uvicorn-workers", 1),
        ("dsapp", "requests", "uvicorn-workers", 2),
    ]


def test_a_matrix_without_a_server_of_the_apps_kind_is_refused_in_one_line():
    with pytest.raises(LoadlabError, match=r"^notes.app:app is a WSGI app: sweep it with --server gunicorn-sync,"):
        config(servers=["uvicorn-workers"]).validate()
    with pytest.raises(LoadlabError, match=r"^dsapp:app is an ASGI app: sweep it with --server uvicorn,"):
        config(own=own("asgi", "dsapp:app"), servers=["gunicorn-gthread"]).validate()


def test_a_users_app_needs_a_p99_limit_from_the_option_or_the_slo_files_default(tmp_path):
    slo = tmp_path / "slo.toml"
    slo.write_text("[default]\nerror_ratio = 0.01\n\n[scenario.io-sleep]\np99_ms = 100\n")
    with pytest.raises(LoadlabError) as caught:
        config(p99_ms=None, slo_file=str(slo)).validate()
    assert str(caught.value) == f"no p99 limit for your app in {slo}: give one with --p99-ms or under [default]"
    slo.write_text("[default]\np99_ms = 300\nerror_ratio = 0.02\n")
    c = config(p99_ms=None, slo_file=str(slo))
    c.validate()
    assert c.limits("requests") == (300, 0.02)
    assert config(slo_file=str(slo), error_ratio=0.5).limits("requests") == (200.0, 0.5)  # the options win


def test_the_app_goes_into_every_runs_config(tmp_path):
    c = config()
    search = ConfigSearch(c, SweepFolder(tmp_path), lambda: None, lambda line: None)
    (configuration,) = c.configurations()
    run_config = search.run_config(configuration, configuration.id)
    assert run_config.own == c.own and run_config.points == [("requests", "notes")]
    (point,) = plan(run_config)
    assert (point.target, point.scenario.name) == ("notes", "requests")


def test_the_app_survives_sweep_json_and_resumes_only_the_same_app(tmp_path):
    first = Sweep(config(results_root=str(tmp_path), sweep_id="s"))
    first.open()
    resumed = Sweep(config(results_root=str(tmp_path), sweep_id="s")).open()  # the same app: resumed
    assert resumed.settings["own"]["app"]["ref"] == "notes.app:app"
    assert resumed.settings["own"]["app"]["routes"] == ["/notes", "/notes/<int:note_id>"]
    other = Sweep(config(results_root=str(tmp_path), sweep_id="s", own=own(ref="notes.other:app")))
    with pytest.raises(LoadlabError, match=r"holds a sweep with other settings \(own\)"):
        other.open()


def test_a_sweep_file_cannot_name_the_app(tmp_path: Path):
    path = tmp_path / "sweep.toml"
    path.write_text('own = "x"\n')
    with pytest.raises(LoadlabError, match="unknown key 'own'"):
        read_toml(path)


def test_the_analysis_has_no_model_for_a_users_app_and_says_so():
    (c,) = config().configurations()
    result = ConfigResult(c)
    held, broke = SweepStep(100.0, True, "r", 99.0, 20.0, 0.0), SweepStep(200.0, False, "r", 150.0, 900.0, 0.0, ["p99"])
    result.steps = [held, broke]
    result.stopped, result.capacity_rps, result.broke_rps, result.capacity_measured_rps = "done", 100.0, 200.0, 99.0
    assert analysis.model_beside(result, cores=2, max_connections=None) is None
    assert analysis.bound_by(result).startswith("the SLO (no queueing model for your own app")
