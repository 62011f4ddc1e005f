"""Ensemble: fan out to several models at once, one choice per model, an optional judge."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from routing.catalog import pricing
from routing.engine import dispatch
from routing.engine.context import CallContext
from routing.engine.plan import Attempt, Plan
from routing.errors import GatewayError
from routing.providers import Completion

JUDGE_PROMPT = (
    "You are judging answers to the same question. Reply with the number of the best answer "
    "on the first line as 'best: N', then one line 'reason: ...'.\n\nQuestion:\n{question}\n\n{answers}"
)


@dataclass
class Member:
    attempt: Attempt
    ctx: CallContext
    completion: Completion | None = None
    error: GatewayError | None = None


async def _member(attempt: Attempt, body: dict[str, Any], parent: CallContext) -> Member:
    ctx = CallContext(requested_model=attempt.model.id, started=time.perf_counter())
    member = Member(attempt, ctx)
    try:
        member.completion = await dispatch.complete(Plan((attempt,)), body, ctx)
    except GatewayError as err:
        member.error = err
    return member


def _choice(index: int, member: Member) -> dict[str, Any]:
    if member.completion is None:
        error = member.error.payload()["error"] if member.error else {"message": "failed"}
        return {
            "index": index,
            "model": member.attempt.model.id,
            "message": {"role": "assistant", "content": None},
            "finish_reason": "error",
            "error": error,
        }
    choice = dict(member.completion.body["choices"][0])
    return {**choice, "index": index, "model": member.attempt.model.id}


def _member_cost(member: Member) -> Decimal | None:
    model = member.attempt.model
    if member.completion is None:
        return Decimal(0)
    if not model.prices_ref:
        return None
    return pricing.cost(model.prices_ref, member.completion.usage)


async def _judge(
    plan: Plan, body: dict[str, Any], members: list[Member], ctx: CallContext
) -> dict[str, Any] | None:
    judge_name = plan.extra.get("judge")
    answered = [(i, m) for i, m in enumerate(members) if m.completion is not None]
    if not judge_name or len(answered) < 2:
        return None
    from routing.catalog import current

    judge = (await current()).resolve(judge_name)
    if judge is None:
        return {"model": judge_name, "error": "judge model not in catalog"}
    question = next(
        (m.get("content") for m in reversed(body["messages"]) if m.get("role") == "user"), ""
    )
    answers = "\n\n".join(
        f"Answer {i}:\n{m.completion.body['choices'][0]['message'].get('content') or ''}"  # type: ignore[union-attr]
        for i, m in answered
    )
    prompt = JUDGE_PROMPT.format(question=question, answers=answers)
    judge_ctx = CallContext(requested_model=judge.id)
    judge_body = {"messages": [{"role": "user", "content": prompt}], "temperature": 0}
    try:
        verdict = await dispatch.complete(Plan((Attempt(judge),)), judge_body, judge_ctx)
    except GatewayError as err:
        return {"model": judge.id, "error": err.message}
    ctx.extra_costs.append(
        pricing.cost(judge.prices_ref, verdict.usage) if judge.prices_ref else None
    )
    text = verdict.body["choices"][0]["message"].get("content") or ""
    best = re.search(r"best:\s*(\d+)", text, re.I)
    reason = re.search(r"reason:\s*(.+)", text, re.I)
    return {
        "model": judge.id,
        "choice": int(best.group(1)) if best else None,
        "reason": reason.group(1).strip() if reason else text[:300],
    }


async def complete_ensemble(plan: Plan, body: dict[str, Any], ctx: CallContext) -> Completion:
    members = await asyncio.gather(*(_member(a, body, ctx) for a in plan.attempts))
    for member in members:
        ctx.attempts += member.ctx.attempts
    answered = [m for m in members if m.completion is not None]
    if not answered:
        raise GatewayError(
            502,
            "Every model of the ensemble failed.",
            "upstream_error",
            "ensemble_failed",
            details=[a.as_dict() for a in ctx.attempts],
        )
    ctx.model = answered[0].attempt.model
    ctx.usage = pricing.TokenUsage(
        input_tokens=sum(cast(Completion, m.completion).usage.input_tokens for m in answered),
        output_tokens=sum(cast(Completion, m.completion).usage.output_tokens for m in answered),
    )
    ctx.first_token_at = time.perf_counter()
    costs = [_member_cost(m) for m in members]
    judge = await _judge(plan, body, list(members), ctx)
    # ctx.cost() prices ctx.usage with the first model; replace it by the exact per-member sum.
    ctx.extra_costs[:0] = costs
    ctx.model_cost_override = True
    result = {
        "id": f"chatcmpl-ens{int(time.time() * 1000)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "route/" + plan.route,
        "choices": [_choice(i, m) for i, m in enumerate(members)],
        "usage": ctx.usage.to_openai(),
    }
    if judge is not None:
        result["switchyard"] = {"judge": judge}
    return Completion(body=result, usage=ctx.usage)
