"""A user's own service as a run measures it: the app loadlab serves (`--app`) or the URL it loads
(`--url`), the load (`--locustfile` or `--requests`), and the one scenario that stands for that load.
Everything here is checked before any process starts: each problem is one line and exit status 2."""

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from loadlab.contract.app import app_env, app_name
from loadlab.contract.scenarios import SCENARIOS, Scenario
from loadlab.errors import LoadlabError
from loadlab.load import requests_file
from loadlab.load.user_env import load_env
from loadlab.stack.user_app import check_server, probe

DEFAULT_HEALTH = "/"
URL_TARGET = "service"  # the `target` label of a service loadlab did not start (--url)


@dataclass(frozen=True)
class AppUnderTest:
    ref: str  # package.module:attr
    app_dir: str  # absolute
    factory: bool
    env_file: str | None  # absolute
    health: str  # a path of the app
    kind: str  # asgi or wsgi
    routes: tuple[str, ...] = ()  # its route templates, where it exposes them

    @property
    def name(self) -> str:
        return app_name(self.ref)

    def env(self) -> dict[str, str]:
        return app_env(self.ref, self.app_dir, self.factory, self.env_file)


def app_under_test(args: argparse.Namespace, server: str | None) -> AppUnderTest:
    """--app and its settings, the app imported once in a child interpreter to check it is one (and
    that `server` serves its kind; None: a sweep, which keeps the server kinds of its kind)."""
    health = _health(args.health)
    env_file = os.path.abspath(args.env_file) if args.env_file else None
    if env_file and not os.path.isfile(env_file):
        raise LoadlabError(f"--env-file {args.env_file}: no such file")
    app_dir = os.path.abspath(args.app_dir or ".")
    if not os.path.isdir(app_dir):
        raise LoadlabError(f"--app-dir {args.app_dir}: no such folder")
    if app_name(args.app) in SCENARIOS or app_name(args.app) in ("sync", "async", URL_TARGET):
        raise LoadlabError(f"--app {args.app}: its name {app_name(args.app)!r} is one the lab uses for its own")
    probed = probe(args.app, app_dir, args.factory, env_file)
    if server is not None:
        check_server(args.app, probed.kind, server)
    return AppUnderTest(args.app, app_dir, args.factory, env_file, health, probed.kind, probed.routes)


def _health(path: str | None) -> str:
    path = path or DEFAULT_HEALTH
    if not path.startswith("/"):
        raise LoadlabError(f"--health takes a path starting with /, got {path!r}")
    return path


@dataclass(frozen=True)
class OwnLoad:
    """What a run loads on a user's service and how."""

    app: AppUnderTest | None  # served by loadlab; None with --url
    url: str | None  # already running; None with --app
    health: str
    locustfile: str | None  # absolute
    requests: str | None  # absolute
    user_classes: list[str] = field(default_factory=list)  # the locustfile's, as checked

    @property
    def target(self) -> str:
        return self.app.name if self.app else URL_TARGET

    @property
    def routes(self) -> tuple[str, ...]:
        return self.app.routes if self.app else ()

    @property
    def scenario(self) -> Scenario:
        """The one scenario of the run: the load file's name; its route is empty (every request)."""
        name = "locustfile" if self.locustfile else "requests"
        return Scenario(name, "", "", (self.target,), f"your own load ({self.locustfile or self.requests})")

    def locust_env(self) -> dict[str, str]:
        """What loadlab's user-load locustfile reads (loadlab.load.user_env)."""
        return load_env(self.locustfile, self.requests, self.routes)


def own_load(args: argparse.Namespace, server: str | None) -> OwnLoad | None:
    """The user's service and load from `loadlab run`'s options; None when it measures the lab's targets."""
    app, url = getattr(args, "app", None), getattr(args, "url", None)
    locustfile, requests = getattr(args, "locustfile", None), getattr(args, "requests_file", None)
    if not app and not url:
        if locustfile or requests:
            raise LoadlabError("--locustfile and --requests load your own service: give --app or --url")
        return None
    if args.target:
        raise LoadlabError(f"{'--app' if app else '--url'} and --target together: load one of them")
    if args.scenario or args.suite:
        raise LoadlabError("--scenario and --suite are the lab's targets' load: give --locustfile or --requests")
    if app and url:
        raise LoadlabError("--app and --url together: give --app to have loadlab serve it, --url if it runs already")
    if bool(locustfile) == bool(requests):
        raise LoadlabError("say what load to send: --locustfile FILE or --requests FILE (one of them)")
    if url and (
        given := [
            o for o, v in (("--app-dir", args.app_dir), ("--factory", args.factory), ("--env-file", args.env_file)) if v
        ]
    ):
        raise LoadlabError(f"{', '.join(given)} go with --app, not --url")
    health = _health(args.health)
    requests = os.path.abspath(requests) if requests else None
    locustfile = os.path.abspath(locustfile) if locustfile else None
    if requests:
        requests_file.load(requests)  # every bad line is found now, as file:line
    classes = check_locustfile(locustfile) if locustfile else []
    if url:
        url = check_url(url, health)
        return OwnLoad(None, url, health, locustfile, requests, classes)
    return OwnLoad(app_under_test(args, server), None, health, locustfile, requests, classes)


def check_locustfile(path: str) -> list[str]:
    """The locustfile's User classes, found by Locust's own loader in a child interpreter (it imports
    gevent, which must not patch this process); one line when it does not import or has none."""
    if not os.path.isfile(path):
        raise LoadlabError(f"--locustfile {path}: no such file")
    cmd = [sys.executable, "-m", "loadlab.load.locustfile_check", path]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise LoadlabError(lines[-1] if lines else f"--locustfile {path}: could not be read (status {done.returncode})")
    return done.stdout.split()


def check_url(url: str, health: str) -> str:
    """`http(s)://host:port` (no path), answering at `health`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise LoadlabError(f"--url takes http://host:port (no path: --health and the load give paths), got {url!r}")
    url = url.rstrip("/")
    try:
        status = httpx.get(url + health, timeout=5).status_code
    except httpx.HTTPError as exc:
        raise LoadlabError(
            f"--url {url}{health} does not answer ({type(exc).__name__}): is the service running?"
        ) from None
    if status >= 400:
        raise LoadlabError(f"--url {url}{health} answered {status}: pass a path it serves with --health")
    return url
