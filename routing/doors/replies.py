"""What every OpenAI door answers with: the `Reply`, OpenAI's error envelope, JSON bodies and
the gateway's response headers (model, route, decision, cache, cost, rate limits)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from routing.engine.context import CallContext
from routing.errors import GatewayError

JSON = "application/json"
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


def gateway_headers(ctx: CallContext) -> dict[str, str]:
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


def cost_header(ctx: CallContext) -> str:
    cost = ctx.cost()
    return f"{cost:.8f}" if cost is not None else "unknown"
