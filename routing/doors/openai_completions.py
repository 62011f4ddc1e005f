"""The legacy OpenAI text-completions door (POST /v1/completions): relayed, through the same
engine as chat, to providers that serve the endpoint (OpenAI's instruct models, DeepSeek,
Together, Fireworks, local vLLM/Ollama); refused clearly for any other. Streaming is refused
(no upstream we route to needs it for this legacy endpoint)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from routing.doors import openai_paths
from routing.doors.base import (
    Reply,
    api_key_header,
    cost_header,
    gateway_headers,
    json_reply,
    new_context,
)
from routing.doors.openai_paths import Request
from routing.engine.oneshot import OneShot, run
from routing.engine.plan import Attempt
from routing.engine.policies import PolicyInput
from routing.errors import invalid
from routing.guards.keys import authenticate_header
from routing.providers import Completion, adapter_for
from routing.schemas import validation_error

DOOR = "completions"
DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions


class CompletionsRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=300)
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1, le=16)
    stream: bool = False


def parse(raw: bytes) -> CompletionsRequest:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    try:
        req = CompletionsRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["loc"][:1] == ("prompt",) and first["type"] != "missing":
            raise invalid(
                "'prompt' must be a string, a list of strings or tokens.", "prompt"
            ) from None
        raise validation_error(exc) from None
    if req.stream:
        raise invalid("Switchyard relays /v1/completions without streaming.", param="stream")
    return req


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    return " ".join(p if isinstance(p, str) else str(p) for p in prompt)


def _op(body: dict[str, Any]) -> Callable[[Attempt], Awaitable[Completion]]:
    async def op(attempt: Attempt) -> Completion:
        provider = attempt.model.provider
        if not provider.serves_completions:
            raise invalid(
                f"{attempt.model.id} is served by {provider.name}, which has no /v1/completions;"
                " send it to /v1/chat/completions instead.",
                param="model",
                code="endpoint_not_supported",
            )
        adapter = adapter_for(provider.protocol)
        return await adapter.complete_text(attempt.model, body, settings.SWITCHYARD_REQUEST_TIMEOUT)

    return op


async def completions(request: Request) -> Reply:
    key, snapshot = await authenticate_header(api_key_header(request.headers))
    req = parse(request.body)
    text = _prompt_text(req.prompt)
    ctx = new_context(
        DOOR,
        req.model,
        key.id,
        False,
        "",
        key.allowed_regions,
        request.request_id,
        "",
        request.body,
    )
    inp = PolicyInput(
        model=req.model,
        prompt=text,
        input_tokens=max(1, len(text) // 4),
        output_tokens=req.max_tokens or DEFAULT_MAX_TOKENS,
        allowed_regions=key.allowed_regions,
    )
    body = req.model_dump(exclude_unset=True, exclude_none=True)
    shot = OneShot(inp, _op(body), output_estimate=req.max_tokens or DEFAULT_MAX_TOKENS)
    completion = await run(shot, snapshot, ctx, key)
    headers = gateway_headers(ctx)
    headers["x-switchyard-cost-usd"] = cost_header(ctx)
    return json_reply(completion.body, headers)


openai_paths.route("/v1/completions", POST=completions)
