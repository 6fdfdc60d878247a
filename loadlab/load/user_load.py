"""A user's own load inside Locust: their locustfile's User classes or their `--requests` file, with
request names that follow the app's route templates (loadlab.load.user_env). Imported only inside
Locust processes, by locustfiles/user_closed.py and user_open.py.

Closed model: the locustfile's User classes run as Locust runs them (their wait times, weights and
tasks); a requests file becomes one user that sends a request chosen by weight, waits for it, thinks
(`--think-time`), and sends the next. Open model: loadlab's schedule (loadlab.load.schedule) sends
at each arrival one task of the locustfile, chosen by weight (a User class by its `weight`, then one
of its tasks by theirs), or one request of the file: so a stall is not hidden by users that wait.
"""

import json
import logging
import os
import random
from typing import Any
from urllib.parse import urlsplit

from locust import FastHttpUser, User, events, task
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession
from locust.exception import InterruptTaskSet, RescheduleTask, StopUser
from locust.util.load_locustfile import load_locustfile

from loadlab.load import requests_file
from loadlab.load.options import abort, number, usage_error
from loadlab.load.schedule import Scheduled
from loadlab.load.user_env import LOCUSTFILE_ENV, REQUESTS_ENV, ROUTES_ENV, Templates

logger = logging.getLogger(__name__)
TEMPLATES = Templates(json.loads(os.environ.get(ROUTES_ENV) or "[]"))


def _name_by_template(session: type) -> None:
    """Requests the locustfile sends without a name are named by the route template they match."""
    plain = session.request

    def request(self, method, url, *args, **kwargs):
        if not args and kwargs.get("name") is None:
            kwargs["name"] = TEMPLATES.name(urlsplit(url if isinstance(url, str) else url.decode()).path)
        return plain(self, method, url, *args, **kwargs)

    session.request = request


def think_time_option(parser) -> None:
    parser.add_argument(
        "--think-time",
        type=number("--think-time", float, 0),
        default=0.0,
        metavar="SECONDS",
        help="closed model, --requests: pause between a response and the next request (default 0)",
    )


def the_requests() -> list[requests_file.Request]:
    try:
        return requests_file.load(os.environ[REQUESTS_ENV])
    except Exception as exc:  # checked by loadlab before Locust started: only a file changed since
        usage_error(str(exc))


def send(client: Any, request: requests_file.Request) -> str:
    """One request of a requests file; its name (given, else the route template it matches)."""
    name = request.name or TEMPLATES.name(request.path)
    kwargs: dict[str, Any] = {"name": name, "headers": request.headers or None}
    if request.json is not None:
        kwargs["json"] = request.json
    client.request(request.method, request.path, **kwargs)
    return name


def locustfile_users() -> dict[str, type[User]]:
    path = os.environ[LOCUSTFILE_ENV]
    classes, _shapes = load_locustfile(path)
    if not classes:
        usage_error(f"--locustfile {path}: no User class")
    if TEMPLATES.patterns:
        for session in (HttpSession, FastHttpSession):
            _name_by_template(session)
    return classes


def closed_users() -> dict[str, type[User]]:
    """The user classes of the closed model (and the ramp)."""
    if os.environ.get(LOCUSTFILE_ENV):
        return locustfile_users()
    requests = the_requests()
    weights = [r.weight for r in requests]

    class Requests(FastHttpUser):
        def wait_time(self) -> float:
            return self.environment.parsed_options.think_time

        @task
        def one(self) -> None:
            send(self.client, random.choices(requests, weights)[0])

    return {"Requests": Requests}


def open_users() -> dict[str, type[User]]:
    """The one scheduling user of the open model."""
    if os.environ.get(LOCUSTFILE_ENV):
        return {"Arrivals": _task_arrivals(locustfile_users())}
    requests = the_requests()
    weights = [r.weight for r in requests]

    class Arrivals(Scheduled):
        def fire(self, delay: float) -> tuple[str, str]:
            request = random.choices(requests, weights)[0]
            return send(self.client, request), request.method

    return {"Arrivals": Arrivals}


def _task_arrivals(classes: dict[str, type[User]]) -> type[Scheduled]:
    users = list(classes.values())
    for cls in users:
        for t in cls.tasks:
            if not callable(t) or isinstance(t, type):
                abort(f"--locustfile: {cls.__name__} has a TaskSet; the open model runs task functions (@task methods)")

    class Arrivals(Scheduled):
        """One instance of each User class, started once; each arrival runs one of their tasks."""

        def on_start(self) -> None:
            # subclasses with this user's host (Locust sets it only on the classes it runs) and, for
            # FastHttpUsers, its connections: a task is never held up waiting for one
            own = {"host": self.host, "concurrency": self.concurrency}
            self.users = [
                type(cls.__name__, (cls,), {**own, "__module__": cls.__module__})(self.environment) for cls in users
            ]
            for user in self.users:
                user.on_start()
            super().on_start()

        def fire(self, delay: float) -> tuple[str, str]:
            user = random.choices(self.users, [cls.weight for cls in users])[0]
            chosen = random.choice(type(user).tasks)
            try:
                chosen(user)
            except (RescheduleTask, InterruptTaskSet, StopUser):
                pass
            except Exception as exc:  # as Locust does: note it, and go on
                events.user_error.fire(user_instance=user, exception=exc, tb=exc.__traceback__)
                logger.error(f"{type(user).__name__}.{chosen.__name__}: {type(exc).__name__}: {exc}")
            return f"{type(user).__name__}.{chosen.__name__}", "TASK"

        def on_stop(self) -> None:
            super().on_stop()
            for user in getattr(self, "users", []):
                user.on_stop()

    return Arrivals
