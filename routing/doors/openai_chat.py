"""The OpenAI chat door (/v1/chat/completions, /v1/models), free of any web framework.

Its paths are registered in the /v1 table (routing/doors/v1.py), which the raw ASGI fast path
(routing/doors/entry.py, what uvicorn runs) and a Django view (routing/doors/django_views.py)
both serve.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from routing.catalog import ModelEntry
from routing.doors import v1
from routing.doors.replies import Reply, cost_header, gateway_headers, json_reply
from routing.doors.v1 import Request
from routing.engine import gateway
from routing.engine.context import CallContext
from routing.engine.gateway import StreamSession
from routing.errors import invalid, model_not_found
from routing.guards.cache import directives
from routing.guards.keys import authenticate_header
from routing.providers import UpstreamError
from routing.schemas import ChatRequest, parse_chat_request

log = logging.getLogger("switchyard.api")


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
    _, snapshot = await authenticate_header(headers.get("authorization", ""))
    data = [model_object(m) for m in snapshot.models.values() if m.provider.configured]
    return json_reply({"object": "list", "data": data})


async def model_detail(headers: Mapping[str, str], model_id: str) -> Reply:
    _, snapshot = await authenticate_header(headers.get("authorization", ""))
    model = snapshot.resolve(model_id)
    if model is None:
        raise model_not_found(model_id)
    return json_reply(model_object(model))


def _query_type(headers: Mapping[str, str], chat: ChatRequest) -> str:
    value = (chat.metadata or {}).get("query_type") or headers.get("x-switchyard-query-type")
    if value is not None and not isinstance(value, str):
        raise invalid("'metadata.query_type' must be a string.", param="metadata.query_type")
    return value or ""


async def chat_completions(headers: Mapping[str, str], body: bytes, request_id: str) -> Reply:
    key, snapshot = await authenticate_header(headers.get("authorization", ""))
    chat = parse_chat_request(body)
    ctx = CallContext(
        requested_model=chat.model,
        api_key_id=key.id,
        stream=chat.stream,
        query_type=_query_type(headers, chat),
        allowed_regions=key.allowed_regions,
        request_id=request_id,
    )
    ctx.cache_read, ctx.cache_write = directives(headers.get("cache-control", ""))
    if chat.stream:
        session = await gateway.open_stream(chat, snapshot, ctx, key)
        include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
        stream_headers = {
            **gateway_headers(ctx),
            "cache-control": "no-cache",
            "x-accel-buffering": "no",
        }
        return Reply(
            200,
            stream_headers,
            stream=sse(session, include_usage),
            content_type="text/event-stream",
        )
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


async def _chat(request: Request) -> Reply:
    return await chat_completions(request.headers, request.body, request.request_id)


async def _models(request: Request) -> Reply:
    return await models(request.headers)


async def _model(request: Request) -> Reply:
    return await model_detail(request.headers, request.params[0])


v1.route("/v1/chat/completions", POST=_chat)
v1.route("/v1/models", GET=_models)
v1.route("/v1/models/(.+)", GET=_model)
