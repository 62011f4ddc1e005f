"""Budgets that cannot be overspent: a budgeted key's request goes upstream with the
`max_tokens` its budget reservation pays for, never above what the client (or the route)
asked.

The reservation is taken atomically with the rate limits (a `floor` take in
routing/guards/state.py): as much of the wanted answer as the remaining budget covers, down to
a minimal answer; below that the request is refused before any upstream call (429
`budget_exceeded`). The answer then cannot cost more than was reserved, so the recorded spend
stays within the budget however many requests run at once. Input tokens are estimated with a
margin (the upstream's own count may differ from ours). A request for `n` choices reserves `n`
whole answers (an Anthropic model answers each with its own call, input and all), and each
choice gets an `n`th of what the reservation pays for.

An ensemble (a plan that fans out) sends one body to every member, so the cap is one limit
they share: the largest for which every member's input and answer plus the judge's worst case
(Plan.worst_cost: it reads the question and every capped answer, and writes at most
JUDGE_OUTPUT_TOKENS) fit the reservation. Streaming ensembles are refused before this
(routing/engine/gateway.py), so nothing fans out uncapped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from routing.engine.plan import Plan
    from routing.engine.policies import PolicyInput

MICRO = Decimal(1_000_000)
INPUT_MARGIN = 1.25
INPUT_SLACK = 8
HEADER = "x-switchyard-budget-max-tokens"


@dataclass(frozen=True)
class Ask:
    input_tokens: int  # the request's input estimate, with the margin
    wanted: int  # output tokens wanted: the client's max_tokens or the budget default
    asked: int | None  # what the client asked for (None: nothing)
    wanted_usd: Decimal
    floor_usd: Decimal  # a minimal answer
    copies: int = 1  # the choices asked (`n`): each may be a whole call


def ask(chosen: Plan, inp: PolicyInput, copies: int = 1) -> Ask | None:
    """What to reserve for this plan, `copies` times; None when a model has no price (the
    guard refuses)."""
    input_tokens = math.ceil(inp.input_tokens * INPUT_MARGIN) + INPUT_SLACK
    wanted = inp.output_tokens or settings.SWITCHYARD_BUDGET_MAX_TOKENS
    wanted_usd = chosen.worst_cost(input_tokens, wanted)
    floor_usd = chosen.worst_cost(input_tokens, min(wanted, settings.SWITCHYARD_BUDGET_MIN_TOKENS))
    if wanted_usd is None or floor_usd is None:
        return None
    return Ask(
        input_tokens, wanted, inp.output_tokens, wanted_usd * copies, floor_usd * copies, copies
    )


def tokens_for(chosen: Plan, budget: Ask, micro_usd: int) -> int:
    """The most output tokens any attempt of the plan can write within `micro_usd`, shared
    by the copies."""
    usd = Decimal(micro_usd) / MICRO / budget.copies
    if chosen.fans_out:
        return _shared_tokens(chosen, budget, usd)
    best = budget.wanted
    for attempt in chosen.attempts:
        model = attempt.model
        if model.input_price is None or model.output_price is None or model.output_price <= 0:
            continue
        left = usd - model.input_price * budget.input_tokens / MICRO
        best = min(best, int(left / (model.output_price / MICRO)))
    return max(1, best)


def _shared_tokens(chosen: Plan, budget: Ask, usd: Decimal) -> int:
    """The largest output limit every member shares (one body) such that all the members
    and the judge's worst case (Plan.worst_cost) fit `usd`: a search, the cost only grows."""
    low, high = 1, budget.wanted
    while low < high:
        mid = (low + high + 1) // 2
        cost = chosen.worst_cost(budget.input_tokens, mid)
        if cost is not None and cost <= usd:
            low = mid
        else:
            high = mid - 1
    return low


def cap(body: dict[str, Any], tokens: int) -> None:
    """Never above what the client asked: lower its limit, or set one if it gave none."""
    names = [name for name in ("max_tokens", "max_completion_tokens") if body.get(name)]
    for name in names:
        body[name] = min(int(body[name]), tokens)
    if not names:
        body["max_tokens"] = tokens


def apply(
    chosen: Plan, budget: Ask, micro_usd: int, body: dict[str, Any], headers: dict[str, str]
) -> None:
    """Cap the body to the reservation; say so in a header when the answer may be shorter
    than the client asked (or when it asked for no limit)."""
    tokens = tokens_for(chosen, budget, micro_usd)
    cap(body, tokens)
    if budget.asked is None or tokens < budget.asked:
        headers[HEADER] = str(tokens)
