"""All outbound HTTP goes through here: one pooled client per event loop, explicit timeouts."""

from __future__ import annotations

import asyncio
import weakref

import httpx
from django.conf import settings

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def timeout(read: float | None = None) -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.SWITCHYARD_CONNECT_TIMEOUT,
        read=read if read is not None else settings.SWITCHYARD_REQUEST_TIMEOUT,
        write=settings.SWITCHYARD_CONNECT_TIMEOUT,
        pool=settings.SWITCHYARD_CONNECT_TIMEOUT,
    )


def client() -> httpx.AsyncClient:
    """The pooled client of the running event loop (clients must not cross loops)."""
    loop = asyncio.get_running_loop()
    found = _clients.get(loop)
    if found is None or found.is_closed:
        found = httpx.AsyncClient(
            timeout=timeout(),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
            headers={"user-agent": "switchyard/0.1"},
            follow_redirects=False,
        )
        _clients[loop] = found
    return found
