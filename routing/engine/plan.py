"""What a policy decides: an ordered list of attempts and the reason, and what it may cost."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from routing.catalog import ModelEntry

DEFAULT_OUTPUT_ESTIMATE = 512  # output tokens assumed when neither request nor route says
JUDGE_OUTPUT_TOKENS = 64  # the judge's limit: "best: N" and a one-line reason
JUDGE_PROMPT_TOKENS = 96  # the judge's instructions (ensemble.JUDGE_PROMPT), with room
JUDGE_LABEL_TOKENS = 8  # an "Answer N:" label, per answer
REREAD_MARGIN = 1.25  # an answer re-read by the judge: its tokenizer may count more


@dataclass(frozen=True, slots=True)
class Attempt:
    model: ModelEntry
    params: dict[str, Any] = field(default_factory=dict)  # overrides merged into the body

    def output_limit(self, output_tokens: int | None) -> int:
        """The request's output limit, capped by the target's own `max_tokens` (the body
        dispatch sends takes the smaller of the two)."""
        limit = self.params.get("max_tokens")
        output = output_tokens or limit or DEFAULT_OUTPUT_ESTIMATE
        if output_tokens and limit:
            output = min(output_tokens, limit)
        return int(output)

    def estimate_cost(self, input_tokens: int, output_tokens: int | None) -> Decimal | None:
        """This attempt's estimated cost at its output limit."""
        return self.model.estimate_cost(input_tokens, self.output_limit(output_tokens))


@dataclass(frozen=True)
class Plan:
    attempts: tuple[Attempt, ...]
    route: str = ""
    reason: str = ""
    strategy: str = "direct"
    extra: dict[str, Any] = field(default_factory=dict)
    fans_out: bool = False  # every attempt runs at once (the strategy's registry entry says)
    first_token_timeout: float | None = None  # the route's override (routing/engine/deadlines.py)
    judge: ModelEntry | None = None  # a fan-out's judge, resolved from extra["judge"]

    def worst_cost(self, input_tokens: int, output_tokens: int | None) -> Decimal | None:
        """The most this plan may cost: its priciest attempt, or all of them and the judge
        when it fans out; None when an attempt (or the judge) has no known price."""
        costs = [a.estimate_cost(input_tokens, output_tokens) for a in self.attempts]
        if self.fans_out:
            costs.append(self.judge_cost(input_tokens, output_tokens))
        known = [c for c in costs if c is not None]
        if len(known) < len(costs) or not known:
            return None
        return sum(known, Decimal(0)) if self.fans_out else max(known)

    def judge_cost(self, input_tokens: int, output_tokens: int | None) -> Decimal | None:
        """The judge's worst case: it reads the question and every member's whole answer
        inside its instructions, and writes at most JUDGE_OUTPUT_TOKENS (0: no judge)."""
        if self.judge is None or len(self.attempts) < 2:
            return Decimal(0)
        answers = sum(a.output_limit(output_tokens) + JUDGE_LABEL_TOKENS for a in self.attempts)
        read = input_tokens + math.ceil(answers * REREAD_MARGIN) + JUDGE_PROMPT_TOKENS
        return self.judge.estimate_cost(read, JUDGE_OUTPUT_TOKENS)
