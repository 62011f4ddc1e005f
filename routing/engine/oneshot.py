"""One non-streaming call that is not a chat completion (embeddings, the legacy completions),
through the same engine as chat: plan, guards, cache, dispatch, usage record.

A door describes its call with a `OneShot` (what the policy sees, the cache slot, which
kind of model may serve it, and the adapter call per attempt); this module runs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from routing.catalog import KeyEntry, Snapshot
from routing.engine import dispatch, telemetry
from routing.engine.context import CallContext
from routing.engine.gateway import _answered, _keep, _observe, _recorded_if_it_fails, _settle
from routing.engine.live import plan_live
from routing.engine.outcome import Answered
from routing.engine.plan import Attempt, Plan
from routing.engine.policies import PolicyInput
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


async def _hit(
    shot: OneShot, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None
) -> Completion | None:
    if not shot.ttl or not ctx.cache_read:
        return None
    hit = await cache.lookup(shot.cache_name)
    if hit is None:
        return None
    ctx.reservation = await limits.admit(key, 0, None, ctx.requested_model, count_only=True)
    ctx.cached, ctx.usage = hit, hit.usage
    model = snapshot.resolve(hit.model)
    if model is not None:
        ctx.answer = Answered(model, (), hit.usage, ctx.started)
    return Completion(body=hit.body, usage=hit.usage)


async def _run(
    shot: OneShot, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None
) -> Completion:
    ctx.plan = chosen = plan_live(shot.inp, snapshot)
    if ctx.keep_days or chosen.route:
        _keep(ctx, snapshot)
    wrong = _wrong_kind(chosen, shot.kind)
    if wrong is not None:
        raise wrong
    hit = await _hit(shot, snapshot, ctx, key)
    if hit is not None:
        return hit
    tokens = shot.inp.input_tokens + shot.output_estimate
    worst = chosen.worst_cost(shot.inp.input_tokens, shot.output_estimate or None)
    ctx.reservation = await limits.admit(key, tokens, worst, ctx.requested_model)
    try:
        completion, answer = await dispatch.call(chosen, ctx.started, tokens, shot.op)
        _answered(ctx, answer)
    finally:
        await _settle(ctx)
    if shot.ttl and ctx.cache_write and ctx.model is not None:
        entry = cache.Cached(completion.body, ctx.model.id, ctx.usage, ctx.cost())
        await cache.store(shot.cache_name, shot.ttl, entry)
    return completion


async def run(
    shot: OneShot, snapshot: Snapshot, ctx: CallContext, key: KeyEntry | None = None
) -> Completion:
    ctx.keep_days = key.keep_days if key is not None else 0
    with _recorded_if_it_fails(ctx):
        completion = await _run(shot, snapshot, ctx, key)
    if ctx.keep_days:
        ctx.reply = completion.body
    _observe(ctx)
    telemetry.finished(ctx)
    return completion
