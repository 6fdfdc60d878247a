"""Which PostgreSQL a run's targets use: the configured one, or a private one started for the run.

`LOADLAB_DATABASE_URL` set: that database, and a clear error before anything starts if it does not
answer. Not set: the targets' default URL (libpq's PGHOST/PGPORT apply to it, as to any client)
if a server answers there; else a private PostgreSQL (`loadlab.stack.postgres`) for this run
only, stopped and deleted when the run ends. That one listens on no TCP port: only on a Unix socket
in a folder no other user may enter, whose URL the targets get through the environment.
"""

import os
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

import psycopg

from loadlab.contract.messages import first_line, redact
from loadlab.contract.settings import DATABASE_URL_ENV, Settings
from loadlab.errors import FAILED, LoadlabError

CHECK_TIMEOUT_S = 3


def check(url: str, status: int = FAILED) -> None:
    """A clear error now when the database at `url` does not answer, rather than a target's later."""
    try:
        psycopg.connect(url, connect_timeout=CHECK_TIMEOUT_S).close()
    except psycopg.Error as exc:
        raise LoadlabError(
            f"cannot reach PostgreSQL at {redact(url)} ({first_line(exc)}); start it or set {DATABASE_URL_ENV}",
            status,
        ) from None


def for_run(stack: ExitStack, log: Path) -> tuple[str | None, str | None]:
    """(URL the targets must be given, a line telling the user why) — (None, None) when they use their own."""
    if DATABASE_URL_ENV in os.environ:
        check(os.environ[DATABASE_URL_ENV])
        return None, None
    from loadlab.stack import postgres  # only when no database was configured

    default = Settings().database_url
    if postgres.answers(default):
        return None, None
    # Under /tmp, not the results folder: as root the server runs as the `postgres` user, which must reach it.
    directory = Path(tempfile.mkdtemp(prefix="loadlab-postgres-"))
    stack.callback(shutil.rmtree, directory, ignore_errors=True)
    server = stack.enter_context(postgres.PrivatePostgres(directory, log=log))
    return server.url, (
        f"no PostgreSQL answers at {redact(default)} and {DATABASE_URL_ENV} is not set: "
        f"started a private one for this run, on a Unix socket only (in {directory}, closed to other users)"
    )


ASK_TIMEOUT_S = 3  # how long `max_connections` waits for PostgreSQL to answer


def max_connections(url: str, timeout: float = ASK_TIMEOUT_S) -> int | None:
    """`SHOW max_connections` of the PostgreSQL at `url`; None when none answers there."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout))) as conn:
            row = conn.execute("SHOW max_connections").fetchone()
    except (psycopg.Error, OSError):
        return None
    return int(row[0]) if row else None
