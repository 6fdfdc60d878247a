from collections.abc import Iterator

import pytest

from tests.helpers import Running, serve_upstream


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One real upstream for the whole session."""
    with serve_upstream(tmp_path_factory.mktemp("upstream")) as up:
        yield up


@pytest.fixture
def with_upstream(upstream: Running, monkeypatch: pytest.MonkeyPatch) -> Running:
    """Targets started by this test call the session's upstream."""
    monkeypatch.setenv("LOADLAB_UPSTREAM_URL", upstream.url)
    return upstream
