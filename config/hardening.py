"""The HTTP/1.1 protocol both serve commands run: uvicorn's httptools protocol with the limits
it lacks, so one client cannot hold the server's connections open.

- `SWITCHYARD_HEADER_TIMEOUT` (s): a connection that has not sent a whole request head by then
  is closed (a new connection that says nothing, or a head dribbled a byte at a time). Idle
  keep-alive connections are closed after uvicorn's `--timeout-keep-alive`.
- `SWITCHYARD_MAX_HEADER_BYTES`: a longer request head gets 431 and the connection is closed.
- `SWITCHYARD_MAX_CONNECTIONS` (per worker): connections beyond it are answered 503 and
  closed at once, so the file-descriptor limit is never reached.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = float(os.environ.get("SWITCHYARD_HEADER_TIMEOUT", "10"))
MAX_HEADER_BYTES = int(os.environ.get("SWITCHYARD_MAX_HEADER_BYTES", str(32 * 1024)))
MAX_CONNECTIONS = int(os.environ.get("SWITCHYARD_MAX_CONNECTIONS", "4096"))
KEEP_ALIVE_TIMEOUT = int(os.environ.get("SWITCHYARD_KEEP_ALIVE_TIMEOUT", "5"))


def _reply(status: bytes, text: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(text)).encode() + b"\r\nconnection: close\r\n\r\n" + text
    )


TOO_MANY = _reply(b"503 Service Unavailable", b"Too many connections; try again shortly.\n")
TOO_LARGE = _reply(b"431 Request Header Fields Too Large", b"Request header too large.\n")


class HardenedHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._reading_head = True
        self._head_timer: asyncio.TimerHandle | None = None
        if len(self.connections) > MAX_CONNECTIONS:
            self._refuse(TOO_MANY)
            return
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEADER_TIMEOUT, self._head_too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._reading_head and not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, reply: bytes) -> None:
        self._disarm_head_timer()
        self.transport.write(reply)
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            end = data.find(b"\r\n\r\n")
            self._head_bytes += len(data) if end < 0 else end + 4
            if self._head_bytes > MAX_HEADER_BYTES:
                self._refuse(TOO_LARGE)  # checked before parsing: nothing of it reaches the app
                return
            self._arm_head_timer()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._reading_head, self._head_bytes = True, 0  # the next request's head, if any

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)


def uvicorn_options() -> dict[str, Any]:
    """What both serve commands pass to uvicorn (as `make run` always served: no lifespan, no
    access log; Switchyard logs every request itself)."""
    return {
        "http": HardenedHttpToolsProtocol,
        "lifespan": "off",
        "access_log": False,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "backlog": 2048,
    }
