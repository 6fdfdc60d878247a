"""Gunicorn worker classes from the uvicorn-worker package, one per event loop (`loadlab serve --loop`).

Access logs are off in all of them, as in every other server kind: logging a line per request
costs more CPU than `/hello` itself.
"""

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker


class AutoLoopWorker(UvicornWorker):
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {**UvicornWorker.CONFIG_KWARGS, "loop": "auto", "access_log": False}


class AsyncioWorker(UvicornWorker):
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {**AutoLoopWorker.CONFIG_KWARGS, "loop": "asyncio"}


class UvloopWorker(UvicornWorker):
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {**AutoLoopWorker.CONFIG_KWARGS, "loop": "uvloop"}
