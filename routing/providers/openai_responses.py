"""OpenAI's Responses API as a back door: a request from the Responses door goes to an
upstream that serves /v1/responses as it came (reasoning items, encrypted content and
server-side tools intact), only the model id changed.

The engine still sees chat-shaped chunks and completions (text, tool calls, usage) so that
guards, cache and usage records work unchanged; the upstream's own body and events ride
along (`Completion.native`, `Chunk.extra["native"]`) for the door to pass on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from routing.catalog.pricing import TokenUsage
from routing.providers.base import Chunk, Completion, UpstreamError, error_message, scrub
from routing.schemas import Native

if TYPE_CHECKING:
    from routing.catalog import ModelEntry

PROTOCOL = "responses"
ENDED = ("response.completed", "response.incomplete")


def usage_of(data: Any) -> TokenUsage:
    if not isinstance(data, dict):
        return TokenUsage()
    details = data.get("input_tokens_details") or {}
    return TokenUsage(
        input_tokens=int(data.get("input_tokens") or 0),
        output_tokens=int(data.get("output_tokens") or 0),
        cache_read_tokens=int(details.get("cached_tokens") or 0),
    )


def payload(model: ModelEntry, native: Native, stream: bool) -> dict[str, Any]:
    return {**native.body, "model": model.model_id, "stream": stream}


def _message(item: dict[str, Any]) -> str:
    parts = item.get("content") or ()
    return "".join(str(p.get("text") or "") for p in parts if p.get("type") == "output_text")


def as_chat(model: ModelEntry, data: dict[str, Any]) -> Completion:
    """The chat.completion the engine keeps for a Responses answer; the body is native."""
    text, calls = "", []
    for item in data.get("output") or ():
        if item.get("type") == "message":
            text += _message(item)
        elif item.get("type") == "function_call":
            function = {"name": item.get("name"), "arguments": item.get("arguments") or ""}
            calls.append({"id": item.get("call_id"), "type": "function", "function": function})
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    finish = "tool_calls" if calls else "stop"
    if data.get("status") == "incomplete":
        finish = "length"
    body = {
        "id": data.get("id"),
        "object": "chat.completion",
        "model": model.id,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    usage = usage_of(data.get("usage"))
    body["usage"] = usage.to_openai()
    return Completion(body=body, usage=usage, native={**data, "model": model.id})


def _delta(model: ModelEntry, delta: dict[str, Any], text: str = "") -> Chunk:
    choice = {"index": 0, "delta": delta, "finish_reason": None}
    return Chunk(data={"model": model.id, "choices": [choice]}, text=text)


def chunk_for(model: ModelEntry, event: str, data: dict[str, Any], calls: dict[str, int]) -> Chunk:
    """One upstream event as the chunk the engine tracks (text, tool call, usage, end)."""
    kind = data.get("type") or event
    if kind == "response.output_text.delta":
        text = str(data.get("delta") or "")
        return _delta(model, {"content": text}, text)
    if kind == "response.output_item.added" and (data.get("item") or {}).get("type") == (
        "function_call"
    ):
        item = data["item"]
        calls[str(item.get("id"))] = len(calls)
        call = {"index": calls[str(item.get("id"))], "id": item.get("call_id"), "type": "function",
                "function": {"name": item.get("name"), "arguments": ""}}  # fmt: skip
        return _delta(model, {"tool_calls": [call]})
    if kind == "response.function_call_arguments.delta":
        index = calls.get(str(data.get("item_id")), 0)
        call = {"index": index, "function": {"arguments": str(data.get("delta") or "")}}
        return _delta(model, {"tool_calls": [call]})
    if kind in ENDED:
        response = data.get("response") or {}
        usage = usage_of(response.get("usage"))
        finish = "length" if kind == "response.incomplete" else ("tool_calls" if calls else "stop")
        choice = {"index": 0, "delta": {}, "finish_reason": finish}
        chunk_data = {"model": model.id, "choices": [choice], "usage": usage.to_openai()}
        return Chunk(data=chunk_data, usage=usage, finish_reason=finish)
    if kind in ("response.failed", "error"):
        error = (data.get("response") or {}).get("error") or data.get("error") or data
        message = scrub(str(error.get("message") or "the response failed"), model.provider.api_key)
        raise UpstreamError("server", f"{model.provider.name}: {message}")
    return Chunk(data={"model": model.id, "choices": []})


async def relay(model: ModelEntry, events: AsyncIterator[Any]) -> AsyncIterator[Chunk]:
    """Chunks for the engine, each carrying its upstream event for the door."""
    calls: dict[str, int] = {}
    ended = False
    async for event in events:
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            raise UpstreamError("malformed", f"{model.provider.name}: event is not JSON.") from None
        if not isinstance(data, dict):
            raise UpstreamError("malformed", f"{model.provider.name}: event is not an object.")
        chunk = chunk_for(model, event.event or "", data, calls)
        chunk.extra["native"] = (event.event or data.get("type") or "", event.data)
        ended = ended or chunk.finish_reason is not None
        yield chunk
        if ended:
            return
    raise UpstreamError("connection", f"{model.provider.name}: stream ended early.")


def upstream_error(model: ModelEntry, text: str) -> str:
    return scrub(error_message(text), model.provider.api_key)
