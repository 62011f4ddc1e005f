"""One non-streaming call that is not a chat completion (embeddings, a native relay), through
the same engine as chat: plan, guards, cache, dispatch, usage record.

A door describes its call with a `OneShot` (what the policy sees, the cache slot, which
kind of model may serve it, and the adapter call per attempt); this module runs it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from routing.catalog import KeyEntry, Snapshot
from routing.engine import dispatch, latency
from routing.engine.context import CallContext
from routing.engine.gateway import _observe, _recorded_if_it_fails, score_prompt
from routing.engine.plan import Attempt, Plan
from routing.engine.policies import PolicyInput, plan_for
from routing.engine.telemetry import finished
from routing.errors import GatewayError
from routing.guards import cache, limits
from routing.providers import Completion


@dataclass
class OneShot:
    inp: PolicyInput
    op: Callable[[Attempt], Awaitable[Completion]]
    kind: str = "chat"  # the model kind every attempt must be
    cache_name: str = ""
    ttl: int = 0
    output_estimate: int = 0


def _wrong_kind(plan: Plan, kind: str) -> GatewayError | None:
    wrong = [a.model.id for a in plan.attempts if a.model.kind != kind]
    if not wrong:
        return None
    what = "an embedding model" if kind == "embedding" else f"a {kind} model"
    return GatewayError(
        400,
        f"{', '.join(wrong)} is not {what}; this endpoint needs {what}.",
        code="model_not_supported",
        param="model",
    )


def _estimate(plan: Plan, tokens: int, output: int) -> Decimal | None:
    costs = [a.model.estimate_cost(tokens, output) for a in plan.attempts]
    known = [c for c in costs if c is not None]
    return max(known) if known and len(known) == len(costs) else None


async def _hit(
    shot: OneShot, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None
) -> Completion | None:
    if not shot.ttl or not ctx.cache_read:
        return None
    hit = await cache.lookup(shot.cache_name)
    if hit is None:
        return None
    await limits.admit(ctx, key, 0, None, count_only=True)
    ctx.cache_hit, ctx.model = True, snapshot.resolve(hit.model)
    ctx.usage, ctx.saved_usd = hit.usage, hit.cost
    ctx.first_token_at = ctx.started
    return Completion(body=hit.body, usage=hit.usage)


async def _run(
    shot: OneShot, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None
) -> Completion:
    chosen = plan_for(shot.inp, snapshot, latency.snapshot(), score_prompt)
    ctx.route, ctx.decision = chosen.route, chosen.reason
    wrong = _wrong_kind(chosen, shot.kind)
    if wrong is not None:
        raise wrong
    hit = await _hit(shot, snapshot, ctx, key)
    if hit is not None:
        return hit
    tokens = shot.inp.input_tokens + shot.output_estimate
    ctx.token_estimate = tokens
    reservation = await limits.admit(
        ctx, key, tokens, _estimate(chosen, shot.inp.input_tokens, shot.output_estimate)
    )
    try:
        completion = await dispatch.call(chosen, ctx, shot.op)
        ctx.usage = completion.usage
        ctx.first_token_at = time.perf_counter()
    finally:
        await limits.settle(reservation, ctx)
    if shot.ttl and ctx.cache_write:
        await cache.store(shot.cache_name, shot.ttl, completion.body, ctx)
    return completion


async def run(
    shot: OneShot, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None = None
) -> Completion:
    with _recorded_if_it_fails(ctx):
        completion = await _run(shot, snapshot, ctx, key)
    _observe(ctx)
    finished(ctx)
    return completion
