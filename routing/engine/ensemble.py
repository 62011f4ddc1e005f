"""Ensemble: fan out to several models at once, one choice per model, an optional judge.

The judge is the plan's (resolved when it was planned, so the reservation counted it) and
writes at most JUDGE_OUTPUT_TOKENS: Plan.worst_cost can then bound what a judged ensemble costs.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from routing.catalog import pricing
from routing.engine import dispatch
from routing.engine.outcome import Answered, AttemptLog, Exhausted
from routing.engine.plan import JUDGE_OUTPUT_TOKENS, Attempt, Plan
from routing.errors import GatewayError
from routing.providers import Completion

JUDGE_PROMPT = (
    "You are judging answers to the same question. Reply with the number of the best answer "
    "on the first line as 'best: N', then one line 'reason: ...'.\n\nQuestion:\n{question}\n\n{answers}"
)


@dataclass(frozen=True)
class Member:
    """One model's part of the ensemble: its answer or its error, and its attempts."""

    attempt: Attempt
    attempts: tuple[AttemptLog, ...]
    completion: Completion | None = None
    error: GatewayError | None = None


async def _member(attempt: Attempt, body: dict[str, Any]) -> Member:
    try:
        completion, answered = await dispatch.complete(Plan((attempt,)), body, time.perf_counter())
    except Exhausted as err:
        return Member(attempt, err.attempts, error=err)
    except GatewayError as err:
        return Member(attempt, (), error=err)
    return Member(attempt, answered.attempts, completion)


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


def _question(body: dict[str, Any]) -> str:
    """The last user message's text: its text parts only (what the reservation counted)."""
    users = [m.get("content") for m in body["messages"] if m.get("role") == "user"]
    content = users[-1] if users else ""
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


async def _judge(
    plan: Plan, body: dict[str, Any], members: list[Member]
) -> tuple[dict[str, Any] | None, tuple[Decimal | None, ...]]:
    """The judge's verdict (None without a judge) and its cost, if it was called."""
    judge_name = plan.extra.get("judge")
    answered = [(i, m) for i, m in enumerate(members) if m.completion is not None]
    if not judge_name or len(answered) < 2:
        return None, ()
    judge = plan.judge  # the model the reservation counted (routing/engine/plan.py)
    if judge is None:
        return {"model": judge_name, "error": "judge model not in catalog"}, ()
    question = _question(body)
    answers = "\n\n".join(
        f"Answer {i}:\n{m.completion.body['choices'][0]['message'].get('content') or ''}"  # type: ignore[union-attr]
        for i, m in answered
    )
    prompt = JUDGE_PROMPT.format(question=question, answers=answers)
    judge_body = {
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0,
        "max_tokens": JUDGE_OUTPUT_TOKENS,
    }
    try:
        verdict, _ = await dispatch.complete(
            Plan((Attempt(judge),)), judge_body, time.perf_counter()
        )
    except GatewayError as err:
        return {"model": judge.id, "error": err.message}, ()
    cost = pricing.cost(judge.prices_ref, verdict.usage) if judge.prices_ref else None
    text = verdict.body["choices"][0]["message"].get("content") or ""
    best = re.search(r"best:\s*(\d+)", text, re.I)
    reason = re.search(r"reason:\s*(.+)", text, re.I)
    found = {
        "model": judge.id,
        "choice": int(best.group(1)) if best else None,
        "reason": reason.group(1).strip() if reason else text[:300],
    }
    return found, (cost,)


async def complete_ensemble(
    plan: Plan, body: dict[str, Any], started: float, tokens: int = 0
) -> tuple[Completion, Answered]:
    """Every attempt at once, one choice per model; priced exactly, member by member."""
    members = await asyncio.gather(*(_member(a, body) for a in plan.attempts))
    attempts = tuple(log for member in members for log in member.attempts)
    answered = [m for m in members if m.completion is not None]
    if not answered:
        message = "Every model of the ensemble failed."
        raise Exhausted.new(attempts, 502, message, "upstream_error", "ensemble_failed")
    usage = pricing.TokenUsage(
        input_tokens=sum(cast(Completion, m.completion).usage.input_tokens for m in answered),
        output_tokens=sum(cast(Completion, m.completion).usage.output_tokens for m in answered),
    )
    at = time.perf_counter()
    judge, judge_cost = await _judge(plan, body, list(members))
    costs = (*(_member_cost(m) for m in members), *judge_cost)
    outcome = Answered(answered[0].attempt.model, attempts, usage, at, costs)
    return Completion(body=_body(plan, members, usage, judge), usage=usage), outcome


def _body(
    plan: Plan, members: list[Member], usage: pricing.TokenUsage, judge: dict[str, Any] | None
) -> dict[str, Any]:
    result = {
        "id": f"chatcmpl-ens{int(time.time() * 1000)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "route/" + plan.route,
        "choices": [_choice(i, m) for i, m in enumerate(members)],
        "usage": usage.to_openai(),
    }
    if judge is not None:
        result["switchyard"] = {"judge": judge}
    return result
