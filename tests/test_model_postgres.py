"""The queueing model's max_connections is the PostgreSQL server's own, asked of real servers: the
system one on 127.0.0.1:5432 and the private one a run starts (no mocks); and where no server
answers, the model says the figure is unknown instead of using a made-up one."""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from loadlab.contract.settings import DATABASE_URL_ENV
from loadlab.results.sweep import ConfigResult, Configuration, SweepStep, SweepSummary
from loadlab.stack import database, ports
from loadlab.stack.postgres import PrivatePostgres
from loadlab.sweep.engine import postgres_max_connections
from loadlab.tuning import analysis

SYSTEM = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def private() -> Iterator[PrivatePostgres]:
    with tempfile.TemporaryDirectory(prefix="loadlab-test-model-") as folder, PrivatePostgres(Path(folder)) as pg:
        yield pg


def shown(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SHOW max_connections").fetchone()[0])


def io_db(workers: int, pool: int) -> SweepSummary:
    """A sweep that measured the async io-db route at 1500 rps with `workers` × `pool` connections."""
    config = Configuration("async", "io-db", "uvicorn-workers", workers, 40, pool)
    steps = [SweepStep(1500.0, True, "a", 1500.0, 120.0, 0.0), SweepStep(1575.0, False, "a", 1500.0, 900.0, 0.0)]
    done = ConfigResult(config, steps, 1500.0, 1500.0, 120.0, None, stopped="within 5%")
    return SweepSummary("s", "complete", 0.0, {}, cores=2, configs=[done])


def test_the_figure_is_what_the_system_postgresql_says():
    if database.max_connections(SYSTEM) is None:
        pytest.skip(f"no PostgreSQL answers at {SYSTEM}")
    assert database.max_connections(SYSTEM) == shown(SYSTEM)


def test_the_figure_is_what_the_private_postgresql_says(private, monkeypatch):
    assert database.max_connections(private.url) == shown(private.url) == 200
    monkeypatch.setenv(DATABASE_URL_ENV, private.url)  # the targets' database, as a run configures it
    assert postgres_max_connections() == 200


def test_the_sweeps_model_uses_the_servers_figure(private, monkeypatch):
    monkeypatch.setenv(DATABASE_URL_ENV, private.url)
    s = io_db(workers=8, pool=20)  # 160 connections: within the server's 200
    analysis.analyse(s, postgres_max_connections())
    assert (s.configs[0].model.binding, s.configs[0].model.ceiling_rps) == ("pool", pytest.approx(1600.0))
    s = io_db(workers=10, pool=25)  # 250 connections: the server's 200 bind
    analysis.analyse(s, postgres_max_connections())
    assert s.configs[0].model.binding == "max_connections"
    assert s.configs[0].model.explanation.startswith("max_connections: PostgreSQL's 200 connections")


def test_where_no_server_answers_the_figure_is_unknown_and_said_to_be_assumed(monkeypatch):
    nobody = f"postgresql://postgres@127.0.0.1:{ports.free_port()}/postgres"
    assert database.max_connections(nobody, timeout=1) is None
    monkeypatch.setenv(DATABASE_URL_ENV, nobody)
    asked = postgres_max_connections()
    assert asked is None
    s = io_db(workers=8, pool=20)
    analysis.analyse(s, asked)
    m = s.configs[0].model
    assert m.binding == "pool"  # not capped by a figure nobody said
    assert "max_connections unknown (no server asked): assumed to admit all 160" in m.explanation
    assert "assumed" in s.recommendations[0].why
