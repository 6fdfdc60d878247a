"""The scenario catalogue: what each load scenario requests, of which targets, and what it shows.

Locust request names are the route templates, so client-side and server-side series line up.

Each scenario also states how many times a request of it borrows a thread from anyio's limiter on
the sync target (`sync_trips`): FastAPI runs a `def` handler in the threadpool, and then, when the
route has a response model (a return annotation such as `-> dict[str, int]` makes one), validates
the response in a second `run_in_threadpool` call. So 2 for a `def` route with a response model, 1
for one without (io-sleep-1trip returns a JSONResponse), and 0 on the async target, whose `async def`
handlers validate inline. tests/test_threadpool_trips.py counts them on the real apps.
"""

from dataclasses import dataclass

from loadlab.contract import routes

TARGETS = ("sync", "async")  # the two targets (targets/sync_app.py, targets/async_app.py)
BOTH = TARGETS
ASYNC = ("async",)
SYNC = ("sync",)


@dataclass(frozen=True)
class Scenario:
    name: str
    route: str  # route template: the Locust request name and the server's `route` label
    query: str  # query string of each request
    targets: tuple[str, ...]  # the targets that serve the route
    shows: str
    sync_trips: int = 2  # threadpool borrowings per request on the sync target (see the module's docstring)

    def trips(self, target: str) -> int:
        """Threadpool borrowings per request on `target`: the async target's handlers make none."""
        return self.sync_trips if target == "sync" else 0

    @property
    def path(self) -> str:
        return f"{self.route}?{self.query}" if self.query else self.route


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("hello", routes.HELLO, "", BOTH, "the framework's own overhead: no work at all"),
        Scenario("io-sleep", routes.IO_SLEEP, "ms=100", BOTH, "simulated I/O: time.sleep in a thread vs await"),
        Scenario(
            "io-sleep-1trip",
            routes.IO_SLEEP_ONE_TRIP,
            "ms=100",
            SYNC,
            "io-sleep with no response model: one threadpool trip, not two",
            sync_trips=1,
        ),
        Scenario("io-db", routes.IO_DB, "ms=100", BOTH, "PostgreSQL pg_sleep through a sync vs an async pool"),
        Scenario("io-http", routes.IO_HTTP, "ms=100", BOTH, "an upstream HTTP call: httpx.Client vs AsyncClient"),
        Scenario("fanout", routes.IO_FANOUT, "ms=50&n=3", BOTH, "3 upstream calls: sequential vs asyncio.gather"),
        Scenario("cpu", routes.CPU, "n=100000", BOTH, "pure-Python CPU work inline"),
        Scenario("cpu-offload", routes.CPU_OFFLOAD, "n=100000", BOTH, "the same CPU work in a process pool"),
        Scenario("blocking-sleep", routes.BLOCKING_SLEEP, "ms=100", ASYNC, "anti-pattern: time.sleep in async def"),
        Scenario("sync-http", routes.SYNC_HTTP, "ms=100", ASYNC, "anti-pattern: sync HTTP client in async def"),
    )
}
