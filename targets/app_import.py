"""Importing a user's app as `--app package.module:attr` names it: each way it can fail is one line.

Used inside the servers (targets.wrapped) and, before anything starts, by loadlab itself through
`python -m targets.app_import`, which prints the app's kind and route templates as JSON, or the one
line that says why it cannot be served and exits 2. Imports nothing of loadlab's instrumentation,
so the check leaves no metrics folder behind.
"""

import importlib
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

from loadlab.contract.app import APP_DIR_ENV, APP_ENV, APP_ENV_FILE_ENV, APP_FACTORY_ENV, ASGI, WSGI


class AppError(Exception):
    """Why the app cannot be served, in one line."""


def load_env_file(path: str) -> dict[str, str]:
    """KEY=VALUE lines (blank lines, `#` comments and a leading `export ` allowed; values may be quoted)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise AppError(f"--env-file {path}: {exc.strerror}") from None
    values = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip().isidentifier():
            raise AppError(f"{path}:{number}: expected KEY=VALUE, got {raw.strip()!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def kind_of(obj: Any) -> str | None:
    """ASGI (`async (scope, receive, send)`) or WSGI (`(environ, start_response)`), else None."""
    if inspect.isclass(obj) or not callable(obj):
        return None
    call = obj if inspect.isroutine(obj) else type(obj).__call__
    if inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(obj, "__call__", None)):  # noqa: B004
        return ASGI
    try:
        params = [
            p
            for p in inspect.signature(obj).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
    except (TypeError, ValueError):
        return None
    return {2: WSGI, 3: ASGI}.get(len(params))


def describe(obj: Any) -> str:
    """What an object that is not an app is, for the error."""
    if inspect.ismodule(obj):
        return "a module"
    if inspect.isclass(obj):
        return f"the class {obj.__module__}.{obj.__qualname__} (an app is an instance; or pass --factory)"
    if callable(obj):
        try:
            return f"a callable of signature {inspect.signature(obj)}"
        except (TypeError, ValueError):
            return f"a callable {type(obj).__name__}"
    kind = type(obj)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def import_app(ref: str, app_dir: str, factory: bool, env_file: str) -> tuple[Any, str]:
    """(the app, its kind); AppError says why not."""
    module_name, sep, attrs = ref.partition(":")
    if not sep or not module_name or not attrs:
        raise AppError(f"--app takes package.module:attr, got {ref!r}")
    if env_file:
        os.environ.update(load_env_file(env_file))
    where = os.path.abspath(app_dir or ".")
    if where not in sys.path:
        sys.path.insert(0, where)
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise AppError(f"cannot import {module_name}: no module named {exc.name!r} (looked in {where})") from None
        raise AppError(f"cannot import {module_name} (from {where}): {_line(exc)}") from None
    except BaseException as exc:  # its import ran its code, which may fail any way (SystemExit included)
        raise AppError(f"cannot import {module_name} (from {where}): {_line(exc)}") from None
    for attr in attrs.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise AppError(
                f"{module_name} (from {getattr(obj, '__file__', where)}) has no attribute {attrs!r}"
            ) from None
    if factory:
        if not callable(obj):
            raise AppError(f"--factory: {ref} is {describe(obj)}, not a function that returns an app")
        try:
            obj = obj()
        except BaseException as exc:
            raise AppError(f"--factory: {ref}() raised {_line(exc)}") from None
    kind = kind_of(obj)
    if kind is None:
        raise AppError(f"{ref} is {describe(obj)}, not an ASGI or WSGI app")
    return obj, kind


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def route_templates(app: Any) -> list[str]:
    """The app's route templates where it exposes them: Starlette's (FastAPI's) routes, mounts
    followed, and Flask's URL rules; [] for any other app."""
    if hasattr(app, "url_map") and hasattr(app.url_map, "iter_rules"):  # Flask
        return sorted({rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"})
    found: list[str] = []
    _starlette_routes(getattr(app, "routes", None), "", found)
    return sorted(set(found))


def _starlette_routes(routes: Any, prefix: str, found: list[str]) -> None:
    if not isinstance(routes, list):
        return
    for route in routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        inner = getattr(route, "routes", None)
        if inner:  # a Mount
            _starlette_routes(inner, prefix + path, found)
        else:
            found.append(prefix + path)


def from_env() -> tuple[Any, str]:
    """The app the server's environment names (loadlab.contract.app)."""
    return import_app(
        os.environ.get(APP_ENV, ""),
        os.environ.get(APP_DIR_ENV, ""),
        os.environ.get(APP_FACTORY_ENV) == "1",
        os.environ.get(APP_ENV_FILE_ENV, ""),
    )


def main() -> int:
    try:
        app, kind = from_env()
    except AppError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps({"kind": kind, "routes": route_templates(app)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
