"""The floor of the decided stack: a raw ASGI relay under uvicorn that forwards each request
to the upstream through one pooled aiohttp session and returns its answer, with no gateway
logic at all (no auth, routing, limits, pricing, records or metrics).

`make bench` runs it as the `floor` row, so the table shows how much of Switchyard's
added latency is uvicorn + aiohttp themselves. The upstream comes from SY_FLOOR_UPSTREAM.
"""

from __future__ import annotations

import gc
import os
from typing import Any

import aiohttp

UPSTREAM = os.environ.get("SY_FLOOR_UPSTREAM", "http://127.0.0.1:9")
_session: aiohttp.ClientSession | None = None


def session() -> aiohttp.ClientSession:
    global _session
    if _session is None:
        _session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1000, limit_per_host=0),
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("Accept-Encoding",),
        )
    return _session


gc.collect()
gc.freeze()  # as Switchyard does after startup (config/asgi.py)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {"content-type": "application/json", "authorization": "Bearer floor"}
    async with session().post(UPSTREAM + scope["path"], data=body, headers=headers) as response:
        streaming = response.headers.get("content-type", "").startswith("text/event-stream")
        out = [(b"content-type", response.headers.get("content-type", "").encode())]
        if not streaming:
            data = await response.read()
            out.append((b"content-length", str(len(data)).encode()))
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            await send({"type": "http.response.body", "body": data})
            return
        await send({"type": "http.response.start", "status": response.status, "headers": out})
        async for part in response.content.iter_any():
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
