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
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from routing.catalog.pricing import estimate_tokens
from routing.catalog.seed import SIM_MODELS

LABEL = "*Simulated answer: Switchyard's built-in simulator wrote this, no model was called.*"
PACE = {name: pace for name, _ref, pace in SIM_MODELS}
SENTENCES = (
    "The short answer depends on the constraints you care about most.",
    "A good first step is to write down the inputs, the expected output and one edge case.",
    "Start with the simplest version that works, then measure before optimising.",
    "Cheaper models handle routine questions well; harder prompts benefit from a stronger one.",
    "Caching identical requests removes both latency and cost for repeated traffic.",
    "Falling back to a second provider keeps the answer coming when the first one fails.",
    "Streaming shows the first words quickly, which matters more to people than total time.",
    "Token counts drive cost, so long prompts deserve a second look.",
    "In practice, most workloads mix many easy requests with a few difficult ones.",
    "Measure time to first token and tokens per second separately; they fail differently.",
)
CODE = "```python\ndef answer(question: str) -> str:\n    return route(question).complete()\n```"


def _words(model: str, prompt: str, limit: int) -> list[str]:
    seed = int(hashlib.sha256(f"{model}:{prompt}".encode()).hexdigest()[:12], 16)
    rng = random.Random(seed)
    first, *body, item1, item2 = rng.sample(SENTENCES, k=6)
    parts = [LABEL, "\n\n" + first]
    parts += [" " + sentence for sentence in body]
    parts.append(f"\n\n- {item1}\n- {item2}\n\n")
    if "code" in prompt.lower() or rng.random() < 0.3:
        parts.append(CODE + "\n\n")
    parts.append(f'You asked about "{prompt[:80]}".')
    text = "".join(parts)
    words = [w + " " for w in text.split(" ")]
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
    words = _words(name, _prompt(body), limit)
    finish = "length" if len(words) >= limit else "stop"
    if body.get("stream"):
        response = StreamingHttpResponse(
            _stream(name, body, words, finish), content_type="text/event-stream"
        )
        response["cache-control"] = "no-cache"
        return response
    await asyncio.sleep(_first_token_delay(name))
    return HttpResponse(
        orjson.dumps(_completion(name, body, words, finish)), content_type="application/json"
    )


def _first_token_delay(name: str) -> float:
    return settings.SWITCHYARD_SIM_FIRST_TOKEN_SECONDS / PACE[name]


def _completion(name: str, body: dict[str, Any], words: list[str], finish: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-sim{int(time.time() * 1000)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(words)},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": _usage(body, len(words)),
    }


async def _stream(
    name: str, body: dict[str, Any], words: list[str], finish: str
) -> AsyncIterator[bytes]:
    base = {
        "id": f"chatcmpl-sim{int(time.time() * 1000)}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": name,
    }

    def event(delta: dict[str, Any], reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n"

    interval = 1.0 / (settings.SWITCHYARD_SIM_TOKENS_PER_SECOND * PACE[name])
    await asyncio.sleep(_first_token_delay(name))
    yield event({"role": "assistant", "content": ""})
    for word in words:
        yield event({"content": word})
        await asyncio.sleep(interval)
    yield event({}, finish)
    if (body.get("stream_options") or {}).get("include_usage"):
        yield (
            b"data: "
            + orjson.dumps({**base, "choices": [], "usage": _usage(body, len(words))})
            + b"\n\n"
        )
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
