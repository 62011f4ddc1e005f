"""What every front door shares: the reply it hands the ASGI entry, the engine's call context
for one request, and the gateway's own response headers (see routing/doors/__init__.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from routing.catalog import KeyEntry, ModelEntry
from routing.engine.context import CallContext
from routing.guards.cache import directives

JSON = "application/json"
SSE = "text/event-stream"
STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass
class Reply:
    """One answer of a door: a body, or a stream of already-encoded bytes."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    content_type: str = JSON


def json_reply(data: Any, headers: dict[str, str] | None = None, status: int = 200) -> Reply:
    return Reply(status, headers or {}, orjson.dumps(data))


def stream_reply(stream: AsyncIterator[bytes], headers: dict[str, str]) -> Reply:
    return Reply(200, {**headers, **STREAM_HEADERS}, stream=stream, content_type=SSE)


def api_key_header(headers: Mapping[str, str]) -> str:
    """The key as `Authorization: Bearer ...`, whichever header carried it (`x-api-key` is
    the Anthropic SDK's and Claude Code's with ANTHROPIC_API_KEY)."""
    authorization = headers.get("authorization", "")
    if authorization.strip():
        return authorization
    key = headers.get("x-api-key", "").strip()
    return f"Bearer {key}" if key else ""


def new_context(
    protocol: str,
    model: str,
    key_id: int | None,
    stream: bool,
    query_type: str,
    regions: frozenset[str],
    request_id: str,
    cache_control: str = "",
    body: bytes = b"",
) -> CallContext:
    """The engine's record of one request that came through the door `protocol`
    (`cache_control`: the request's Cache-Control header; `body`: as received, kept when the
    key or the route opts in to storing bodies)."""
    cache_read, cache_write = directives(cache_control)
    return CallContext(
        requested_model=model,
        api_key_id=key_id,
        protocol=protocol,
        stream=stream,
        query_type=query_type,
        allowed_regions=regions,
        request_id=request_id,
        cache_read=cache_read,
        cache_write=cache_write,
        request_body=body,
    )


def gateway_headers(ctx: CallContext) -> dict[str, str]:
    """Which model answered, through which route and why: the same on every door (the
    outcomes read once, not through the context's properties: on every request)."""
    cached, answer, plan = ctx.cached, ctx.answer, ctx.plan
    headers = {
        "x-switchyard-attempts": str(len(ctx.attempts)),
        "x-switchyard-cache": "hit" if cached is not None else "miss",
    }
    if answer is not None:
        headers["x-switchyard-model"] = answer.model.id
    if plan is not None:
        if plan.route:
            headers["x-switchyard-route"] = plan.route
        if plan.reason:
            headers["x-switchyard-decision"] = plan.reason.encode("ascii", "replace").decode()
    if cached is not None and cached.cost is not None:
        headers["x-switchyard-saved-usd"] = f"{cached.cost:.8f}"
    headers.update(ctx.limit_headers)
    return headers


def cost_header(ctx: CallContext) -> str:
    cost = ctx.cost()
    return f"{cost:.8f}" if cost is not None else "unknown"


def usable(model: ModelEntry, key: KeyEntry) -> bool:
    """A configured provider's model in one of the key's regions (any, when it has none): what
    every door's model list shows this key."""
    regions = key.allowed_regions
    return model.provider.configured and (not regions or model.region.lower() in regions)
