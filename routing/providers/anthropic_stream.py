"""Anthropic stream events -> OpenAI chat.completion.chunk objects (the Anthropic back door's
stream half; routing/providers/anthropic.py sends the request)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from routing.catalog.pricing import TokenUsage
from routing.providers.base import Chunk, UpstreamError, scrub

if TYPE_CHECKING:
    from routing.catalog import ModelEntry

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
}


def usage_from(data: dict[str, Any]) -> TokenUsage:
    """Anthropic usage -> token usage; input includes cache writes and reads."""
    written = int(data.get("cache_creation_input_tokens") or 0)
    read = int(data.get("cache_read_input_tokens") or 0)
    return TokenUsage(
        input_tokens=int(data.get("input_tokens") or 0) + written + read,
        output_tokens=int(data.get("output_tokens") or 0),
        cache_read_tokens=read,
        cache_write_tokens=written,
    )


def finish_reason(stop_reason: str | None, json_tool: str | None) -> str:
    if json_tool and stop_reason == "tool_use":
        return "stop"  # the forced JSON tool is the answer, not a tool call
    return STOP_REASONS.get(stop_reason or "", "stop")


class StreamTranslator:
    """Anthropic stream events -> OpenAI chunks. `json_tool` names the forced tool that
    carries a response_format answer: its input streams as message content."""

    def __init__(self, model: ModelEntry, json_tool: str | None = None) -> None:
        self.model = model
        self.json_tool = json_tool
        self.id = "chatcmpl-"
        self.created = int(time.time())
        self.usage = TokenUsage()
        self.tool_index: dict[int, int] = {}
        self.json_blocks: set[int] = set()
        self.stopped = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model.id,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    def feed(self, event: str, raw: str) -> list[Chunk]:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise UpstreamError("malformed", "Anthropic: stream event is not JSON.") from None
        if not isinstance(data, dict):
            raise UpstreamError("malformed", "Anthropic: stream event is not an object.")
        handler = getattr(self, "on_" + str(data.get("type") or event), None)
        try:
            return handler(data) if handler else []
        except (AttributeError, TypeError, ValueError):
            raise UpstreamError("malformed", "Anthropic: stream event of an odd shape.") from None

    def on_message_start(self, data: dict[str, Any]) -> list[Chunk]:
        message = data.get("message") or {}
        self.id = "chatcmpl-" + str(message.get("id", "")).removeprefix("msg_")
        self.usage = usage_from(message.get("usage") or {})
        return [Chunk(data=self._chunk({"role": "assistant", "content": ""}))]

    def on_content_block_start(self, data: dict[str, Any]) -> list[Chunk]:
        block = data.get("content_block") or {}
        if block.get("type") != "tool_use":
            return []
        if self.json_tool and block.get("name") == self.json_tool:
            self.json_blocks.add(data.get("index", 0))
            return []
        index = self.tool_index.setdefault(data.get("index", 0), len(self.tool_index))
        call = {
            "index": index,
            "id": block.get("id"),
            "type": "function",
            "function": {"name": block.get("name"), "arguments": ""},
        }
        return [Chunk(data=self._chunk({"tool_calls": [call]}))]

    def on_content_block_delta(self, data: dict[str, Any]) -> list[Chunk]:
        delta = data.get("delta") or {}
        block = data.get("index", 0)
        if delta.get("type") == "text_delta":
            return [self._text(delta.get("text", ""))]
        if delta.get("type") == "input_json_delta":
            part = delta.get("partial_json", "")
            if block in self.json_blocks:
                return [self._text(part)] if part else []
            index = self.tool_index.get(block, 0)
            call = {"index": index, "function": {"arguments": part}}
            return [Chunk(data=self._chunk({"tool_calls": [call]}))]
        return []

    def _text(self, text: str) -> Chunk:
        return Chunk(data=self._chunk({"content": text}), text=text)

    def on_message_delta(self, data: dict[str, Any]) -> list[Chunk]:
        usage = data.get("usage") or {}
        self.usage.output_tokens = int(usage.get("output_tokens") or self.usage.output_tokens)
        if "input_tokens" in usage or "cache_read_input_tokens" in usage:
            merged = usage_from(usage)
            if merged.input_tokens:
                self.usage.input_tokens = merged.input_tokens
                self.usage.cache_read_tokens = merged.cache_read_tokens
                self.usage.cache_write_tokens = merged.cache_write_tokens
        finish = finish_reason((data.get("delta") or {}).get("stop_reason"), self.json_tool)
        return [Chunk(data=self._chunk({}, finish), finish_reason=finish)]

    def on_message_stop(self, data: dict[str, Any]) -> list[Chunk]:
        self.stopped = True
        usage_chunk = {**self._chunk({}), "choices": [], "usage": self.usage.to_openai()}
        return [Chunk(data=usage_chunk, usage=self.usage)]

    def on_error(self, data: dict[str, Any]) -> list[Chunk]:
        error = data.get("error") or {}
        kind = "overloaded" if error.get("type") == "overloaded_error" else "server"
        message = scrub(str(error.get("message", "stream error")), self.model.provider.api_key)
        raise UpstreamError(kind, f"Anthropic: {message}")
