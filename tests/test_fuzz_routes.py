"""Fuzzed query strings on every route of both real targets: any query string gets 200 or 422, never a
server error, and no worker dies.

Each target is served once for the module (two uvicorn worker processes, with the session's upstream
and a PostgreSQL that answers), its routes and their query parameters read from its own OpenAPI
schema, so a route added later is fuzzed too. Hypothesis builds one corpus of query templates,
rendered for each route into raw query strings (at least MIN_INPUTS distinct ones per route): the
route's parameters with any text as value (numbers of every shape, Unicode digits, huge ones,
blanks, percent-escapes that decode to nothing valid), extra parameters of any name, repeats, and
raw junk (`%zz`, `&&`, `=;`), sent with httpx, a few at a time.

The examples are fixed (derandomize, no example database), so CI sees the same inputs every time.
A value the route would accept *and* spend long on (sleeping seconds, looping millions of times) is
left out: such values are the routes' ordinary use, tested elsewhere, and would make this slow. Every
query names each parameter of its route at least once, for the same reason (the defaults sleep
100 ms, and on the async target's blocking route that holds the worker).
"""

import math
import string
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from urllib.parse import parse_qsl, quote

import httpx
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadlab.contract.routes import METRICS
from loadlab.contract.scenarios import TARGETS
from loadlab.contract.settings import DATABASE_URL_ENV
from loadlab.stack import database
from tests.helpers import Running, serve

BATCH = 60  # templates per Hypothesis example (larger lists make Hypothesis much slower)
TEMPLATE_EXAMPLES = 30  # BATCH * TEMPLATE_EXAMPLES templates, each rendered for every route
MIN_INPUTS = 1000  # distinct query strings per route, after the costly ones are left out
PER_ROUTE = MIN_INPUTS  # the most sent to one route, to bound the time
CLIENTS = 4  # requests in flight at once
# the cheapest accepted values only: above these a valid value is left out (see the docstring)
CHEAP = {"ms": 3, "n": 5_000}
RAW_JUNK = string.ascii_letters + string.digits + "%&=;+-._~!$'()*,:@/?[]"
SPECIAL_VALUES = [
    "",
    " ",
    "0",
    "-0",
    "+1",
    "1_0",
    "01",
    "1.0",
    "1.5",
    "1e3",
    "-1",
    "nan",
    "inf",
    "-inf",
    "0x10",
    "true",
    "١٢",
    "１２",
    "²",
    "1" * 5000,
    "9" * 30,
    "-" + "9" * 30,
    "\x00",
    "%",
    "null",
    "[]",
    "{}",
    "ms",
    "\u202e1",
]


def worker_pids(server: Running) -> set[int]:
    """The server's worker processes: its supervisor's children, not multiprocessing's resource tracker."""
    (supervisor,) = psutil.Process(server.proc.pid).children()
    workers = {p.pid for p in supervisor.children() if "resource_tracker" not in " ".join(p.cmdline())}
    assert len(workers) == 2, workers
    return workers


def expensive(query: str, params: dict[str, tuple[int, int]]) -> bool:
    """Would the route accept a value of this query above CHEAP? (parsed as Starlette parses it)"""
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in params:
            continue
        for parse in (int, float):
            try:
                number = parse(value)
            except (ValueError, OverflowError):
                continue
            low, high = params[name]
            if math.isfinite(number) and low <= number <= high and number > CHEAP[name]:
                return True
    return False


def values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=12),
        st.sampled_from(SPECIAL_VALUES),
        st.integers(min_value=-(10**40), max_value=10**40).map(str),
        st.integers(min_value=-2, max_value=8).map(str),
        st.floats().map(repr),
        st.from_regex(r"\A[ +-]?[0-9_]{0,6}(\.[0-9]*)?([eE][+-]?[0-9]{1,3})?\s?\Z"),
    )


# A template is a query string without its route: a value for each of the route's parameters (routes
# have at most two), extra pairs whose name is either any text or the route's parameter number i,
# with a value or bare (no `=`), and raw junk at the end. One corpus of templates, rendered for each
# route, keeps Hypothesis's generation (the costly part) out of the per-route loop.
NAMES = st.one_of(st.text(max_size=8), st.sampled_from(["MS", "m%73", "ms[]", "", "n\x00"]), st.integers(0, 1))
TEMPLATES = st.tuples(
    st.lists(values(), min_size=2, max_size=2),
    st.lists(st.tuples(NAMES, st.one_of(st.none(), values())), max_size=3),
    st.text(alphabet=RAW_JUNK, max_size=10),
)


def render(template, params: dict[str, tuple[int, int]]) -> str:
    own_values, extra, junk = template
    names = list(params)
    pairs = [f"{name}={quote(value, safe='')}" for name, value in zip(names, own_values, strict=False)]
    for name, value in extra:
        name = (names[name % len(names)] if names else "x") if isinstance(name, int) else quote(name, safe="")
        pairs.append(name if value is None else f"{name}={quote(value, safe='')}")
    joined = "&".join(pairs)
    return f"{joined}&{junk}" if junk else joined


@pytest.fixture(scope="module")
def corpus() -> list:
    templates = []

    @settings(
        max_examples=TEMPLATE_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(st.lists(TEMPLATES, min_size=BATCH, max_size=BATCH, unique_by=repr))
    def generate(batch) -> None:
        templates.extend(batch)

    generate()
    return templates


def routes(server: Running) -> dict[str, dict[str, tuple[int, int]]]:
    """Every GET route of the target's OpenAPI schema -> its query parameters and their bounds."""
    schema = httpx.get(server.url + "/openapi.json", timeout=10).json()
    found = {}
    for path, operations in schema["paths"].items():
        params = {}
        for param in operations["get"].get("parameters", []):
            assert param["in"] == "query", (path, param)
            bounds = param["schema"]
            params[param["name"]] = (bounds.get("minimum", -math.inf), bounds.get("maximum", math.inf))
        found[path] = params
    return found


def send(url: str, queries: list[str]) -> list[tuple[str, int]]:
    """GET `url` with each raw query string, CLIENTS at a time; (query, status) in the same order.

    Threads with a keep-alive httpx.Client each: half the client's CPU of one AsyncClient here, and
    the client's CPU is what bounds this test on a 2-core machine."""
    local, clients = threading.local(), []

    def one(query: str) -> tuple[str, int]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30)
            clients.append(local.client)
        return query, local.client.get(httpx.URL(url, query=query.encode("ascii"))).status_code

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            return list(pool.map(one, queries))
    finally:
        for client in clients:
            client.close()


@pytest.fixture(scope="module")
def database_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A PostgreSQL for /io/db: the configured or default one, else a private one for this module."""
    with ExitStack() as stack:
        url, _ = database.for_run(stack, tmp_path_factory.mktemp("fuzz-db") / "postgres.log")
        yield {DATABASE_URL_ENV: url} if url else {}


@pytest.fixture(scope="module", params=TARGETS)
def target(request, upstream: Running, database_env, tmp_path_factory) -> Iterator[tuple[str, Running, dict]]:
    env = {"LOADLAB_UPSTREAM_URL": upstream.url, **database_env}
    with serve(tmp_path_factory.mktemp(f"fuzz-{request.param}"), request.param, "uvicorn-workers", 2, env=env) as s:
        httpx.get(s.url + "/cpu/offload", params={"n": 1}, timeout=30).raise_for_status()  # its pool, made once
        before = worker_pids(s)
        found = routes(s)
        yield request.param, s, found
        assert worker_pids(s) == before, "a worker died and was replaced"
        assert all(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in before)


# the routes of both targets, known before they start (each is checked against the served schema)
ROUTES = {
    "sync": ["/hello", "/io/sleep", "/io/sleep-1trip", "/io/db", "/io/http", "/io/fanout", "/cpu", "/cpu/offload"],
    "async": ["/hello", "/io/sleep", "/io/db", "/io/http", "/io/fanout", "/cpu", "/cpu/offload"],
}
ROUTES["async"] += ["/antipattern/blocking-sleep", "/antipattern/sync-http"]


def test_the_fuzzed_routes_are_every_route_each_target_serves(target):
    name, _, found = target
    assert sorted(found) == sorted([*ROUTES[name], "/healthz"])
    assert METRICS not in found  # /metrics reads no query parameter; it is scraped, not fuzzed


@pytest.mark.parametrize("path", sorted({*ROUTES["sync"], *ROUTES["async"], "/healthz"}))
def test_any_query_string_gets_200_or_422_and_no_worker_dies(target, corpus, path):
    _, server, found = target
    if path not in found:
        pytest.skip("not a route of this target")
    params = found[path]
    queries = list(dict.fromkeys(q for q in (render(t, params) for t in corpus) if not expensive(q, params)))
    assert len(queries) >= MIN_INPUTS, len(queries)
    sent = send(server.url + path, queries[:PER_ROUTE])
    wrong = [(q, status) for q, status in sent if status not in (200, 422)]
    assert not wrong, f"{path}: {len(wrong)} of {len(sent)}, e.g. {wrong[:5]}"
    statuses = {status for _, status in sent}
    if params:  # the fuzz reached both sides of the parser
        assert statuses == {200, 422}, statuses
    print(f"{path} ({server.url}): {len(sent)} query strings, statuses {sorted(statuses)}")
