"""The Anthropic Messages API as a front door: `POST /v1/messages`, `POST
/v1/messages/count_tokens`, and `GET /v1/models` in Anthropic's shape when the request carries
`anthropic-version` (Claude Code, the Anthropic SDKs).

An Anthropic model gets the request natively (lossless: thinking, cache_control, citations,
server tools, cache usage counts, streaming included); any other model gets it translated
(routing/doors/anthropic_translate.py), with `x-switchyard-dropped` naming what could not
cross. Errors are in Anthropic's envelope and statuses.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from django.conf import settings

from routing.catalog import ModelEntry, Snapshot
from routing.doors import anthropic_events as events
from routing.doors.anthropic_schema import validate
from routing.doors.anthropic_translate import Dropped, message_from_chat, to_chat
from routing.doors.base import (
    Reply,
    api_key_header,
    cost_header,
    gateway_headers,
    json_reply,
    new_context,
    stream_reply,
    usable,
)
from routing.engine import gateway
from routing.engine.context import CallContext
from routing.engine.dispatch import estimate_input_tokens
from routing.engine.gateway import StreamSession
from routing.errors import GatewayError
from routing.guards.keys import authenticate_header
from routing.providers import UpstreamError, adapter_for
from routing.schemas import ChatRequest, Native, chat_request, parse_json_object

log = logging.getLogger("switchyard.api")
PROTOCOL = "anthropic"  # the back door that speaks this door's protocol natively
DOOR = "messages"  # what usage records call this door
PASSED_ON = ("anthropic-version", "anthropic-beta")
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
PATHS = {"/v1/messages": "messages", "/v1/messages/count_tokens": "count_tokens"}


def serves(method: str, path: str, headers: Mapping[str, str]) -> bool:
    """This door answers its own paths, and /v1/models when an Anthropic client asks."""
    if path in PATHS:
        return True
    models_path = path == "/v1/models" or path.startswith("/v1/models/")
    return models_path and "anthropic-version" in headers


# --------------------------------------------------------------------------- errors


def anthropic_status(err: GatewayError) -> int:
    """Anthropic's status for a gateway error: no 502/503 there; overload is 529."""
    if err.status == 503 or err.code in ("upstream_overloaded", "no_available_model"):
        return 529
    if err.status in ERROR_TYPES:
        return err.status
    return 400 if err.status < 500 else 500


def error_reply(err: GatewayError, request_id: str) -> Reply:
    status = anthropic_status(err)
    payload = {
        "type": "error",
        "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": err.message},
        "request_id": request_id,
    }
    reply = json_reply(payload, dict(err.headers), status)
    if "Retry-After" in reply.headers:
        reply.headers["retry-after"] = reply.headers.pop("Retry-After")
    return reply


# --------------------------------------------------------------------------- requests


def _native(data: dict[str, Any], headers: Mapping[str, str]) -> Native:
    passed = {name: headers[name] for name in PASSED_ON if headers.get(name)}
    return Native(PROTOCOL, data, passed)


def internal_request(
    data: dict[str, Any], headers: Mapping[str, str]
) -> tuple[ChatRequest, Dropped]:
    """The engine's request for a validated Messages body, carrying the native body."""
    chat, dropped = to_chat(data)
    request = chat_request(chat)
    return request.with_native(_native(data, headers)), dropped


def _context(
    key_id: int,
    regions: frozenset[str],
    data: dict[str, Any],
    headers: Mapping[str, str],
    request_id: str,
    body: bytes = b"",
) -> CallContext:
    query_type = headers.get("x-switchyard-query-type", "")
    return new_context(
        DOOR,
        data["model"],
        key_id,
        bool(data.get("stream")),
        query_type,
        regions,
        request_id,
        headers.get("cache-control", ""),
        body,
    )


def _headers(ctx: CallContext, dropped: Dropped, request_id: str) -> dict[str, str]:
    headers = gateway_headers(ctx)
    headers["request-id"] = request_id
    native = ctx.model is not None and ctx.model.provider.protocol == PROTOCOL
    if dropped.names and not native and not ctx.cache_hit:
        headers["x-switchyard-dropped"] = dropped.header()
    return headers


async def messages(headers: Mapping[str, str], body: bytes, request_id: str) -> Reply:
    key, snapshot = await authenticate_header(api_key_header(headers))
    data = parse_json_object(body)
    validate(data)
    request, dropped = internal_request(data, headers)
    ctx = _context(key.id, key.allowed_regions, data, headers, request_id, body)
    if request.stream:
        session = await gateway.open_stream(request, snapshot, ctx, key)
        estimate = estimate_input_tokens(request.messages)
        stream = relay(session, ctx, estimate)
        return stream_reply(stream, _headers(ctx, dropped, request_id))
    completion = await gateway.complete(request, snapshot, ctx, key)
    reply_headers = _headers(ctx, dropped, request_id)
    reply_headers["x-switchyard-cost-usd"] = cost_header(ctx)
    model = ctx.model.id if ctx.model else request.model
    if completion.native is not None and not ctx.cache_hit:
        return json_reply({**completion.native, "model": model}, reply_headers)
    return json_reply(message_from_chat(completion.body, model), reply_headers)


async def relay(
    session: StreamSession, ctx: CallContext, input_estimate: int
) -> AsyncIterator[bytes]:
    """Anthropic events for the engine's stream; a failure after the first byte ends with an
    `error` event (no message_stop), so a truncated answer never looks complete."""
    chunks = session.chunks()
    model = ctx.model.id if ctx.model else ctx.requested_model
    encoder = events.EventEncoder(model, "msg_" + ctx.request_id, input_estimate)
    held: list[bytes] = []
    first, native = True, None
    try:
        async for chunk in chunks:
            if native is None:
                native = "native" in chunk.extra
                if not native:
                    held.append(encoder.start())
            if native:
                raw = chunk.extra.get("native")
                if raw is not None:
                    held.append(events.native_event(raw[0], raw[1], model))
            else:
                held += encoder.feed(chunk)
            if held and (first or not chunk.more):
                yield b"".join(held)
                held.clear()
                first = False
        if native is not True:
            if native is None:
                held.append(encoder.start())
            held += encoder.finish(ctx.usage.output_tokens)
    except UpstreamError as err:
        kind = "overloaded_error" if err.kind == "overloaded" else "api_error"
        held.append(events.error_event(kind, f"The upstream failed mid-stream: {err.message}"))
    except Exception:
        log.exception("stream relay failed")
        held.append(
            events.error_event("api_error", "Internal error in Switchyard while streaming.")
        )
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
    yield b"".join(held)


# --------------------------------------------------------------------------- count_tokens


def _estimate(request: ChatRequest, data: dict[str, Any]) -> int:
    tools = len(str(data.get("tools") or "")) // 4
    return estimate_input_tokens(request.messages) + tools


async def count_tokens(headers: Mapping[str, str], body: bytes, request_id: str) -> Reply:
    """Anthropic models count natively; others get an estimate, marked as one."""
    key, snapshot = await authenticate_header(api_key_header(headers))
    data = parse_json_object(body)
    validate(data, count_only=True)
    request, _ = internal_request({**data, "max_tokens": 1}, headers)
    ctx = _context(key.id, key.allowed_regions, data, headers, request_id)
    chosen, _ = gateway.plan(request, snapshot, ctx)
    model = chosen.attempts[0].model
    reply_headers = {"request-id": request_id, "x-switchyard-model": model.id}
    if model.provider.configured:
        adapter = adapter_for(model.provider.protocol)
        try:
            counted = await adapter.count_tokens(
                model, _native(data, headers), settings.SWITCHYARD_REQUEST_TIMEOUT
            )
        except UpstreamError as err:
            raise _upstream_error(err) from None
        if counted is not None:
            return json_reply(counted, reply_headers)
    reply_headers["x-switchyard-estimated"] = "true"
    return json_reply({"input_tokens": _estimate(request, data), "estimated": True}, reply_headers)


def _upstream_error(err: UpstreamError) -> GatewayError:
    status = {"rate_limit": 429, "overloaded": 529, "bad_request": 400, "not_found": 404}
    headers = {"Retry-After": str(round(err.retry_after))} if err.retry_after else None
    return GatewayError(status.get(err.kind, 500), err.message, headers=headers)


# --------------------------------------------------------------------------- models


def model_object(model: ModelEntry) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model.id,
        "display_name": model.display_name,
        "created_at": "1970-01-01T00:00:00Z",
    }


async def models(headers: Mapping[str, str]) -> Reply:
    key, snapshot = await authenticate_header(api_key_header(headers))
    data = [model_object(m) for m in snapshot.models.values() if usable(m, key)]
    first = data[0]["id"] if data else None
    last = data[-1]["id"] if data else None
    return json_reply({"data": data, "has_more": False, "first_id": first, "last_id": last})


async def model_detail(headers: Mapping[str, str], snapshot_name: str) -> Reply:
    key, snapshot = await authenticate_header(api_key_header(headers))
    model = _resolve(snapshot, snapshot_name)
    if key.allowed_regions and not usable(model, key):
        raise snapshot.not_found(snapshot_name)
    return json_reply(model_object(model))


def _resolve(snapshot: Snapshot, name: str) -> ModelEntry:
    model = snapshot.resolve(name)
    if model is None:
        raise snapshot.not_found(name)
    return model


# --------------------------------------------------------------------------- the door


async def _route(
    method: str, path: str, headers: Mapping[str, str], body: bytes, request_id: str
) -> Reply:
    wanted = "GET" if path.startswith("/v1/models") else "POST"
    if method != wanted:
        raise GatewayError(405, f"Method {method} is not allowed here.")
    if path == "/v1/messages":
        return await messages(headers, body, request_id)
    if path == "/v1/messages/count_tokens":
        return await count_tokens(headers, body, request_id)
    if path == "/v1/models":
        return await models(headers)
    name = path[len("/v1/models/") :]
    if not name:
        raise GatewayError(404, f"Unknown endpoint: {method} {path}.")
    return await model_detail(headers, name)


async def handle(
    method: str, path: str, headers: Mapping[str, str], body: bytes | None, request_id: str
) -> Reply:
    """Answer one request of this door; every failure becomes Anthropic's error envelope."""
    try:
        if body is None:
            raise GatewayError(413, "The request body is too large.", code="request_too_large")
        reply = await _route(method, path, headers, body, request_id)
    except GatewayError as err:
        reply = error_reply(err, request_id)
    except Exception:
        log.exception("unexpected error in %s", path)
        reply = error_reply(GatewayError(500, "Internal error in Switchyard."), request_id)
    reply.headers["x-request-id"] = request_id
    return reply
