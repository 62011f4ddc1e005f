"""The ASGI entry point: /v1 served directly (no Django request cycle on the hot path),
everything else (admin, playground, tools, /metrics, the simulator) by Django.

Django's handler runs each request's middleware and signal work through thread hops; the
API needs none of it, so this adapter reads the body, calls the door's `handle` (picked by
routing/doors/table.py), and writes
the reply itself, cancelling the work when the client disconnects (as Django does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from django.http.request import split_domain_port, validate_host

from routing.conf import knobs
from routing.doors import table
from routing.doors.base import Reply
from routing.doors.middleware import SAFE_ID
from routing.engine.context import new_request_id
from routing.errors import GatewayError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
WATCH_AFTER = 0.05  # seconds before a request starts watching for the client's disconnect


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when it passes `limit` (the rest is drained and dropped)."""
    parts: list[bytes] = []
    size, too_big = 0, False
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise asyncio.CancelledError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            too_big = True
        elif chunk:
            parts.append(chunk)
        if not message.get("more_body"):
            return None if too_big else b"".join(parts)


def _start(reply: Reply) -> MutableMapping[str, Any]:
    headers = [(b"content-type", reply.content_type.encode())]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    if reply.stream is None:
        headers.append((b"content-length", str(len(reply.body)).encode()))
    return {"type": "http.response.start", "status": reply.status, "headers": headers}


async def _send_reply(reply: Reply, send: Send) -> None:
    await send(_start(reply))
    if reply.stream is None:
        await send({"type": "http.response.body", "body": reply.body})
        return
    try:
        async for part in reply.stream:
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        await reply.stream.aclose()  # type: ignore[attr-defined]


async def _cancel_on_disconnect(
    receive: Receive, task: asyncio.Task[Any], seen: list[bool]
) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    seen.append(True)
    task.cancel()


_hosts_seen: dict[tuple[str, tuple[str, ...], bool], bool] = {}


def host_allowed(host: str) -> bool:
    """ALLOWED_HOSTS, as Django checks it for every other path (remembered per Host value);
    checked before any door (chat, Anthropic, embeddings, files, ...) is picked."""
    seen = (host, tuple(knobs.ALLOWED_HOSTS), knobs.DEBUG)
    known = _hosts_seen.get(seen)
    if known is None:
        allowed = list(knobs.ALLOWED_HOSTS)
        if knobs.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]  # Django's own DEBUG default
        domain, _port = split_domain_port(host)
        known = bool(domain) and validate_host(domain, allowed)
        if len(_hosts_seen) > 1024:
            _hosts_seen.clear()
        _hosts_seen[seen] = known
    return known


BAD_HOST = GatewayError(400, "Invalid Host header.", code="invalid_host")


async def serve_api(scope: Scope, receive: Receive, send: Send) -> None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    incoming = headers.get("x-request-id", "")
    request_id = incoming if SAFE_ID.match(incoming) else new_request_id()
    if not host_allowed(headers.get("host", "")):
        reply = table.error_reply(scope["method"], scope["path"], headers, BAD_HOST, request_id)
        reply.headers["x-request-id"] = request_id
        await _send_reply(reply, send)
        return
    try:
        body = await _read_body(receive, table.body_limit(scope["path"]))
    except asyncio.CancelledError:
        return
    # The answer runs in this task; a watcher task cancels it when the client goes away. It
    # starts only once the answer has taken WATCH_AFTER: most fast answers are done by then,
    # and a task per request cost 5% of the request's CPU (a timer costs a tenth of that).
    task = asyncio.current_task()
    assert task is not None
    disconnected: list[bool] = []
    watchers: list[asyncio.Future[None]] = []

    def watch() -> None:
        watchers.append(asyncio.ensure_future(_cancel_on_disconnect(receive, task, disconnected)))

    timer = asyncio.get_running_loop().call_later(WATCH_AFTER, watch)
    try:
        await _answer(scope, headers, body, request_id, send)
    except asyncio.CancelledError:
        if not disconnected:
            raise
    finally:
        timer.cancel()
        for watcher in watchers:
            watcher.cancel()
    if disconnected:
        task.uncancel()  # our own cancellation, consumed above: not the server's


async def _answer(
    scope: Scope, headers: dict[str, str], body: bytes | None, request_id: str, send: Send
) -> None:
    query = scope.get("query_string", b"").decode("latin-1")
    reply = await table.handle(scope["method"], scope["path"], headers, body, request_id, query)
    await _send_reply(reply, send)


class SwitchyardASGI:
    def __init__(self, django_app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.django_app = django_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"] == "/v1" or scope["path"].startswith("/v1/")):
            await serve_api(scope, receive, send)
        else:
            await self.django_app(scope, receive, send)
