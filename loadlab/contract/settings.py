"""Target settings, read once from `LOADLAB_*` environment variables: how the lab configures a target."""

import os

from pydantic_settings import BaseSettings, SettingsConfigDict

from loadlab.contract.ports import UPSTREAM_PORT

ENV_PREFIX = "LOADLAB_"
DATABASE_URL_ENV = f"{ENV_PREFIX}DATABASE_URL"
UPSTREAM_URL_ENV = f"{ENV_PREFIX}UPSTREAM_URL"
METRICS_HOST_ENV = f"{ENV_PREFIX}METRICS_HOST"
METRICS_PORT_ENV = f"{ENV_PREFIX}METRICS_PORT"

# What a target runs with unless told otherwise (`loadlab run --threads/--db-pool`, the sweep, the stack).
DEFAULT_THREADS = 40  # anyio's default thread limiter size
DEFAULT_DB_POOL = 10  # connections per worker's pool


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    # No port: libpq takes PGPORT, else 5432; likewise PGHOST when the host is left out.
    database_url: str = "postgresql://postgres@127.0.0.1/postgres"
    upstream_url: str = f"http://127.0.0.1:{UPSTREAM_PORT}"
    # Labels that tell series of different targets/servers apart; set by `loadlab serve`.
    target: str = "unknown"
    server: str = "unknown"
    threads: int = DEFAULT_THREADS
    db_pool_size: int = DEFAULT_DB_POOL
    db_timeout_s: float = 10.0  # how long a request waits for a pooled connection
    http_pool_size: int = 200
    http_timeout_s: float = 60.0
    cpu_processes: int = os.cpu_count() or 2
    loop_probe_interval_s: float = 0.05
    # Where every worker serves the merged metrics from a thread of its own, all on one port
    # (targets.instrumentation): a blocked event loop cannot stop it. 0: only /metrics on the app's port.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    # Off only for the instrumentation benchmark, which compares the same app with and without it.
    instrument: bool = True


def get_settings() -> Settings:
    return Settings()
