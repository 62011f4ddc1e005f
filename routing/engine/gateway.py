"""The one code path every consumer takes: plan, guards, cache, dispatch, usage record.

`/v1` (routing/doors/django_views.py), the playground and batch jobs all call these functions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from routing.catalog import KeyEntry, Snapshot
from routing.engine import dispatch, ensemble, latency, telemetry
from routing.engine.context import CallContext
from routing.engine.live import plan_live
from routing.engine.outcome import CANCELLED, Answered, Ending, Exhausted
from routing.engine.plan import DEFAULT_OUTPUT_ESTIMATE, Plan
from routing.engine.policies import PolicyInput
from routing.errors import GatewayError, invalid
from routing.guards import budget_cap, cache, limits
from routing.providers import Chunk, Completion, UpstreamError
from routing.schemas import ChatRequest


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
    ctx.plan = plan_live(inp, snapshot)
    return ctx.plan, inp


def _keep(ctx: CallContext, snapshot: Snapshot, chat: ChatRequest | None = None) -> None:
    """Keep the bodies when the key or the route opts in (the shorter retention when both
    do); a caller without a door (playground, batch) keeps the request as sent upstream."""
    route = snapshot.routes.get(ctx.route) if ctx.route else None
    days = route.keep_days if route is not None else 0  # ctx.keep_days: the key's, or 0
    if days and (not ctx.keep_days or days < ctx.keep_days):
        ctx.keep_days = days
    if ctx.keep_days and not ctx.request_body and chat is not None:
        ctx.request_body = orjson.dumps(chat.upstream_body())


def _tokens(inp: PolicyInput) -> int:
    """Tokens to reserve: the prompt's estimate and the output limit."""
    return inp.input_tokens + (inp.output_tokens or DEFAULT_OUTPUT_ESTIMATE)


def _failed(ctx: CallContext, err: GatewayError) -> None:
    if isinstance(err, Exhausted):
        ctx.attempts = err.attempts
    error_type = err.error_type if isinstance(err, Exhausted) else ""
    ctx.ending = Ending("error", err.status, error_type or err.code or err.type)
    if ctx.keep_days:
        ctx.reply = err.payload()
    err.headers.update(ctx.limit_headers)
    telemetry.finished(ctx)


def _answered(ctx: CallContext, answer: Answered) -> None:
    ctx.answer, ctx.attempts, ctx.usage = answer, answer.attempts, answer.usage


async def _settle(ctx: CallContext) -> None:
    if ctx.reservation is not None:
        ctx.settle_headers = await limits.settle(ctx.reservation, ctx.usage, ctx.cost)


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
        ctx.reservation = await limits.admit(key, 0, None, ctx.requested_model, count_only=True)
        ctx.cached, ctx.usage = hit, hit.usage
        model = snapshot.resolve(hit.model)
        if model is not None:
            ctx.answer = Answered(model, (), hit.usage, ctx.started)
    return name, ttl, hit


async def _admit(
    ctx: CallContext, key: KeyEntry | None, chosen: Plan, inp: PolicyInput, body: dict[str, Any]
) -> int:
    """Reserve the plan's worst case against the key's limits; the tokens reserved. With a
    budget, reserve what the answer may cost and cap the upstream's max_tokens to it
    (routing/guards/budget_cap.py; an ensemble's members and judge included)."""
    tokens = _tokens(inp)
    budget = None
    budgeted = key is not None and key.budget_usd is not None
    if budgeted:
        budget = budget_cap.ask(chosen, inp, int(body.get("n") or 1))
    if budget is None:
        # Only a budget reads the estimate (a key without one: 3 us per request saved).
        worst = chosen.worst_cost(inp.input_tokens, inp.output_tokens) if budgeted else None
        ctx.reservation = await limits.admit(key, tokens, worst, ctx.requested_model)
        return tokens
    ctx.reservation = await limits.admit(
        key, tokens, budget.wanted_usd, ctx.requested_model, floor=budget.floor_usd
    )
    budget_cap.apply(chosen, budget, ctx.reservation.micro_usd, body, ctx.reservation.headers)
    return tokens


async def _store(ctx: CallContext, name: str, ttl: int, body: dict[str, Any]) -> None:
    if ctx.model is not None:
        entry = cache.Cached(body, ctx.model.id, ctx.usage, ctx.cost())
        await cache.store(name, ttl, entry)


async def _complete(
    chat: ChatRequest, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None
) -> Completion:
    chosen, inp = plan(chat, snapshot, ctx)
    if ctx.keep_days or chosen.route:
        _keep(ctx, snapshot, chat)
    name, ttl, hit = await _cached(chat, snapshot, ctx, key)
    if hit is not None:
        return Completion(body=hit.body, usage=hit.usage)
    body = chat.upstream_body()
    tokens = await _admit(ctx, key, chosen, inp, body)
    run = ensemble.complete_ensemble if chosen.fans_out else dispatch.complete
    try:
        completion, answer = await run(chosen, body, ctx.started, tokens)
        _answered(ctx, answer)
    finally:
        await _settle(ctx)
    if ttl and ctx.cache_write:
        await _store(ctx, name, ttl, completion.body)
    return completion


@contextlib.contextmanager
def _recorded_if_it_fails(ctx: CallContext) -> Iterator[None]:
    """A request refused or cancelled before it answers still leaves its usage record."""
    try:
        yield
    except GatewayError as err:
        _failed(ctx, err)
        raise
    except asyncio.CancelledError:
        ctx.ending = CANCELLED
        telemetry.finished(ctx)
        raise


async def complete(
    chat: ChatRequest, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None = None
) -> Completion:
    ctx.keep_days = key.keep_days if key is not None else 0
    with _recorded_if_it_fails(ctx):
        completion = await _complete(chat, snapshot, ctx, key)
    if ctx.keep_days:
        ctx.reply = completion.body
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
        cache_slot: tuple[str, int] = ("", 0),
    ) -> None:
        self.ctx = ctx
        self.head = head
        self.rest = rest
        self.messages = messages
        self.cache_slot = cache_slot
        self.text: list[str] = []
        self.finish = ""
        self.tools = False

    def _track(self, chunk: Chunk) -> None:
        """Keep the usage of the relayed stream current (estimated until the upstream
        reports it)."""
        ctx = self.ctx
        if chunk.usage is not None:
            ctx.usage = chunk.usage
        elif chunk.text and (ctx.usage.estimated or ctx.usage.output_tokens == 0):
            ctx.usage.output_tokens += 1
            ctx.usage.estimated = True
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
            ctx.ending = Ending("error", 502, err.kind)
            raise
        except (asyncio.CancelledError, GeneratorExit):
            ctx.ending = CANCELLED
            raise
        except Exception:
            ctx.ending = Ending("error", 500, "internal")
            raise
        finally:
            await self._finish()

    async def _finish(self) -> None:
        ctx = self.ctx
        await self.rest.aclose()  # type: ignore[attr-defined]
        ctx.usage = dispatch.with_estimates(ctx.usage, self.messages)
        await _settle(ctx)
        name, ttl = self.cache_slot
        if ttl and ctx.status == "ok" and ctx.cache_write and not self.tools and self.finish:
            model = ctx.model.id if ctx.model else ""
            text = "".join(self.text)
            body = cache.completion_from_stream(ctx.request_id, model, ctx.usage, text, self.finish)
            await _store(ctx, name, ttl, body)
        if ctx.keep_days:
            ctx.reply = "".join(self.text)
        _observe(ctx)
        telemetry.finished(ctx)


async def _open(
    chat: ChatRequest, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None
) -> StreamSession:
    body = chat.upstream_body()
    chosen, inp = plan(chat, snapshot, ctx)
    if ctx.keep_days or chosen.route:
        _keep(ctx, snapshot, chat)
    if chosen.fans_out:
        raise invalid(
            f"{chosen.strategy.capitalize()} routes answer without streaming: send stream=false.",
            param="stream",
        )
    name, ttl, hit = await _cached(chat, snapshot, ctx, key)
    if hit is not None:
        return StreamSession(ctx, [], cache.replay(hit), body["messages"])
    tokens = await _admit(ctx, key, chosen, inp, body)
    try:
        opened = await dispatch.open_stream(chosen, body, ctx.started, tokens)
    except BaseException:
        await _settle(ctx)
        raise
    ctx.answer, ctx.attempts = opened.answered, opened.answered.attempts
    return StreamSession(ctx, opened.head, opened.rest, body["messages"], (name, ttl))


async def open_stream(
    chat: ChatRequest, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None = None
) -> StreamSession:
    ctx.keep_days = key.keep_days if key is not None else 0
    with _recorded_if_it_fails(ctx):
        return await _open(chat, snapshot, ctx, key)
