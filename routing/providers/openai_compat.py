"""OpenAI-compatible upstreams: OpenAI, DeepSeek, Qwen, Together, Groq, Mistral, Fireworks,
Gemini's OpenAI endpoint, OpenRouter, local servers and the built-in simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from routing.catalog.pricing import TokenUsage
from routing.providers import openai_responses
from routing.providers.base import (
    NATIVE_KEY,
    Adapter,
    Chunk,
    Completion,
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


def _headers(model: ModelEntry) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if model.provider.api_key:
        headers["authorization"] = f"Bearer {model.provider.api_key}"
    return headers


async def _raise_for_status(model: ModelEntry, status: int, text: str, headers: Any) -> None:
    message = scrub(error_message(text), model.provider.api_key)
    raise classify_status(status, f"{model.provider.name}: {message}", headers)


class OpenAIAdapter(Adapter):
    protocol = "openai"

    async def complete(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> Completion:
        native = native_for(body, openai_responses.PROTOCOL)
        if native is not None and model.provider.serves_responses:
            payload = openai_responses.payload(model, native, stream=False)
            data = await post_json(model, "/responses", payload, read_timeout)
            return openai_responses.as_chat(model, data)
        url = f"{model.provider.base_url}/chat/completions"
        payload = {**body, "model": model.model_id, "stream": False}
        payload.pop("stream_options", None)
        payload.pop(NATIVE_KEY, None)
        try:
            response = await upstream.client().post(
                url, orjson.dumps(payload), _headers(model), read_timeout
            )
            if response.status >= 400:
                await _raise_for_status(model, response.status, response.text, response.headers)
            data = orjson.loads(response.body)
        except Exception as exc:  # noqa: BLE001 - classified, or re-raised if unknown
            raise classify_exception(exc) from None
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise UpstreamError("malformed", f"{model.provider.name}: response has no choices.")
        data["model"] = model.id
        return Completion(body=data, usage=TokenUsage.from_openai(data.get("usage")))

    async def complete_text(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> Completion:
        payload = {**body, "model": model.model_id, "stream": False}
        data = await post_json(model, "/completions", payload, read_timeout)
        if not isinstance(data.get("choices"), list):
            raise UpstreamError("malformed", f"{model.provider.name}: response has no choices.")
        data["model"] = model.id
        return Completion(body=data, usage=TokenUsage.from_openai(data.get("usage")))

    async def embed(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> Completion:
        payload = {**body, "model": model.model_id}
        data = await post_json(model, "/embeddings", payload, read_timeout)
        if not isinstance(data.get("data"), list):
            raise UpstreamError("malformed", f"{model.provider.name}: response has no data.")
        data["model"] = model.id
        return Completion(body=data, usage=TokenUsage.from_openai(data.get("usage")))

    async def stream(
        self, model: ModelEntry, body: dict[str, Any], read_timeout: float
    ) -> AsyncIterator[Chunk]:
        native = native_for(body, openai_responses.PROTOCOL)
        if native is not None and model.provider.serves_responses:
            async for chunk in self._responses_stream(model, native, read_timeout):
                yield chunk
            return
        url = f"{model.provider.base_url}/chat/completions"
        payload = {**body, "model": model.model_id, "stream": True}
        payload["stream_options"] = {"include_usage": True}
        payload.pop(NATIVE_KEY, None)
        try:
            async with upstream.client().stream(
                url, orjson.dumps(payload), _headers(model), read_timeout
            ) as response:
                if response.status >= 400:
                    text = await response.read_body()
                    await _raise_for_status(model, response.status, text, response.headers)
                done = False
                async for event in response.events():
                    if event.data == "[DONE]":
                        done = True
                        break
                    chunk = _parse_chunk(model, event.data)
                    chunk.more = response.pending > 0  # each event is a chunk or [DONE]
                    yield chunk
                if not done:
                    raise UpstreamError("connection", f"{model.provider.name}: stream ended early.")
        except Exception as exc:  # noqa: BLE001 - classified, or re-raised if unknown
            raise classify_exception(exc) from None

    async def _responses_stream(
        self, model: ModelEntry, native: Any, read_timeout: float
    ) -> AsyncIterator[Chunk]:
        url = f"{model.provider.base_url}/responses"
        payload = openai_responses.payload(model, native, stream=True)
        try:
            async with upstream.client().stream(
                url, orjson.dumps(payload), _headers(model), read_timeout
            ) as response:
                if response.status >= 400:
                    text = await response.read_body()
                    await _raise_for_status(model, response.status, text, response.headers)
                async for chunk in openai_responses.relay(model, response.events()):
                    yield chunk
        except Exception as exc:  # noqa: BLE001 - classified, or re-raised if unknown
            raise classify_exception(exc) from None


async def post_json(
    model: ModelEntry, path: str, payload: dict[str, Any], read_timeout: float
) -> dict[str, Any]:
    """POST a JSON body to one of the provider's OpenAI endpoints; the JSON object back."""
    url = f"{model.provider.base_url}{path}"
    try:
        response = await upstream.client().post(
            url, orjson.dumps(payload), _headers(model), read_timeout
        )
        if response.status >= 400:
            await _raise_for_status(model, response.status, response.text, response.headers)
        data = orjson.loads(response.body)
    except Exception as exc:  # noqa: BLE001 - classified, or re-raised if unknown
        raise classify_exception(exc) from None
    if not isinstance(data, dict):
        raise UpstreamError("malformed", f"{model.provider.name}: response is not an object.")
    return data


def _parse_chunk(model: ModelEntry, raw: str) -> Chunk:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamError(
            "malformed", f"{model.provider.name}: stream chunk is not JSON."
        ) from None
    if not isinstance(data, dict):
        raise UpstreamError("malformed", f"{model.provider.name}: stream chunk is not an object.")
    if data.get("error"):
        message = scrub(error_message(raw), model.provider.api_key)
        raise UpstreamError("server", f"{model.provider.name}: {message}")
    data["model"] = model.id
    text, finish = "", None
    for choice in data.get("choices") or ():
        delta = choice.get("delta") or {}
        text += delta.get("content") or ""
        finish = choice.get("finish_reason") or finish
    usage = TokenUsage.from_openai(data["usage"]) if data.get("usage") else None
    return Chunk(data=data, usage=usage, text=text, finish_reason=finish)
