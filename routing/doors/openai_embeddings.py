"""The OpenAI embeddings door (POST /v1/embeddings): RAG apps and vector indexers.

It validates the request in OpenAI's terms (a string, a list of strings, a token array or a
list of token arrays; `encoding_format` float or base64; `dimensions`), and hands the engine
one call that only embedding models may serve: priced, rate-limited, budgeted, cached (an
identical input is a hit) and recorded with protocol "embeddings".
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import orjson
from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from routing.catalog import KeyEntry, Snapshot
from routing.doors import openai_paths
from routing.doors.base import Reply, cost_header, gateway_headers, json_reply
from routing.doors.openai_paths import Request
from routing.engine.context import CallContext
from routing.engine.oneshot import OneShot, run
from routing.engine.plan import Attempt
from routing.engine.policies import ROUTE_PREFIX, PolicyInput
from routing.errors import invalid
from routing.guards.cache import directives
from routing.guards.keys import authenticate_header
from routing.providers import Completion, adapter_for
from routing.schemas import validation_error

MAX_INPUTS = 2048
Input = str | list[str] | list[int] | list[list[int]]


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=300)
    input: Input
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1, le=65536)
    user: str | None = None

    @field_validator("input")
    @classmethod
    def _not_empty(cls, value: Input) -> Input:
        if isinstance(value, str):
            if not value:
                raise ValueError("must not be empty")
            return value
        if not value:
            raise ValueError("must not be an empty list")
        if len(value) > MAX_INPUTS:
            raise ValueError(f"at most {MAX_INPUTS} inputs per request")
        if any(isinstance(item, str | list) and not item for item in value):
            raise ValueError("must not contain an empty string or token array")
        return value

    def texts(self) -> list[str]:
        """The inputs as text, for the policy and the token estimate."""
        value = self.input
        if isinstance(value, str):
            return [value]
        texts: list[str] = []
        for item in value:
            if isinstance(item, int):
                return [" ".join(str(token) for token in value)]
            texts.append(item if isinstance(item, str) else " ".join(map(str, item)))
        return texts

    def input_tokens(self) -> int:
        value = self.input
        if isinstance(value, list) and value and isinstance(value[0], int):
            return len(value)
        if isinstance(value, list) and value and isinstance(value[0], list):
            return sum(len(item) for item in value if isinstance(item, list))
        return sum(max(1, len(text) // 4) for text in self.texts())

    def upstream_body(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


def parse(raw: bytes) -> EmbeddingsRequest:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    return validate(data)


def _input_error(exc: ValidationError) -> Exception:
    first = exc.errors()[0]
    if first["loc"] and first["loc"][0] == "input" and first["type"] != "missing":
        reason = first["msg"].removeprefix("Value error, ")
        if first["type"] != "value_error":
            reason = "must be a string, a list of strings, a token array or a list of them"
        return invalid(f"Invalid value for 'input': {reason}.", param="input")
    return validation_error(exc)


def cache_name(req: EmbeddingsRequest) -> str:
    params = {k: v for k, v in req.upstream_body().items() if k != "user"}
    digest = hashlib.sha256(orjson.dumps(params, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"sy:cache:emb:{digest}"


def _ttl(model: str, snapshot: Snapshot) -> int:
    if model.startswith(ROUTE_PREFIX):
        route = snapshot.routes.get(model[len(ROUTE_PREFIX) :])
        return route.cache_ttl if route is not None else 0
    return settings.SWITCHYARD_EMBEDDINGS_CACHE_TTL


def _checked_dimensions(req: EmbeddingsRequest, attempt: Attempt) -> None:
    native = attempt.model.dimensions
    if req.dimensions and native and req.dimensions > native:
        raise invalid(
            f"'dimensions' is {req.dimensions}, but {attempt.model.id} makes vectors of "
            f"{native} dimensions at most.",
            param="dimensions",
        )


def _op(req: EmbeddingsRequest) -> Callable[[Attempt], Awaitable[Completion]]:
    body = req.upstream_body()

    async def op(attempt: Attempt) -> Completion:
        _checked_dimensions(req, attempt)
        adapter = adapter_for(attempt.model.provider.protocol)
        return await adapter.embed(attempt.model, body, settings.SWITCHYARD_REQUEST_TIMEOUT)

    return op


def _shot(req: EmbeddingsRequest, ctx: CallContext, snapshot: Snapshot) -> OneShot:
    texts = req.texts()
    inp = PolicyInput(
        model=req.model,
        prompt=texts[-1],
        query_type=ctx.query_type,
        input_tokens=req.input_tokens(),
        output_tokens=0,
        allowed_regions=ctx.allowed_regions,
    )
    return OneShot(
        inp, _op(req), kind="embedding", cache_name=cache_name(req), ttl=_ttl(req.model, snapshot)
    )


def _body(completion: Completion, ctx: CallContext) -> dict[str, Any]:
    body = completion.body
    usage = ctx.usage
    body["usage"] = {"prompt_tokens": usage.input_tokens, "total_tokens": usage.input_tokens}
    return body


async def complete(
    req: EmbeddingsRequest, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None = None
) -> Completion:
    """The embeddings call through the engine; the body has the usage of what was charged."""
    ctx.protocol = "embeddings"
    completion = await run(_shot(req, ctx, snapshot), snapshot, ctx, key)
    completion.body = _body(completion, ctx)
    return completion


def validate(data: dict[str, Any]) -> EmbeddingsRequest:
    """A request body already decoded (a batch line), validated like the door's own."""
    try:
        return EmbeddingsRequest.model_validate(data)
    except ValidationError as exc:
        raise _input_error(exc) from None


async def embeddings(request: Request) -> Reply:
    key, snapshot = await authenticate_header(request.headers.get("authorization", ""))
    req = parse(request.body)
    ctx = CallContext(
        requested_model=req.model,
        api_key_id=key.id,
        protocol="embeddings",
        query_type=request.headers.get("x-switchyard-query-type", ""),
        allowed_regions=key.allowed_regions,
        request_id=request.request_id,
        request_body=request.body,
    )
    ctx.cache_read, ctx.cache_write = directives(request.headers.get("cache-control", ""))
    completion = await complete(req, snapshot, ctx, key)
    headers = gateway_headers(ctx)
    headers["x-switchyard-cost-usd"] = cost_header(ctx)
    return json_reply(completion.body, headers)


openai_paths.route("/v1/embeddings", POST=embeddings)
