"""The upstream service the targets call over HTTP: answers `/delay?ms=N` after N milliseconds.

A bare ASGI app (no framework) so that the upstream costs as little CPU as possible and the
targets, not their dependency, are what a run measures.
"""

import asyncio
import json
from urllib.parse import parse_qs

from loadlab.contract.routes import HEALTHZ, MS_MAX


async def _reply(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == HEALTHZ:
        await _reply(send, 200, {"status": "ok"})
        return
    if scope["path"] != "/delay":
        await _reply(send, 404, {"detail": "not found; try /delay?ms=100"})
        return
    raw = parse_qs(scope["query_string"].decode()).get("ms", ["0"])[0]
    if not raw.isdigit() or int(raw) > MS_MAX:
        await _reply(send, 422, {"detail": f"ms must be an integer from 0 to {MS_MAX}"})
        return
    await asyncio.sleep(int(raw) / 1000)
    await _reply(send, 200, {"slept_ms": int(raw)})
