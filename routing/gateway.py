"""The one code path every consumer takes: plan, dispatch, usage record.

`/v1` (routing/api.py), the playground and batch jobs all call these functions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from typing import Any

from routing import dispatch, latency, records
from routing.catalog import Snapshot
from routing.complexity import get_estimator
from routing.context import CallContext
from routing.errors import GatewayError, invalid
from routing.plan import Plan
from routing.policies import PolicyInput, plan_for
from routing.providers import Chunk, Completion, UpstreamError
from routing.schemas import ChatRequest


def score_prompt(estimator: str, prompt: str) -> Any:
    return get_estimator(estimator or "learned").score(prompt)


def _number(metadata: dict[str, Any], name: str) -> Decimal | None:
    value = metadata.get(name)
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"'metadata.{name}' must be a number.", param=f"metadata.{name}") from None
    if not number.is_finite() or number < 0:
        raise invalid(f"'metadata.{name}' must be a positive number.", param=f"metadata.{name}")
    return number


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def policy_input(chat: ChatRequest, ctx: CallContext) -> PolicyInput:
    metadata = chat.metadata or {}
    latency_ms = _number(metadata, "max_latency_ms")
    user = [_text(m.content) for m in chat.messages if m.role == "user"]
    return PolicyInput(
        model=chat.model,
        prompt=user[-1] if user else "",
        query_type=ctx.query_type,
        max_cost_usd=_number(metadata, "max_cost_usd"),
        max_latency_ms=float(latency_ms) if latency_ms is not None else None,
        input_tokens=dispatch.estimate_input_tokens([m.model_dump() for m in chat.messages]),
        output_tokens=chat.output_limit,
        allowed_regions=ctx.allowed_regions,
    )


def plan(chat: ChatRequest, snapshot: Snapshot, ctx: CallContext) -> Plan:
    chosen = plan_for(policy_input(chat, ctx), snapshot, latency.snapshot(), score_prompt)
    ctx.route, ctx.decision = chosen.route, chosen.reason
    return chosen


def _failed(ctx: CallContext, err: GatewayError) -> None:
    ctx.status = "error"
    ctx.http_status = err.status
    ctx.error_type = ctx.error_type or err.code or err.type
    records.submit(ctx.record())


def _cancelled(ctx: CallContext) -> None:
    ctx.status, ctx.http_status, ctx.error_type = "cancelled", 499, "client_disconnected"


def _observe(ctx: CallContext) -> None:
    if ctx.model is not None and ctx.status == "ok":
        latency.observe(ctx.model.id, ctx.ttft_ms, ctx.usage.output_tokens, ctx.latency_ms)


async def complete(chat: ChatRequest, snapshot: Snapshot, ctx: CallContext) -> Completion:
    try:
        chosen = plan(chat, snapshot, ctx)
        body = chat.upstream_body()
        if chosen.strategy == "ensemble":
            from routing.ensemble import complete_ensemble

            completion = await complete_ensemble(chosen, body, ctx)
        else:
            completion = await dispatch.complete(chosen, body, ctx)
    except GatewayError as err:
        _failed(ctx, err)
        raise
    except asyncio.CancelledError:
        _cancelled(ctx)
        records.submit(ctx.record())
        raise
    _observe(ctx)
    records.submit(ctx.record())
    return completion


class StreamSession:
    """An opened stream: iterate `chunks()` once; the usage record is written when it ends."""

    def __init__(self, ctx: CallContext, opened: dispatch.OpenStream, messages: list[Any]) -> None:
        self.ctx = ctx
        self.opened = opened
        self.messages = messages

    async def chunks(self) -> AsyncIterator[Chunk]:
        ctx = self.ctx
        try:
            for chunk in self.opened.head:
                dispatch.track(ctx, chunk)
                yield chunk
            async for chunk in self.opened.rest:
                dispatch.track(ctx, chunk)
                yield chunk
        except UpstreamError as err:
            ctx.status, ctx.http_status, ctx.error_type = "error", 502, err.kind
            raise
        except BaseException:
            _cancelled(ctx)
            raise
        finally:
            await self.opened.rest.aclose()  # type: ignore[attr-defined]
            dispatch.fill_estimates(ctx, self.messages)
            _observe(ctx)
            records.submit(ctx.record())


async def open_stream(chat: ChatRequest, snapshot: Snapshot, ctx: CallContext) -> StreamSession:
    body = chat.upstream_body()
    try:
        chosen = plan(chat, snapshot, ctx)
        if chosen.strategy == "ensemble":
            raise invalid(
                "Ensemble routes answer without streaming: send stream=false.", param="stream"
            )
        opened = await dispatch.open_stream(chosen, body, ctx)
    except GatewayError as err:
        _failed(ctx, err)
        raise
    except asyncio.CancelledError:
        _cancelled(ctx)
        records.submit(ctx.record())
        raise
    return StreamSession(ctx, opened, body["messages"])
