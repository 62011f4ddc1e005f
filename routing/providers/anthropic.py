"""Anthropic Messages API: the back door for Anthropic models.

Requests from the OpenAI chat door are translated (tools, images, `response_format` as a
forced tool unwrapped back into `message.content`, `n` fanned out, `parallel_tool_calls`).
Requests from the Anthropic door carry their native body (`Native`) and go out as they came,
with only the model id changed: thinking, cache_control, citations and the rest survive, and
the answer comes back both translated (for the engine) and as it was (for the door).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from routing.catalog.pricing import TokenUsage
from routing.providers.anthropic_stream import (
    STOP_REASONS,
    StreamTranslator,
    finish_reason,
    usage_from,
)
from routing.providers.base import (
    Adapter,
    Chunk,
    Completion,
    Native,
    UpstreamError,
    classify_exception,
    classify_status,
    error_message,
    native_for,
    scrub,
)
from routing.transport import upstream

if TYPE_CHECKING:
    from routing.catalog import ModelEntry

__all__ = ["STOP_REASONS", "AnthropicAdapter", "StreamTranslator", "to_anthropic", "usage_from"]

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
JSON_TOOL = "json_response"  # the forced tool that carries a response_format answer
PASSED_ON = ("anthropic-version", "anthropic-beta")


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


def _json_tool(response_format: Any) -> dict[str, Any] | None:
    """`response_format` as a tool the model is forced to call: its input is the answer."""
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        schema: dict[str, Any] = {"type": "object", "additionalProperties": True}
        return {
            "name": JSON_TOOL,
            "description": "Answer with a JSON object.",
            "input_schema": schema,
        }
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
        description = spec.get("description") or "Answer with JSON matching this schema."
        return {"name": JSON_TOOL, "description": description, "input_schema": schema}
    return None


def _refuse_unsupported(body: dict[str, Any], stream: bool) -> None:
    if body.get("logprobs") or body.get("top_logprobs"):
        raise UpstreamError(
            "bad_request",
            "Anthropic models do not return logprobs: send the request without.",
            400,
        )
    if stream and (body.get("n") or 1) > 1:
        raise UpstreamError(
            "bad_request", "Anthropic models stream one choice: send n=1 or stream=false.", 400
        )


def _apply_tools(payload: dict[str, Any], body: dict[str, Any]) -> None:
    json_tool = _json_tool(body.get("response_format"))
    tools = _tools(body["tools"]) if body.get("tools") and body.get("tool_choice") != "none" else []
    choice = _tool_choice(body.get("tool_choice")) if tools else None
    if json_tool is not None:
        tools.append(json_tool)
        choice = {"type": "tool", "name": JSON_TOOL}
    if not tools:
        return
    payload["tools"] = tools
    if choice:
        if body.get("parallel_tool_calls") is False and choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
        payload["tool_choice"] = choice


def to_anthropic(model: ModelEntry, body: dict[str, Any], stream: bool) -> dict[str, Any]:
    _refuse_unsupported(body, stream)
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
    if isinstance(body.get("user"), str):
        payload["metadata"] = {"user_id": body["user"]}
    _apply_tools(payload, body)
    if stream:
        payload["stream"] = True
    return payload


def native_payload(model: ModelEntry, native: Native, body: dict[str, Any], stream: bool) -> dict:
    """The native body with the provider's model id and the route's limits applied."""
    payload = {**native.body, "model": model.model_id}
    if body.get("max_tokens"):
        payload["max_tokens"] = body["max_tokens"]
    if "temperature" in body and "temperature" not in native.body:
        payload["temperature"] = min(float(body["temperature"]), 1.0)
    if stream:
        payload["stream"] = True
    else:
        payload.pop("stream", None)
    return payload


def _message(data: dict[str, Any], json_tool: bool) -> tuple[dict[str, Any], str]:
    text, calls = "", []
    for block in data.get("content") or ():
        if block.get("type") == "text":
            text += block.get("text", "")
        elif block.get("type") == "tool_use" and json_tool and block.get("name") == JSON_TOOL:
            text += orjson.dumps(block.get("input") or {}).decode()
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
    return message, finish_reason(data.get("stop_reason"), JSON_TOOL if json_tool else None)


def from_anthropic(model: ModelEntry, data: dict[str, Any], json_tool: bool = False) -> Completion:
    message, finish = _message(data, json_tool)
    usage = usage_from(data.get("usage") or {})
    body = {
        "id": "chatcmpl-" + str(data.get("id", "")).removeprefix("msg_"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model.id,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage.to_openai(),
    }
    return Completion(body=body, usage=usage)


def merge_choices(parts: list[Completion]) -> Completion:
    """n answers of one request as one completion with n choices and their summed usage."""
    first = parts[0]
    usage = TokenUsage()
    choices = []
    for index, part in enumerate(parts):
        for choice in part.body["choices"]:
            choices.append({**choice, "index": index})
        for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
            setattr(usage, name, getattr(usage, name) + getattr(part.usage, name))
    body = {**first.body, "choices": choices, "usage": usage.to_openai()}
    return Completion(body=body, usage=usage)


def _headers(model: ModelEntry, native: Native | None = None) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "x-api-key": model.provider.api_key,
        "anthropic-version": API_VERSION,
    }
    if native is not None:
        headers.update({k: v for k, v in native.headers.items() if k in PASSED_ON and v})
    return headers


async def _post(model: ModelEntry, path: str, payload: dict, headers: dict, timeout: float) -> Any:
    try:
        response = await upstream.client().post(
            f"{model.provider.base_url}{path}", orjson.dumps(payload), headers, timeout
        )
        if response.status >= 400:
            message = scrub(error_message(response.text), model.provider.api_key)
            raise classify_status(response.status, f"Anthropic: {message}", response.headers)
        return orjson.loads(response.body)
    except Exception as exc:  # noqa: BLE001 - classified, or re-raised if unknown
        raise classify_exception(exc) from None


class AnthropicAdapter(Adapter):
    protocol = "anthropic"

    async def complete(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> Completion:
        native = native_for(body, self.protocol)
        if native is not None:
            payload = native_payload(model, native, body, stream=False)
            data = await self._message(model, payload, _headers(model, native), read_timeout)
            completion = self._translate(model, data, False)
            completion.native = {**data, "model": model.id}
            return completion
        n = int(body.get("n") or 1)
        payload = to_anthropic(model, body, stream=False)
        json_tool = (
            "response_format" in body and payload.get("tool_choice", {}).get("name") == JSON_TOOL
        )
        calls = [self._message(model, payload, _headers(model), read_timeout) for _ in range(n)]
        answers = await asyncio.gather(*calls)
        parts = [self._translate(model, data, json_tool) for data in answers]
        return parts[0] if n == 1 else merge_choices(parts)

    async def _message(
        self, model: ModelEntry, payload: dict, headers: dict, read_timeout: float
    ) -> dict[str, Any]:
        data = await _post(model, "/v1/messages", payload, headers, read_timeout)
        if not isinstance(data, dict) or data.get("type") != "message":
            raise UpstreamError("malformed", "Anthropic: response is not a message.")
        return data

    def _translate(self, model: ModelEntry, data: dict[str, Any], json_tool: bool) -> Completion:
        try:
            return from_anthropic(model, data, json_tool)
        except (TypeError, ValueError, KeyError, AttributeError):
            raise UpstreamError(
                "malformed", "Anthropic: the message has an unexpected shape."
            ) from None

    async def count_tokens(
        self, model: ModelEntry, native: Native, read_timeout: float
    ) -> dict[str, Any] | None:
        payload = {**native.body, "model": model.model_id}
        data = await _post(
            model, "/v1/messages/count_tokens", payload, _headers(model, native), read_timeout
        )
        if not isinstance(data, dict) or not isinstance(data.get("input_tokens"), int):
            raise UpstreamError("malformed", "Anthropic: the token count has an unexpected shape.")
        return data

    async def stream(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> AsyncIterator[Chunk]:
        native = native_for(body, self.protocol)
        if native is not None:
            payload, headers = native_payload(model, native, body, True), _headers(model, native)
        else:
            payload, headers = to_anthropic(model, body, stream=True), _headers(model)
        json_tool = JSON_TOOL if payload.get("tool_choice", {}).get("name") == JSON_TOOL else None
        if native is not None:
            json_tool = None
        try:
            async with upstream.client().stream(
                f"{model.provider.base_url}/v1/messages",
                orjson.dumps(payload),
                headers,
                read_timeout,
            ) as response:
                if response.status >= 400:
                    text = await response.read_body()
                    message = scrub(error_message(text), model.provider.api_key)
                    raise classify_status(
                        response.status, f"Anthropic: {message}", response.headers
                    )
                translator = StreamTranslator(model, json_tool)
                async for event in response.events():
                    chunks = translator.feed(event.event, event.data)
                    if native is not None:
                        chunks = _with_native(chunks, event.event, event.data)
                    for chunk in chunks:
                        yield chunk
                if not translator.stopped:
                    raise UpstreamError("connection", "Anthropic: stream ended early.")
        except Exception as exc:  # noqa: BLE001 - classified, or re-raised if unknown
            raise classify_exception(exc) from None


def _with_native(chunks: list[Chunk], event: str | None, raw: str) -> list[Chunk]:
    """Every upstream event reaches the door once: on its first translated chunk, or on an
    empty one when it has no OpenAI equivalent."""
    if not chunks:
        chunks = [Chunk(data={})]
    chunks[0].extra["native"] = (event or "", raw)
    return chunks
