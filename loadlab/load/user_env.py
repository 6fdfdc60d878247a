"""How a run tells loadlab's user-load locustfile (locustfiles/user_load.py) what to load: a user's
locustfile or `--requests` file, and the app's route templates, which request names follow so that
client and server series line up. Environment variables, read when Locust imports the locustfile
(its user classes are made then). Imports no Locust."""

import json
import re
from collections.abc import Iterable

LOCUSTFILE_ENV = "LOADLAB_USER_LOCUSTFILE"
REQUESTS_ENV = "LOADLAB_USER_REQUESTS"
ROUTES_ENV = "LOADLAB_USER_ROUTES"  # JSON list of route templates

_PARAM = re.compile(r"\{[^}:]+:path\}|<path:[^>]+>|\{[^}]+\}|<[^>]+>")


def load_env(locustfile: str | None, requests: str | None, routes: Iterable[str]) -> dict[str, str]:
    return {LOCUSTFILE_ENV: locustfile or "", REQUESTS_ENV: requests or "", ROUTES_ENV: json.dumps(list(routes))}


class Templates:
    """Names requests by the route template their path matches (Starlette's `{id}`, `{p:path}`;
    Flask's `<id>`, `<int:id>`, `<path:p>`); a path that matches none keeps its own name."""

    def __init__(self, routes: Iterable[str]) -> None:
        # literal routes first: /items/new must win over /items/{id}
        ordered = sorted(routes, key=lambda r: (bool(_PARAM.search(r)), -len(r)))
        self.patterns = [(re.compile("^" + _regex(route) + "$"), route) for route in ordered]

    def name(self, path: str) -> str:
        bare = path.split("?", 1)[0].split("#", 1)[0] or "/"
        for pattern, route in self.patterns:
            if pattern.match(bare):
                return route
        return bare


def _regex(route: str) -> str:
    out, last = [], 0
    for found in _PARAM.finditer(route):
        out.append(re.escape(route[last : found.start()]))
        token = found.group(0)
        out.append(".+" if token.startswith("<path:") or token.endswith(":path}") else "[^/]+")
        last = found.end()
    out.append(re.escape(route[last:]))
    return "".join(out)
