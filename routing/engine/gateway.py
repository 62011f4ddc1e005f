"""The one code path every consumer takes: plan, guards, cache, dispatch, usage record.

`/v1` (routing/doors/django_views.py), the playground and batch jobs all call these functions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from routing.catalog import KeyEntry, Snapshot
from routing.complexity import get_estimator
from routing.engine import dispatch, latency, telemetry
from routing.engine.context import CallContext
from routing.engine.plan import Plan
from routing.engine.policies import DEFAULT_OUTPUT_ESTIMATE, PolicyInput, plan_for
from routing.errors import GatewayError, invalid
from routing.guards import budget_cap, cache, limits
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
        input_tokens=dispatch.estimate_input_tokens(chat.messages),
        output_tokens=chat.output_limit,
        allowed_regions=ctx.allowed_regions,
    )


def plan(chat: ChatRequest, snapshot: Snapshot, ctx: CallContext) -> tuple[Plan, PolicyInput]:
    inp = policy_input(chat, ctx)
    chosen = plan_for(inp, snapshot, latency.snapshot(), score_prompt)
    ctx.route, ctx.decision = chosen.route, chosen.reason
    ctx.complexity_score = chosen.extra.get("score")
    return chosen, inp


def estimate(chosen: Plan, inp: PolicyInput) -> tuple[int, Decimal | None]:
    """Tokens and USD to reserve: the priciest attempt (all of them for an ensemble)."""
    output = inp.output_tokens or DEFAULT_OUTPUT_ESTIMATE
    costs = [
        a.model.estimate_cost(inp.input_tokens, a.params.get("max_tokens") or output)
        for a in chosen.attempts
    ]
    if any(c is None for c in costs):
        return inp.input_tokens + output, None
    known = [c for c in costs if c is not None]
    total = sum(known, Decimal(0)) if chosen.strategy == "ensemble" else max(known)
    return inp.input_tokens + output, total


def _failed(ctx: CallContext, err: GatewayError) -> None:
    ctx.status = "error"
    ctx.http_status = err.status
    ctx.error_type = ctx.error_type or err.code or err.type
    err.headers.update(ctx.limit_headers)
    telemetry.finished(ctx)


def _cancelled(ctx: CallContext) -> None:
    ctx.status, ctx.http_status, ctx.error_type = "cancelled", 499, "client_disconnected"


def _observe(ctx: CallContext) -> None:
    if ctx.model is not None and ctx.status == "ok" and not ctx.cache_hit:
        latency.observe(ctx.model.id, ctx.ttft_ms, ctx.usage.output_tokens, ctx.latency_ms)


async def _cached(
    chat: ChatRequest, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None
) -> tuple[str, int, cache.Cached | None]:
    ttl = cache.ttl_for(chat, snapshot)
    if ttl <= 0:
        return "", 0, None
    name = cache.cache_key(chat, ctx.query_type)
    hit = await cache.lookup(name) if ctx.cache_read else None
    if hit is not None:
        await limits.admit(ctx, key, 0, None, count_only=True)
        ctx.cache_hit, ctx.model = True, snapshot.resolve(hit.model)
        ctx.usage, ctx.saved_usd = hit.usage, hit.cost
        ctx.first_token_at = ctx.started
    return name, ttl, hit


async def _complete(
    chat: ChatRequest, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None
) -> Completion:
    chosen, inp = plan(chat, snapshot, ctx)
    name, ttl, hit = await _cached(chat, snapshot, ctx, key)
    if hit is not None:
        return Completion(body=hit.body, usage=hit.usage)
    body = chat.upstream_body()
    reservation = await _reserve(chosen, inp, ctx, key, body)
    try:
        if chosen.strategy == "ensemble":
            from routing.engine.ensemble import complete_ensemble

            completion = await complete_ensemble(chosen, body, ctx)
        else:
            completion = await dispatch.complete(chosen, body, ctx)
    finally:
        await limits.settle(reservation, ctx)
    if ttl and ctx.cache_write:
        await cache.store(name, ttl, completion.body, ctx)
    return completion


async def _reserve(
    chosen: Plan, inp: PolicyInput, ctx: CallContext, key: KeyEntry | None, body: dict[str, Any]
) -> limits.Reservation:
    """Take the request's limits; with a budget, reserve what the answer may cost and cap the
    upstream's max_tokens to it (routing/guards/budget_cap.py). Ensembles keep the estimate."""
    tokens, usd = estimate(chosen, inp)
    ctx.token_estimate = tokens
    budget = None
    if key is not None and key.budget_usd is not None and chosen.strategy != "ensemble":
        budget = budget_cap.ask(chosen, inp)
    if budget is None:
        return await limits.admit(ctx, key, tokens, usd)
    reservation = await limits.admit(ctx, key, tokens, budget.wanted_usd, floor=budget.floor_usd)
    budget_cap.apply(chosen, budget, reservation.micro_usd, body, ctx.limit_headers)
    return reservation


@contextlib.contextmanager
def _recorded_if_it_fails(ctx: CallContext) -> Iterator[None]:
    """A request refused or cancelled before it answers still leaves its usage record."""
    try:
        yield
    except GatewayError as err:
        _failed(ctx, err)
        raise
    except asyncio.CancelledError:
        _cancelled(ctx)
        telemetry.finished(ctx)
        raise


async def complete(
    chat: ChatRequest, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None = None
) -> Completion:
    with _recorded_if_it_fails(ctx):
        completion = await _complete(chat, snapshot, ctx, key)
    _observe(ctx)
    telemetry.finished(ctx)
    return completion


class StreamSession:
    """An opened stream: iterate `chunks()` once; the usage record is written when it ends."""

    def __init__(
        self,
        ctx: CallContext,
        head: list[Chunk],
        rest: AsyncIterator[Chunk],
        messages: list[Any],
        reservation: limits.Reservation | None = None,
        cache_slot: tuple[str, int] = ("", 0),
    ) -> None:
        self.ctx = ctx
        self.head = head
        self.rest = rest
        self.messages = messages
        self.reservation = reservation
        self.cache_slot = cache_slot
        self.text: list[str] = []
        self.finish = ""
        self.tools = False

    def _track(self, chunk: Chunk) -> None:
        dispatch.track(self.ctx, chunk)
        self.text.append(chunk.text)
        self.finish = chunk.finish_reason or self.finish
        self.tools = self.tools or any(
            (c.get("delta") or {}).get("tool_calls") for c in chunk.data.get("choices") or ()
        )

    async def chunks(self) -> AsyncIterator[Chunk]:
        ctx = self.ctx
        try:
            for chunk in self.head:
                self._track(chunk)
                yield chunk
            async for chunk in self.rest:
                self._track(chunk)
                yield chunk
        except UpstreamError as err:
            ctx.status, ctx.http_status, ctx.error_type = "error", 502, err.kind
            raise
        except (asyncio.CancelledError, GeneratorExit):
            _cancelled(ctx)
            raise
        except Exception:
            ctx.status, ctx.http_status, ctx.error_type = "error", 500, "internal"
            raise
        finally:
            await self._finish()

    async def _finish(self) -> None:
        ctx = self.ctx
        await self.rest.aclose()  # type: ignore[attr-defined]
        dispatch.fill_estimates(ctx, self.messages)
        if self.reservation is not None:
            await limits.settle(self.reservation, ctx)
        name, ttl = self.cache_slot
        if ttl and ctx.status == "ok" and ctx.cache_write and not self.tools and self.finish:
            body = cache.completion_from_stream(ctx, "".join(self.text), self.finish)
            await cache.store(name, ttl, body, ctx)
        _observe(ctx)
        telemetry.finished(ctx)


async def _open(
    chat: ChatRequest, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None
) -> StreamSession:
    body = chat.upstream_body()
    chosen, inp = plan(chat, snapshot, ctx)
    if chosen.strategy == "ensemble":
        raise invalid(
            "Ensemble routes answer without streaming: send stream=false.", param="stream"
        )
    name, ttl, hit = await _cached(chat, snapshot, ctx, key)
    if hit is not None:
        return StreamSession(ctx, [], cache.replay(hit), body["messages"])
    reservation = await _reserve(chosen, inp, ctx, key, body)
    try:
        opened = await dispatch.open_stream(chosen, body, ctx)
    except BaseException:
        await limits.settle(reservation, ctx)
        raise
    return StreamSession(ctx, opened.head, opened.rest, body["messages"], reservation, (name, ttl))


async def open_stream(
    chat: ChatRequest, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None = None
) -> StreamSession:
    with _recorded_if_it_fails(ctx):
        return await _open(chat, snapshot, ctx, key)
