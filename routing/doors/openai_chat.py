"""The OpenAI-compatible API (/v1/models, /v1/chat/completions), free of any web framework.

`handle()` takes the method, path, lower-cased headers and body and returns a `Reply`.
Two thin adapters serve it: the raw ASGI fast path (routing/doors/entry.py, what uvicorn runs)
and a Django view (routing/doors/django_views.py, for Django's own test client and tools).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from routing.catalog import KeyEntry, ModelEntry
from routing.engine import gateway
from routing.engine.context import CallContext
from routing.engine.gateway import StreamSession
from routing.errors import GatewayError, invalid, model_not_found
from routing.guards.cache import directives
from routing.guards.keys import authenticate_header
from routing.providers import UpstreamError
from routing.schemas import ChatRequest, parse_chat_request

log = logging.getLogger("switchyard.api")
JSON = "application/json"
PROTOCOL = "chat"  # this door's name in the usage record
TOO_LARGE = GatewayError(413, "The request body is too large.", code="request_too_large")


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    content_type: str = JSON


def error_reply(err: GatewayError) -> Reply:
    return Reply(err.status, dict(err.headers), orjson.dumps(err.payload()))


def json_reply(data: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(200, headers or {}, orjson.dumps(data))


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
    }


def usable(model: ModelEntry, key: KeyEntry) -> bool:
    """A configured provider's model in one of the key's regions (any, when it has none)."""
    regions = key.allowed_regions
    return model.provider.configured and (not regions or model.region.lower() in regions)


async def models(headers: Mapping[str, str]) -> Reply:
    """The models this key can call: others are not listed."""
    key, snapshot = await authenticate_header(headers.get("authorization", ""))
    data = [model_object(m) for m in snapshot.models.values() if usable(m, key)]
    return json_reply({"object": "list", "data": data})


async def model_detail(headers: Mapping[str, str], model_id: str) -> Reply:
    key, snapshot = await authenticate_header(headers.get("authorization", ""))
    model = snapshot.resolve(model_id)
    if model is None or (key.allowed_regions and not usable(model, key)):
        raise model_not_found(model_id)
    return json_reply(model_object(model))


def _query_type(headers: Mapping[str, str], chat: ChatRequest) -> str:
    value = (chat.metadata or {}).get("query_type") or headers.get("x-switchyard-query-type")
    if value is not None and not isinstance(value, str):
        raise invalid("'metadata.query_type' must be a string.", param="metadata.query_type")
    return value or ""


def _headers(ctx: CallContext) -> dict[str, str]:
    headers = {
        "x-switchyard-attempts": str(len(ctx.attempts)),
        "x-switchyard-cache": "hit" if ctx.cache_hit else "miss",
    }
    if ctx.model is not None:
        headers["x-switchyard-model"] = ctx.model.id
    if ctx.route:
        headers["x-switchyard-route"] = ctx.route
    if ctx.decision:
        headers["x-switchyard-decision"] = ctx.decision.encode("ascii", "replace").decode()
    if ctx.cache_hit and ctx.saved_usd is not None:
        headers["x-switchyard-saved-usd"] = f"{ctx.saved_usd:.8f}"
    headers.update(ctx.limit_headers)
    return headers


async def chat_completions(headers: Mapping[str, str], body: bytes, request_id: str) -> Reply:
    key, snapshot = await authenticate_header(headers.get("authorization", ""))
    chat = parse_chat_request(body)
    cache_read, cache_write = directives(headers.get("cache-control", ""))
    ctx = CallContext(
        requested_model=chat.model,
        api_key_id=key.id,
        protocol=PROTOCOL,
        stream=chat.stream,
        query_type=_query_type(headers, chat),
        allowed_regions=key.allowed_regions,
        request_id=request_id,
        cache_read=cache_read,
        cache_write=cache_write,
    )
    if chat.stream:
        session = await gateway.open_stream(chat, snapshot, ctx, key)
        include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
        stream_headers = {**_headers(ctx), "cache-control": "no-cache", "x-accel-buffering": "no"}
        return Reply(
            200,
            stream_headers,
            stream=sse(session, include_usage),
            content_type="text/event-stream",
        )
    completion = await gateway.complete(chat, snapshot, ctx, key)
    cost = ctx.cost()
    reply_headers = _headers(ctx)
    reply_headers["x-switchyard-cost-usd"] = f"{cost:.8f}" if cost is not None else "unknown"
    judge = completion.body.get("switchyard", {}).get("judge")
    if judge and judge.get("choice") is not None:
        reply_headers["x-switchyard-judge-choice"] = str(judge["choice"])
    return json_reply(completion.body, reply_headers)


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def _stream_error(message: str, type_: str, code: str) -> bytes:
    return _event({"error": {"message": message, "type": type_, "code": code, "param": None}})


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
                held.append(_event(chunk.data))
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
