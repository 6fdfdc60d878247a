"""What `loadlab sweep` is asked for: the matrix and the search settings, from the command line or a
TOML file with the same keys (`read_toml`), with `--quick`'s coarser settings (`QUICK`)."""

import tomllib
import types
import typing
from dataclasses import dataclass, field, replace
from itertools import product
from pathlib import Path
from typing import Any

from loadlab.config.own import OwnLoad
from loadlab.contract.app import ASGI
from loadlab.contract.scenarios import SCENARIOS, TARGETS
from loadlab.contract.settings import DEFAULT_DB_POOL, DEFAULT_THREADS
from loadlab.errors import LoadlabError
from loadlab.judge import slo
from loadlab.results.sweep import Configuration
from loadlab.stack import pinning, placement, servers
from loadlab.tuning.search import SearchSettings

DEFAULT_WORKERS = (1, 2, 3, 4, 6, 8)


@dataclass
class SweepConfig:
    """What `loadlab sweep` is asked for (command line, or a TOML file with the same keys)."""

    servers: list[str] = field(default_factory=lambda: ["uvicorn-workers"])
    workers: list[int] = field(default_factory=lambda: list(DEFAULT_WORKERS))
    threads: list[int] = field(default_factory=lambda: [DEFAULT_THREADS])
    db_pool: list[int] = field(default_factory=lambda: [DEFAULT_DB_POOL])
    targets: list[str] = field(default_factory=lambda: list(TARGETS))
    scenarios: list[str] = field(default_factory=lambda: ["io-sleep"])
    start_rate: float = 50.0
    factor: float = 2.0
    precision: float = 0.05
    max_rate: float = 5000.0
    max_steps: int = 15
    confirm: int = 2  # the highest held and the lowest broken rate, each measured this many more times
    pin: str = "auto"  # generator and target on separate CPUs (loadlab run --pin)
    duration_s: float = 5.0  # per step: enough for a p99 at the rates these machines reach
    warmup_s: float = 2.0
    p99_ms: float | None = None  # None: slo.toml's for each scenario
    error_ratio: float | None = None
    slo_file: str = str(slo.DEFAULT_FILE)
    sweep_id: str = ""
    results_root: str = "results"
    locust_workers: int = 0  # Locust workers started apart (loadlab run --expect-workers)
    master_bind: str | None = None  # loadlab run --master-bind
    target_host: str | None = None  # loadlab run --target-host: one configuration, as served there by hand
    own: OwnLoad | None = None  # a user's app and load (`--app`): its name is the target, its load the scenario

    def search(self) -> SearchSettings:
        return SearchSettings(
            self.start_rate, self.factor, self.precision, self.max_rate, self.max_steps, confirm=self.confirm
        )

    def configurations(self) -> list[Configuration]:
        """The matrix, without combinations that cannot run (plain uvicorn has one worker; a
        scenario served by one target only; a user's app under a server of another kind, and its
        threads anywhere but under gunicorn-gthread, where they are the worker's threads)."""
        found = []
        for server, workers, threads, pool, target, scenario in product(
            self.servers, self.workers, self.threads, self.db_pool, *self.subjects()
        ):
            if server == "uvicorn" and workers != 1:
                continue
            if self.own is None and target not in SCENARIOS[scenario].targets:
                continue
            if self.own is not None:
                if server not in self.own_servers():
                    continue
                threads = threads if server == "gunicorn-gthread" else 1
            found.append(Configuration(target, scenario, server, workers, threads, pool))
        found = list(dict.fromkeys(found))  # a user's app under one-thread servers: each once
        if not found:
            raise LoadlabError("the sweep's matrix is empty: no server, worker count and target combine")
        return found

    def subjects(self) -> tuple[list[str], list[str]]:
        """(targets, scenarios): the lab's, or a user's app's name and the name of its load."""
        if self.own is None:
            return self.targets, self.scenarios
        return [self.own.target], [self.own.scenario.name]

    def own_servers(self) -> tuple[str, ...]:
        """The server kinds that serve the user's app: ASGI ones or Gunicorn's WSGI workers."""
        assert self.own is not None and self.own.app is not None
        return servers.ASGI_SERVERS if self.own.app.kind == ASGI else servers.WSGI_SERVERS

    def limits(self, scenario: str) -> tuple[float | None, float | None]:
        """(p99 limit ms, error ratio limit) for `scenario`: the overrides, else the SLO file's."""
        applicable = slo.applicable(slo.load(Path(self.slo_file)), scenario)
        p99 = self.p99_ms if self.p99_ms is not None else applicable.get("p99_ms")
        errors = self.error_ratio if self.error_ratio is not None else applicable.get("error_ratio")
        return p99, errors

    def validate(self) -> None:
        targets, scenarios = self.subjects()
        unknown = [s for s in scenarios if s not in SCENARIOS and self.own is None]
        if unknown:
            raise LoadlabError(f"unknown scenario {unknown[0]!r}; valid: {', '.join(SCENARIOS)}")
        bad = [s for s in self.servers if s not in servers.SERVERS]
        if bad:
            raise LoadlabError(f"unknown server {bad[0]!r}; valid: {', '.join(servers.SERVERS)}")
        bad = [t for t in targets if t not in TARGETS and self.own is None]
        if bad:
            raise LoadlabError(f"unknown target {bad[0]!r}; valid: {', '.join(TARGETS)}")
        if self.target_host is not None:
            try:  # as --target-host checks it; a sweep file's value too
                placement.target_host(self.target_host)
            except ValueError as exc:
                raise LoadlabError(f"target_host: {exc}") from None
            if self.own is not None:
                raise LoadlabError("--target-host places the lab's targets: a sweep of your app serves it here")
            many = [name for name in ("servers", "workers", "threads", "db_pool") if len(getattr(self, name)) != 1]
            if many:
                raise LoadlabError(
                    f"with --target-host the targets run as served there: give one value of {', '.join(many)}"
                )
        if self.own is not None and self.own.app is None:
            raise LoadlabError("a sweep serves your app itself: give --app (--url is for loadlab run)")
        if self.own is not None and not set(self.servers) & set(self.own_servers()):
            app = self.own.app
            assert app is not None
            kind = f"{'an' if app.kind == ASGI else 'a'} {app.kind.upper()} app"
            raise LoadlabError(f"{app.ref} is {kind}: sweep it with --server {','.join(self.own_servers())}")
        for name in ("workers", "threads", "db_pool"):
            values = getattr(self, name)
            if not values or any(not isinstance(v, int) or v < 1 for v in values):
                raise LoadlabError(f"{name} must be whole numbers of at least 1, got {values!r}")
        if self.duration_s <= 0 or self.warmup_s < 0:
            raise LoadlabError("a step's duration must be above 0 and its warm-up at least 0")
        if self.pin not in pinning.CHOICES:
            raise LoadlabError(f"pin must be one of {', '.join(pinning.CHOICES)}, got {self.pin!r}")
        self.search()  # its own checks
        for scenario in scenarios:
            if self.limits(scenario)[0] is None:
                name, where = (repr(scenario), "in the SLO file") if not self.own else ("your app", "under [default]")
                raise LoadlabError(f"no p99 limit for {name} in {self.slo_file}: give one with --p99-ms or {where}")


# `loadlab sweep --quick`: a first look in a few minutes (options given beside it still win)
QUICK: dict[str, Any] = {
    "servers": ["uvicorn-workers"],
    "workers": [1, 2, 4],
    "targets": list(TARGETS),
    "scenarios": ["io-sleep"],
    "start_rate": 100.0,
    "factor": 4.0,
    "precision": 0.25,
    "max_rate": 1600.0,
    "duration_s": 2.0,
    "warmup_s": 1.0,
    "confirm": 1,  # a first look: the held and broken rates once more each, within --quick's 4 minutes
}


def read_toml(path: Path) -> dict[str, Any]:
    """A sweep file's keys, checked against SweepConfig's (one line naming a wrong key)."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LoadlabError(f"cannot read sweep file {path}: {exc}") from None
    known = set(SweepConfig.__dataclass_fields__) - {"own"}  # a user's app: --app and its options
    for key in data:
        if key not in known:
            raise LoadlabError(f"{path}: unknown key {key!r}; known: {', '.join(sorted(known))}")
    hints = typing.get_type_hints(SweepConfig)
    for key, value in data.items():
        if not _is(value, hints[key]):
            raise LoadlabError(f"{path}: {key} must be {_kind(hints[key])}, got {value!r}")
    return data


def _is(value: Any, kind: Any) -> bool:
    """Whether a TOML value fits a SweepConfig field's type (a whole number is a number too)."""
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        return isinstance(value, list) and all(_is(v, item) for v in value)
    if typing.get_origin(kind) in (types.UnionType, typing.Union):
        return any(_is(value, k) for k in typing.get_args(kind) if k is not type(None))
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind) if isinstance(kind, type) else True


def _kind(kind: Any) -> str:
    if typing.get_origin(kind) is list:
        return f"a list of {_kind(typing.get_args(kind)[0]).removeprefix('a ')}s"
    if typing.get_origin(kind) in (types.UnionType, typing.Union):
        return " or ".join(_kind(k) for k in typing.get_args(kind) if k is not type(None))
    return {float: "a number", int: "a whole number", str: "text"}.get(kind, str(kind))


def with_overrides(base: SweepConfig, values: dict[str, Any]) -> SweepConfig:
    return replace(base, **{k: v for k, v in values.items() if v is not None})
