"""The scenario catalogue: what each load scenario requests, of which targets, and what it shows.

Locust request names are the route templates, so client-side and server-side series line up.
"""

from dataclasses import dataclass

from loadlab.contract import routes

TARGETS = ("sync", "async")  # the two targets (targets/sync_app.py, targets/async_app.py)
BOTH = TARGETS
ASYNC = ("async",)


@dataclass(frozen=True)
class Scenario:
    name: str
    route: str  # route template: the Locust request name and the server's `route` label
    query: str  # query string of each request
    targets: tuple[str, ...]  # the targets that serve the route
    shows: str

    @property
    def path(self) -> str:
        return f"{self.route}?{self.query}" if self.query else self.route


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("hello", routes.HELLO, "", BOTH, "the framework's own overhead: no work at all"),
        Scenario("io-sleep", routes.IO_SLEEP, "ms=100", BOTH, "simulated I/O: time.sleep in a thread vs await"),
        Scenario("io-db", routes.IO_DB, "ms=100", BOTH, "PostgreSQL pg_sleep through a sync vs an async pool"),
        Scenario("io-http", routes.IO_HTTP, "ms=100", BOTH, "an upstream HTTP call: httpx.Client vs AsyncClient"),
        Scenario("fanout", routes.IO_FANOUT, "ms=50&n=3", BOTH, "3 upstream calls: sequential vs asyncio.gather"),
        Scenario("cpu", routes.CPU, "n=100000", BOTH, "pure-Python CPU work inline"),
        Scenario("cpu-offload", routes.CPU_OFFLOAD, "n=100000", BOTH, "the same CPU work in a process pool"),
        Scenario("blocking-sleep", routes.BLOCKING_SLEEP, "ms=100", ASYNC, "anti-pattern: time.sleep in async def"),
        Scenario("sync-http", routes.SYNC_HTTP, "ms=100", ASYNC, "anti-pattern: sync HTTP client in async def"),
    )
}
