"""Anthropic Messages API, translated to and from OpenAI chat completions."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from routing.catalog.pricing import TokenUsage
from routing.providers.base import (
    Adapter,
    Chunk,
    Completion,
    UpstreamError,
    classify_exception,
    classify_status,
    error_message,
    scrub,
)
from routing.transport import http

if TYPE_CHECKING:
    from routing.catalog import ModelEntry

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
}


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for part in content or ():
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            blocks.append(_image_block(part["image_url"].get("url", "")))
    return blocks


def _image_block(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        media, _, data = url[5:].partition(";base64,")
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _assistant_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = _content_blocks(message.get("content"))
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        try:
            arguments = orjson.loads(function.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            arguments = {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": arguments,
            }
        )
    return blocks


def _messages(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """OpenAI messages -> (system prompt, Anthropic messages with alternating roles merged)."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role in ("system", "developer"):
            system.append(_text(message.get("content")))
            continue
        if role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id"),
                "content": _text(message.get("content")),
            }
            role, blocks = "user", [block]
        elif role == "assistant":
            blocks = _assistant_blocks(message)
        else:
            role, blocks = "user", _content_blocks(message.get("content"))
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return "\n\n".join(s for s in system if s), out


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        function = tool.get("function", {})
        out.append(
            {
                "name": function.get("name"),
                "description": function.get("description", ""),
                "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
            }
        )
    return out


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice in (None, "auto"):
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if isinstance(choice, dict):
        return {"type": "tool", "name": choice.get("function", {}).get("name")}
    return None


def to_anthropic(model: ModelEntry, body: dict[str, Any], stream: bool) -> dict[str, Any]:
    system, messages = _messages(body["messages"])
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    payload: dict[str, Any] = {
        "model": model.model_id,
        "messages": messages,
        "max_tokens": max_tokens,
    }
    if system:
        payload["system"] = system
    if body.get("temperature") is not None:
        # OpenAI accepts 0..2, Anthropic 0..1: clamp rather than forward a certain 400.
        payload["temperature"] = min(float(body["temperature"]), 1.0)
    if body.get("top_p") is not None:
        payload["top_p"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        payload["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools") and body.get("tool_choice") != "none":
        payload["tools"] = _tools(body["tools"])
        choice = _tool_choice(body.get("tool_choice"))
        if choice:
            payload["tool_choice"] = choice
    if stream:
        payload["stream"] = True
    return payload


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


def from_anthropic(model: ModelEntry, data: dict[str, Any]) -> Completion:
    text, calls = "", []
    for block in data.get("content") or ():
        if block.get("type") == "text":
            text += block.get("text", "")
        elif block.get("type") == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": arguments},
                }
            )
    message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
    if calls:
        message["tool_calls"] = calls
    usage = usage_from(data.get("usage") or {})
    body = {
        "id": "chatcmpl-" + str(data.get("id", "")).removeprefix("msg_"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model.id,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": STOP_REASONS.get(data.get("stop_reason") or "", "stop"),
            }
        ],
        "usage": usage.to_openai(),
    }
    return Completion(body=body, usage=usage)


def _headers(model: ModelEntry) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-api-key": model.provider.api_key,
        "anthropic-version": API_VERSION,
    }


class AnthropicAdapter(Adapter):
    protocol = "anthropic"

    async def complete(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> Completion:
        payload = to_anthropic(model, body, stream=False)
        try:
            response = await http.post(
                f"{model.provider.base_url}/v1/messages",
                orjson.dumps(payload),
                _headers(model),
                read_timeout,
            )
            if response.status >= 400:
                message = scrub(error_message(response.text), model.provider.api_key)
                raise classify_status(response.status, f"Anthropic: {message}", response.headers)
            data = orjson.loads(response.body)
        except Exception as exc:  # noqa: BLE001 - classified, or re-raised if unknown
            raise classify_exception(exc) from None
        if not isinstance(data, dict) or data.get("type") != "message":
            raise UpstreamError("malformed", "Anthropic: response is not a message.")
        try:
            return from_anthropic(model, data)
        except (TypeError, ValueError, KeyError, AttributeError):
            raise UpstreamError(
                "malformed", "Anthropic: the message has an unexpected shape."
            ) from None

    async def stream(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> AsyncIterator[Chunk]:
        payload = to_anthropic(model, body, stream=True)
        try:
            async with http.stream(
                f"{model.provider.base_url}/v1/messages",
                orjson.dumps(payload),
                _headers(model),
                read_timeout,
            ) as response:
                if response.status >= 400:
                    text = await response.read_body()
                    message = scrub(error_message(text), model.provider.api_key)
                    raise classify_status(
                        response.status, f"Anthropic: {message}", response.headers
                    )
                translator = StreamTranslator(model)
                async for event in response.events():
                    for chunk in translator.feed(event.event, event.data):
                        yield chunk
                if not translator.stopped:
                    raise UpstreamError("connection", "Anthropic: stream ended early.")
        except Exception as exc:  # noqa: BLE001 - classified, or re-raised if unknown
            raise classify_exception(exc) from None


class StreamTranslator:
    """Anthropic stream events -> OpenAI chat.completion.chunk objects."""

    def __init__(self, model: ModelEntry) -> None:
        self.model = model
        self.id = "chatcmpl-"
        self.created = int(time.time())
        self.usage = TokenUsage()
        self.tool_index: dict[int, int] = {}
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
        handler = getattr(self, "on_" + (data.get("type") or event), None)
        return handler(data) if handler else []

    def on_message_start(self, data: dict[str, Any]) -> list[Chunk]:
        message = data.get("message") or {}
        self.id = "chatcmpl-" + str(message.get("id", "")).removeprefix("msg_")
        self.usage = usage_from(message.get("usage") or {})
        return [Chunk(data=self._chunk({"role": "assistant", "content": ""}))]

    def on_content_block_start(self, data: dict[str, Any]) -> list[Chunk]:
        block = data.get("content_block") or {}
        if block.get("type") != "tool_use":
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
        if delta.get("type") == "text_delta":
            text = delta.get("text", "")
            return [Chunk(data=self._chunk({"content": text}), text=text)]
        if delta.get("type") == "input_json_delta":
            index = self.tool_index.get(data.get("index", 0), 0)
            call = {"index": index, "function": {"arguments": delta.get("partial_json", "")}}
            return [Chunk(data=self._chunk({"tool_calls": [call]}))]
        return []

    def on_message_delta(self, data: dict[str, Any]) -> list[Chunk]:
        usage = data.get("usage") or {}
        self.usage.output_tokens = int(usage.get("output_tokens") or self.usage.output_tokens)
        if "input_tokens" in usage or "cache_read_input_tokens" in usage:
            merged = usage_from(usage)
            if merged.input_tokens:
                self.usage.input_tokens = merged.input_tokens
                self.usage.cache_read_tokens = merged.cache_read_tokens
                self.usage.cache_write_tokens = merged.cache_write_tokens
        reason = (data.get("delta") or {}).get("stop_reason") or ""
        finish = STOP_REASONS.get(reason, "stop")
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
