"""The endpoints a batch line may call, each validated and run like its /v1 door does.

The runner knows only this small interface: `validate(url, body)` turns a line's body into a
request (or raises the door's GatewayError), `context`, `estimate` and `complete` run it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from batch.inputs import CHAT_URL, EMBEDDINGS_URL, RESPONSES_URL
from routing import catalog
from routing.catalog import KeyEntry
from routing.doors import openai_embeddings, openai_responses
from routing.engine import gateway, policies
from routing.engine.context import CallContext
from routing.engine.live import plan_live
from routing.errors import GatewayError
from routing.providers import Completion
from routing.schemas import ChatRequest, validation_error

Request = ChatRequest | openai_embeddings.EmbeddingsRequest | openai_responses.Line


def validate(url: str, body: dict[str, Any]) -> Request:
    if url == EMBEDDINGS_URL:
        return openai_embeddings.validate(body)
    if url == RESPONSES_URL:
        return openai_responses.Line(body)
    from pydantic import ValidationError

    try:
        return ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from None


def context(req: Request, api_key_id: int | None = None) -> CallContext:
    if isinstance(req, ChatRequest):
        query_type = (req.metadata or {}).get("query_type")
        return CallContext(
            requested_model=req.model,
            source="batch",
            api_key_id=api_key_id,
            query_type=query_type if isinstance(query_type, str) else "",
        )
    protocol = "responses" if isinstance(req, openai_responses.Line) else "embeddings"
    return CallContext(
        requested_model=req.model, source="batch", api_key_id=api_key_id, protocol=protocol
    )


def _inputs(req: Request) -> policies.PolicyInput:
    if isinstance(req, ChatRequest):
        return gateway.policy_input(req, context(req))
    output = None if isinstance(req, openai_responses.Line) else 0
    return policies.PolicyInput(
        model=req.model, input_tokens=req.input_tokens(), output_tokens=output
    )


def estimate(req: Request, snapshot: catalog.Snapshot) -> Decimal | None:
    """Worst-case estimated cost of this request's plan (0 when it cannot be planned)."""
    inp = _inputs(req)
    try:
        plan = plan_live(inp, snapshot)
    except GatewayError:
        return Decimal(0)  # it will fail without calling a model
    return plan.worst_cost(inp.input_tokens, inp.output_tokens)


async def complete(
    req: Request, snapshot: catalog.Snapshot, ctx: CallContext, key: KeyEntry | None = None
) -> Completion:
    if isinstance(req, ChatRequest):
        return await gateway.complete(req, snapshot, ctx, key)
    if isinstance(req, openai_responses.Line):
        return await openai_responses.complete_line(req, snapshot, ctx, key)
    return await openai_embeddings.complete(req, snapshot, ctx, key)


__all__ = ["CHAT_URL", "Request", "complete", "context", "estimate", "validate"]
