import signal
from collections.abc import Iterator

import pytest

from tests.helpers import Running, serve_upstream


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the processes the tests start, however the suite itself was started.

    A shell starts a background job (`make test &`, `nohup … &`) with SIGINT ignored, and that is
    inherited down to every loadlab process the tests start, where Python then keeps it ignored: the
    tests that press Ctrl-C (os.kill(pid, SIGINT)) would see it do nothing. With a handler here, the
    children start with SIGINT at its default again (exec resets handlers, not an ignore)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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
