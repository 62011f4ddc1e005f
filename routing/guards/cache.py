"""Exact-match response cache: (model or route, messages, parameters) -> the finished answer.

TTL comes from the route (off by default for temperature > 0 unless the route opts in);
`Cache-Control: no-cache` skips reading, `no-store` skips writing. Only complete answers
are stored (never errors or truncated streams). If the shared state is away, requests go
on uncached.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from routing.catalog import Snapshot
from routing.catalog.pricing import TokenUsage
from routing.conf import knobs
from routing.guards.state import get_state
from routing.providers import Chunk
from routing.schemas import ChatRequest

log = logging.getLogger(__name__)
IGNORED = {"stream", "stream_options", "user", "metadata"}
CACHEABLE_FINISH = {"stop", "tool_calls", "length"}


@dataclass(frozen=True)
class Cached:
    """A cache hit: the stored answer, the model that gave it, its usage and what it cost."""

    body: dict[str, Any]
    model: str
    usage: TokenUsage
    cost: Decimal | None


def cache_key(chat: ChatRequest, query_type: str) -> str:
    params = {k: v for k, v in chat.model_dump(exclude_none=True).items() if k not in IGNORED}
    params["query_type"] = query_type
    if chat.native is not None:  # a native body is what the upstream gets: it is the key too
        params["native"] = [chat.native.protocol, chat.native.body]
    digest = hashlib.sha256(orjson.dumps(params, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"sy:cache:{digest}"


def ttl_for(chat: ChatRequest, snapshot: Snapshot) -> int:
    if chat.native is not None:
        # The store keeps the answer in the engine's (OpenAI) shape; a native answer's own
        # fields (thinking signatures, citations, cache counts) would not survive a hit.
        return 0
    deterministic = not chat.temperature
    if chat.model.startswith("route/"):
        route = snapshot.routes.get(chat.model[6:])
        if route is None or (not deterministic and not route.cache_nondeterministic):
            return 0
        return route.cache_ttl
    return knobs.SWITCHYARD_CACHE_TTL if deterministic else 0


def directives(header: str) -> tuple[bool, bool]:
    """(may read, may write) from a Cache-Control request header."""
    values = {part.strip().lower() for part in header.split(",")}
    return "no-cache" not in values, "no-store" not in values


async def lookup(key: str) -> Cached | None:
    try:
        raw = await get_state().get_bytes(key)
    except Exception:  # noqa: BLE001 - cache only: carry on uncached
        log.warning("response cache unavailable; answering uncached")
        return None
    if raw is None:
        return None
    data = orjson.loads(raw)
    cost = Decimal(data["cost"]) if data.get("cost") is not None else None
    return Cached(data["body"], data["model"], TokenUsage(**data["usage"]), cost)


async def store(key: str, ttl: int, entry: Cached) -> None:
    """Keep a finished answer for `ttl` seconds (never an error or a truncated answer)."""
    finishes = {c.get("finish_reason") for c in entry.body.get("choices") or ()}
    if ttl <= 0 or not finishes <= CACHEABLE_FINISH:
        return
    cost, usage = entry.cost, entry.usage
    payload = {
        "body": entry.body,
        "model": entry.model,
        "cost": str(cost) if cost is not None else None,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
        },
    }
    try:
        await get_state().set_bytes(key, orjson.dumps(payload), ttl)
    except Exception:  # noqa: BLE001 - cache only
        log.warning("response cache unavailable; answer not stored")


def completion_from_stream(
    request_id: str, model: str, usage: TokenUsage, text: str, finish: str
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": usage.to_openai(),
    }


async def replay(cached: Cached) -> AsyncIterator[Chunk]:
    """A cached answer as a stream of chunks (all at hand: a relay writes them at once)."""
    body = cached.body
    base = {
        "id": body.get("id", ""),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": cached.model,
    }
    choice = body["choices"][0]
    message = choice.get("message") or {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    text = message.get("content") or ""
    yield Chunk(chunk({"role": "assistant", "content": ""}), more=True)
    for start in range(0, len(text), 64):
        piece = text[start : start + 64]
        yield Chunk(chunk({"content": piece}), text=piece, more=True)
    if message.get("tool_calls"):
        calls = [{**call, "index": i} for i, call in enumerate(message["tool_calls"])]
        yield Chunk(chunk({"tool_calls": calls}), more=True)
    finish = choice.get("finish_reason")
    yield Chunk(chunk({}, finish), finish_reason=finish, more=True)
    usage = {**base, "choices": [], "usage": cached.usage.to_openai()}
    yield Chunk(usage, usage=cached.usage)
