"""Gunicorn worker classes from the uvicorn-worker package, one per event loop (`loadlab serve --loop`).

Access logs are off in all of them, as in every other server kind: logging a line per request
costs more CPU than `/hello` itself.
"""

from uvicorn_worker import UvicornWorker


class AutoLoopWorker(UvicornWorker):
    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "loop": "auto", "access_log": False}


class AsyncioWorker(UvicornWorker):
    CONFIG_KWARGS = {**AutoLoopWorker.CONFIG_KWARGS, "loop": "asyncio"}


class UvloopWorker(UvicornWorker):
    CONFIG_KWARGS = {**AutoLoopWorker.CONFIG_KWARGS, "loop": "uvloop"}

