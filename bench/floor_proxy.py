"""The floor of the decided stack: a raw ASGI relay under uvicorn that forwards each request
to the upstream through Switchyard's upstream client (routing/transport/upstream.py's, as
SWITCHYARD_UPSTREAM_CLIENT picks) and returns its answer, with no gateway logic at all (no auth, routing, limits, pricing, records or metrics).

`make bench` runs it as the `floor` row, so the table shows how much of Switchyard's
added latency is uvicorn + the upstream client themselves. The upstream comes from
SY_FLOOR_UPSTREAM.
"""

from __future__ import annotations

import gc
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")  # the client's settings

from routing.transport import upstream  # noqa: E402 - after the settings module is named

UPSTREAM = os.environ.get("SY_FLOOR_UPSTREAM", "http://127.0.0.1:9")
HEADERS = {"content-type": "application/json", "authorization": "Bearer floor"}

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
    url = UPSTREAM + scope["path"]
    async with upstream.client().stream(url, body, HEADERS, 60.0, connect_timeout=5.0) as response:
        content_type = response.headers.get("content-type", "")
        out = [(b"content-type", content_type.encode())]
        if not content_type.startswith("text/event-stream"):
            data = (await response.read_body()).encode()
            out.append((b"content-length", str(len(data)).encode()))
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            await send({"type": "http.response.body", "body": data})
            return
        await send({"type": "http.response.start", "status": response.status, "headers": out})
        async for part in response.raw():
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
