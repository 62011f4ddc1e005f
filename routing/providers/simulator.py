"""The built-in simulator: an OpenAI-compatible endpoint served by Switchyard itself.

With no provider keys the app still works end to end: `sim/...` models are called over
real HTTP through the same adapter as any provider, and stream at a realistic pace. Every
answer opens by saying it is simulated. Outside DEBUG it answers only requests carrying the
server's internal token (SWITCHYARD_INTERNAL_TOKEN), which the gateway sends.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from routing.catalog.pricing import estimate_tokens
from routing.catalog.seed import SIM_MODELS
from routing.providers.sim_answers import LABEL, compose
from routing.providers.simulator_shapes import Answer, answers

__all__ = ["LABEL", "chat_completions", "embeddings", "models"]

PACE = {name: pace for name, _ref, pace in SIM_MODELS}


def _words(model: str, prompt: str, limit: int) -> list[str]:
    """The answer (in the shape the prompt asks for) as tokens of about one word each."""
    words = [w + " " for w in compose(model, prompt).split(" ")]
    words[-1] = words[-1].rstrip(" ")
    return words[:limit]


def _prompt(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else str(content)
    return ""


def _usage(body: dict[str, Any], completion: int) -> dict[str, int]:
    prompt_tokens = estimate_tokens(len(orjson.dumps(body.get("messages") or [])))
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }


def _error(status: int, message: str) -> HttpResponse:
    payload = {
        "error": {"message": message, "type": "invalid_request_error", "code": None, "param": None}
    }
    return HttpResponse(orjson.dumps(payload), status=status, content_type="application/json")


def _refused(request: HttpRequest) -> HttpResponse | None:
    """Outside DEBUG only the gateway may call the simulator: it sends the internal token."""
    if settings.DEBUG:
        return None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip(), settings.SWITCHYARD_INTERNAL_TOKEN
    ):
        return None
    return _error(401, "The simulator answers only Switchyard itself; call it through /v1.")


@csrf_exempt
async def chat_completions(request: HttpRequest) -> HttpResponseBase:
    refused = _refused(request)
    if refused is not None:
        return refused
    try:
        body = orjson.loads(request.body)
        name = str(body["model"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return _error(400, "Send a JSON body with 'model' and 'messages'.")
    if name not in PACE:
        return _error(404, f"The simulator has no model '{name}'.")
    limit = int(body.get("max_completion_tokens") or body.get("max_tokens") or 400)
    n = body.get("n") or 1
    if not isinstance(n, int) or not 1 <= n <= 16:
        return _error(400, "'n' must be an integer from 1 to 16.")
    prose = [_words(name, _prompt(body) + ("" if i == 0 else f"#{i}"), limit) for i in range(n)]
    finish = "length" if len(prose[0]) >= limit else "stop"
    shaped = answers(body, prose, finish)
    if body.get("stream"):
        response = StreamingHttpResponse(
            _stream(name, body, shaped), content_type="text/event-stream"
        )
        response["cache-control"] = "no-cache"
        return response
    await asyncio.sleep(_first_token_delay(name))
    return HttpResponse(
        orjson.dumps(_completion(name, body, shaped)), content_type="application/json"
    )


def _first_token_delay(name: str) -> float:
    return settings.SWITCHYARD_SIM_FIRST_TOKEN_SECONDS / PACE[name]


def _message(answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
    if answer.tool_calls:
        message["tool_calls"] = answer.tool_calls
    return message


def _tokens(shaped: list[Answer]) -> int:
    return sum(answer.tokens for answer in shaped)


def _completion(name: str, body: dict[str, Any], shaped: list[Answer]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-sim{int(time.time() * 1000)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": name,
        "choices": [
            {"index": i, "message": _message(a), "logprobs": None, "finish_reason": a.finish}
            for i, a in enumerate(shaped)
        ],
        "usage": _usage(body, _tokens(shaped)),
    }


def _pieces(answer: Answer) -> list[dict[str, Any]]:
    """The deltas of one answer: words of its text, or its tool calls in two parts."""
    if not answer.tool_calls:
        return [{"content": word} for word in answer.words]
    deltas: list[dict[str, Any]] = []
    for index, call in enumerate(answer.tool_calls):
        head = {**call, "index": index, "function": {**call["function"], "arguments": ""}}
        deltas.append({"tool_calls": [head]})
        arguments = call["function"]["arguments"]
        deltas.append({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]})
    return deltas


async def _stream(name: str, body: dict[str, Any], shaped: list[Answer]) -> AsyncIterator[bytes]:
    base = {
        "id": f"chatcmpl-sim{int(time.time() * 1000)}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": name,
    }

    def event(index: int, delta: dict[str, Any], reason: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}
        return b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n"

    interval = 1.0 / (settings.SWITCHYARD_SIM_TOKENS_PER_SECOND * PACE[name])
    await asyncio.sleep(_first_token_delay(name))
    for index, answer in enumerate(shaped):
        yield event(index, {"role": "assistant", "content": ""})
        for delta in _pieces(answer):
            yield event(index, delta)
            await asyncio.sleep(interval)
        yield event(index, {}, answer.finish)
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = _usage(body, _tokens(shaped))
        yield b"data: " + orjson.dumps({**base, "choices": [], "usage": usage}) + b"\n\n"
    yield b"data: [DONE]\n\n"


async def models(request: HttpRequest) -> HttpResponse:
    refused = _refused(request)
    if refused is not None:
        return refused
    data = [
        {"id": name, "object": "model", "created": 0, "owned_by": "switchyard-simulator"}
        for name in PACE
    ]
    return HttpResponse(
        orjson.dumps({"object": "list", "data": data}), content_type="application/json"
    )


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for `text`: the same input always gives the same vector."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values += [(byte - 127.5) / 127.5 for byte in digest]
        counter += 1
    vector = values[:dimensions]
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [round(v / norm, 6) for v in vector]


def _embedding_inputs(raw: Any) -> list[str] | None:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(i, int) for i in raw):
        return [" ".join(map(str, raw))]
    if isinstance(raw, list) and raw and all(isinstance(i, str | list) for i in raw):
        return [i if isinstance(i, str) else " ".join(map(str, i)) for i in raw]
    return None


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding != "base64":
        return vector
    import base64
    import struct

    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


@csrf_exempt
async def embeddings(request: HttpRequest) -> HttpResponse:
    """OpenAI's /v1/embeddings for `embed`, the simulator's one embedding model."""
    refused = _refused(request)
    if refused is not None:
        return refused
    from routing.catalog.seed import SIM_EMBEDDING

    name, _ref, native = SIM_EMBEDDING
    try:
        body = orjson.loads(request.body)
        inputs = _embedding_inputs(body.get("input"))
    except (orjson.JSONDecodeError, AttributeError):
        return _error(400, "Send a JSON body with 'model' and 'input'.")
    if body.get("model") != name:
        return _error(404, f"The simulator has no embedding model '{body.get('model')}'.")
    if inputs is None:
        return _error(400, "'input' must be a string, a list of strings or token arrays.")
    dims = int(body.get("dimensions") or native)
    encoding = str(body.get("encoding_format") or "float")
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": _encoded(embedding_vector(t, dims), encoding),
        }
        for i, t in enumerate(inputs)
    ]
    tokens = sum(max(1, len(t) // 4) for t in inputs)
    payload = {
        "object": "list",
        "data": data,
        "model": name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return HttpResponse(orjson.dumps(payload), content_type="application/json")
