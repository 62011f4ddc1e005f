"""The OpenAI-compatible API: /v1/models and /v1/chat/completions."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from routing import gateway
from routing.auth import authenticate
from routing.cache import directives
from routing.catalog import ModelEntry
from routing.context import CallContext, new_request_id
from routing.errors import GatewayError, invalid, model_not_found
from routing.gateway import StreamSession
from routing.providers import UpstreamError
from routing.schemas import ChatRequest, parse_chat_request

log = logging.getLogger("switchyard.api")
View = Callable[..., Awaitable[HttpResponse]]


def api_view(*methods: str) -> Callable[[View], View]:
    """OpenAI's error envelope for every failure; never an HTML page or a traceback."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return GatewayError(405, f"Method {request.method} is not allowed here.").response()
            try:
                return await view(request, *args, **kwargs)
            except GatewayError as err:
                return err.response()
            except Exception:
                log.exception("unexpected error in %s", request.path)
                return GatewayError(500, "Internal error in Switchyard.", "server_error").response()

        return wrapper

    return decorate


def json_response(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(data), status=status, content_type="application/json")


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


@api_view("GET")
async def models(request: HttpRequest) -> HttpResponse:
    _, snapshot = await authenticate(request)
    data = [model_object(m) for m in snapshot.models.values() if m.provider.configured]
    return json_response({"object": "list", "data": data})


@api_view("GET")
async def model_detail(request: HttpRequest, model_id: str) -> HttpResponse:
    _, snapshot = await authenticate(request)
    model = snapshot.resolve(model_id)
    if model is None:
        raise model_not_found(model_id)
    return json_response(model_object(model))


def _read_body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        raise GatewayError(
            413, "The request body is too large.", code="request_too_large"
        ) from None


def _query_type(request: HttpRequest, chat: ChatRequest) -> str:
    value = (chat.metadata or {}).get("query_type") or request.headers.get(
        "x-switchyard-query-type"
    )
    if value is not None and not isinstance(value, str):
        raise invalid("'metadata.query_type' must be a string.", param="metadata.query_type")
    return value or ""


def _headers(response: HttpResponse, ctx: CallContext) -> HttpResponse:
    response["x-request-id"] = ctx.request_id
    if ctx.model is not None:
        response["x-switchyard-model"] = ctx.model.id
    if ctx.route:
        response["x-switchyard-route"] = ctx.route
    if ctx.decision:
        response["x-switchyard-decision"] = ctx.decision.encode("ascii", "replace").decode()
    response["x-switchyard-attempts"] = str(len(ctx.attempts))
    response["x-switchyard-cache"] = "hit" if ctx.cache_hit else "miss"
    if ctx.cache_hit and ctx.saved_usd is not None:
        response["x-switchyard-saved-usd"] = f"{ctx.saved_usd:.8f}"
    for name, value in ctx.limit_headers.items():
        response[name] = value
    return response


@api_view("POST")
async def chat_completions(request: HttpRequest) -> HttpResponse:
    key, snapshot = await authenticate(request)
    chat = parse_chat_request(_read_body(request))
    ctx = CallContext(
        requested_model=chat.model,
        api_key_id=key.id,
        stream=chat.stream,
        query_type=_query_type(request, chat),
        allowed_regions=key.allowed_regions,
        request_id=getattr(request, "request_id", "") or new_request_id(),
    )
    ctx.cache_read, ctx.cache_write = directives(request.headers.get("cache-control", ""))
    try:
        if chat.stream:
            session = await gateway.open_stream(chat, snapshot, ctx, key)
            include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
            response: HttpResponse = StreamingHttpResponse(
                sse(session, include_usage), content_type="text/event-stream"
            )
            response["cache-control"] = "no-cache"
            response["x-accel-buffering"] = "no"
            return _headers(response, ctx)
        completion = await gateway.complete(chat, snapshot, ctx, key)
    except GatewayError as err:
        err.headers.setdefault("x-request-id", ctx.request_id)
        raise
    response = _headers(json_response(completion.body), ctx)
    judge = completion.body.get("switchyard", {}).get("judge")
    if judge and judge.get("choice") is not None:
        response["x-switchyard-judge-choice"] = str(judge["choice"])
    cost = ctx.cost()
    response["x-switchyard-cost-usd"] = f"{cost:.8f}" if cost is not None else "unknown"
    return response


def _event(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


async def sse(session: StreamSession, include_usage: bool) -> AsyncIterator[bytes]:
    """Relay chunks as server-sent events; a failure after the first byte ends with an error
    event (no [DONE], no clean finish_reason), so a truncated answer never looks complete."""
    chunks = session.chunks()
    try:
        async for chunk in chunks:
            if chunk.usage is not None and not chunk.data.get("choices") and not include_usage:
                continue
            yield _event(chunk.data)
        yield b"data: [DONE]\n\n"
    except UpstreamError as err:
        yield _event(
            {
                "error": {
                    "message": f"The upstream failed mid-stream: {err.message}",
                    "type": "upstream_error",
                    "code": f"stream_{err.kind}",
                    "param": None,
                }
            }
        )
    except Exception:
        # Never end a stream silently: a bare cut would look like a complete answer.
        log.exception("stream relay failed")
        yield _event(
            {
                "error": {
                    "message": "Internal error in Switchyard while streaming.",
                    "type": "server_error",
                    "code": "stream_internal_error",
                    "param": None,
                }
            }
        )
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (per process; multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set)."""
    import os

    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


@api_view("GET", "POST", "PUT", "DELETE", "PATCH")
async def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    raise GatewayError(
        404, f"Unknown endpoint: {request.method} {request.path}.", code="unknown_url"
    )
