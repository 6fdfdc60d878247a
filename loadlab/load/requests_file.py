"""`--requests FILE`: the load of a user without a locustfile, as a small TOML list of requests.

    [[request]]
    method = "GET"              # default GET
    path = "/items/1"           # required; may carry a query string
    weight = 3                  # how often, relative to the others (default 1)

    [[request]]
    method = "POST"
    path = "/items"
    headers = { Authorization = "Bearer test" }
    json = { name = "pen", price = 1.5 }

Read by loadlab before anything starts (every mistake is one line, `file:line: what is wrong`) and
again inside Locust. Imports no Locust.
"""

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from loadlab.errors import LoadlabError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
KEYS = {"method", "path", "weight", "headers", "json", "name"}
_HEADER = re.compile(r"^\s*\[\[\s*request\s*\]\]")
_AT_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)$")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    weight: float = 1.0
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    name: str | None = None  # None: the route template it matches, else its path


def load(path: str) -> list[Request]:
    """The requests of FILE; LoadlabError `FILE:LINE: ...` for the first thing wrong."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode()
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadlabError(f"--requests {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _AT_LINE.search(message)
        line = found.group(1) if found else "1"
        raise LoadlabError(f"{path}:{line}: {_AT_LINE.sub('', message)} (not valid TOML)") from None
    headers = [n for n, line in enumerate(text.splitlines(), 1) if _HEADER.match(line)]
    unknown = sorted(set(data) - {"request"})
    if unknown:
        raise LoadlabError(
            f"{path}:{_line_of(text, unknown[0])}: unknown key {unknown[0]!r}: requests are [[request]] tables"
        )
    entries = data.get("request")
    if not isinstance(entries, list) or not entries:
        raise LoadlabError(f"{path}:1: no [[request]] table: nothing to send")
    return [_request(path, headers[i] if i < len(headers) else 1, entry) for i, entry in enumerate(entries)]


def _line_of(text: str, key: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if re.match(rf"^\s*\[?\s*{re.escape(key)}\b", line):
            return n
    return 1


def _request(path: str, line: int, entry: dict[str, Any]) -> Request:
    def bad(what: str) -> LoadlabError:
        return LoadlabError(f"{path}:{line}: {what}")

    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    method = entry.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise bad(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    target = entry.get("path")
    if not isinstance(target, str) or not target.startswith("/"):
        raise bad(f"path must be a string starting with /, got {target!r}")
    weight = entry.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        raise bad(f"weight must be a number above 0, got {weight!r}")
    headers = entry.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise bad('headers must be a table of strings, e.g. headers = { Authorization = "Bearer x" }')
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise bad(f"name must be a string, got {name!r}")
    return Request(method.upper(), target, float(weight), dict(headers), entry.get("json"), name)
