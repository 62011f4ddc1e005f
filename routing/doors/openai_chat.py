"""The OpenAI-compatible API (/v1/models, /v1/chat/completions), free of any web framework.

`handle()` takes the method, path, lower-cased headers and body and returns a `Reply`.
Two thin adapters serve it: the raw ASGI fast path (routing/doors/entry.py, what uvicorn runs)
and a Django view (routing/doors/django_views.py, for Django's own test client and tools).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from routing.catalog import ModelEntry
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
from routing.engine.gateway import StreamSession
from routing.errors import GatewayError, invalid
from routing.guards.keys import authenticate_header
from routing.providers import UpstreamError
from routing.schemas import ChatRequest, parse_chat_request

log = logging.getLogger("switchyard.api")
DOOR = "chat"  # what usage records call this door (their `protocol`)
__all__ = ["Reply", "handle", "sse"]
TOO_LARGE = GatewayError(413, "The request body is too large.", code="request_too_large")


def error_reply(err: GatewayError) -> Reply:
    return Reply(err.status, dict(err.headers), orjson.dumps(err.payload()))


def model_object(model: ModelEntry) -> dict[str, Any]:
    def per_million(value: Any) -> float | None:
        return float(value) if value is not None else None

    return {
        "id": model.id,
        "object": "model",
        "created": 0,
        "owned_by": model.provider.slug,
        "context_window": model.context_window,
        "pricing": {
            "input_per_million": per_million(model.input_price),
            "output_per_million": per_million(model.output_price),
            "cached_input_per_million": per_million(model.cached_input_price),
            "price_known": model.price_known,
        },
        "simulated": model.simulated,
        "region": model.region,
        "kind": model.kind,
        **({"dimensions": model.dimensions} if model.kind == "embedding" else {}),
    }


async def models(headers: Mapping[str, str]) -> Reply:
    """The models this key can call: others are not listed."""
    key, snapshot = await authenticate_header(api_key_header(headers))
    data = [model_object(m) for m in snapshot.models.values() if usable(m, key)]
    return json_reply({"object": "list", "data": data})


async def model_detail(headers: Mapping[str, str], model_id: str) -> Reply:
    key, snapshot = await authenticate_header(api_key_header(headers))
    model = snapshot.resolve(model_id)
    if model is None or (key.allowed_regions and not usable(model, key)):
        raise snapshot.not_found(model_id)
    return json_reply(model_object(model))


def _query_type(headers: Mapping[str, str], chat: ChatRequest) -> str:
    value = (chat.metadata or {}).get("query_type") or headers.get("x-switchyard-query-type")
    if value is not None and not isinstance(value, str):
        raise invalid("'metadata.query_type' must be a string.", param="metadata.query_type")
    return value or ""


async def chat_completions(headers: Mapping[str, str], body: bytes, request_id: str) -> Reply:
    key, snapshot = await authenticate_header(api_key_header(headers))
    chat = parse_chat_request(body)
    ctx = new_context(
        DOOR,
        chat.model,
        key.id,
        chat.stream,
        _query_type(headers, chat),
        key.allowed_regions,
        request_id,
        headers.get("cache-control", ""),
        body,
    )
    if chat.stream:
        session = await gateway.open_stream(chat, snapshot, ctx, key)
        include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
        return stream_reply(sse(session, include_usage), gateway_headers(ctx))
    completion = await gateway.complete(chat, snapshot, ctx, key)
    reply_headers = gateway_headers(ctx)
    reply_headers["x-switchyard-cost-usd"] = cost_header(ctx)
    judge = completion.body.get("switchyard", {}).get("judge")
    if judge and judge.get("choice") is not None:
        reply_headers["x-switchyard-judge-choice"] = str(judge["choice"])
    return json_reply(completion.body, reply_headers)


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def _stream_error(message: str, type_: str, code: str) -> bytes:
    return _event({"error": {"message": message, "type": type_, "code": code, "param": None}})


def _with_cost(data: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    """The usage chunk with the call's cost in USD (`usage.cost`, as OpenRouter sends it; a
    streaming client cannot read a trailing header). None when the model has no price."""
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return data
    cost = ctx.cost() if ctx.model is not None else None
    return {**data, "usage": {**usage, "cost": float(cost) if cost is not None else None}}


async def sse(session: StreamSession, include_usage: bool) -> AsyncIterator[bytes]:
    """Relay chunks as server-sent events; a failure after the first byte ends with an error
    event (no [DONE], no clean finish_reason), so a truncated answer never looks complete.
    The first event leaves at once (time to first token); after it, chunks that arrived
    together leave together (one write instead of one per chunk)."""
    chunks = session.chunks()
    held: list[bytes] = []
    first = True
    try:
        async for chunk in chunks:
            if chunk.usage is None or chunk.data.get("choices") or include_usage:
                data = _with_cost(chunk.data, session.ctx) if chunk.usage else chunk.data
                held.append(_event(data))
            if held and (first or not chunk.more):
                yield b"".join(held)
                held.clear()
                first = False
        held.append(b"data: [DONE]\n\n")
    except UpstreamError as err:
        held.append(
            _stream_error(
                f"The upstream failed mid-stream: {err.message}",
                "upstream_error",
                f"stream_{err.kind}",
            )
        )
    except Exception:
        log.exception("stream relay failed")
        held.append(
            _stream_error(
                "Internal error in Switchyard while streaming.",
                "server_error",
                "stream_internal_error",
            )
        )
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
    yield b"".join(held)


ROUTES: dict[str, tuple[str, ...]] = {"/v1/chat/completions": ("POST",), "/v1/models": ("GET",)}


async def _route(
    method: str, path: str, headers: Mapping[str, str], body: bytes, request_id: str
) -> Reply:
    allowed = ROUTES.get(path) or (
        ("GET",) if path.startswith("/v1/models/") and path != "/v1/models/" else None
    )
    if allowed is None:
        raise GatewayError(404, f"Unknown endpoint: {method} {path}.", code="unknown_url")
    if method not in allowed:
        raise GatewayError(405, f"Method {method} is not allowed here.")
    if path == "/v1/chat/completions":
        return await chat_completions(headers, body, request_id)
    if path == "/v1/models":
        return await models(headers)
    return await model_detail(headers, path[len("/v1/models/") :])


async def handle(
    method: str, path: str, headers: Mapping[str, str], body: bytes | None, request_id: str
) -> Reply:
    """Answer one /v1 request; every failure becomes OpenAI's error envelope."""
    try:
        if body is None:
            raise TOO_LARGE
        reply = await _route(method, path, headers, body, request_id)
    except GatewayError as err:
        reply = error_reply(err)
    except Exception:
        log.exception("unexpected error in %s", path)
        reply = error_reply(GatewayError(500, "Internal error in Switchyard.", "server_error"))
    reply.headers["x-request-id"] = request_id
    return reply
