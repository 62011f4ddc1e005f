"""What a policy decides: an ordered list of attempts and the reason, and what it may cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from routing.catalog import ModelEntry

DEFAULT_OUTPUT_ESTIMATE = 512  # output tokens assumed when neither request nor route says


@dataclass(frozen=True, slots=True)
class Attempt:
    model: ModelEntry
    params: dict[str, Any] = field(default_factory=dict)  # overrides merged into the body

    def estimate_cost(self, input_tokens: int, output_tokens: int | None) -> Decimal | None:
        """This attempt's estimated cost: the request's output limit, capped by the target's
        own `max_tokens` (the body dispatch sends takes the smaller of the two)."""
        limit = self.params.get("max_tokens")
        output = output_tokens or limit or DEFAULT_OUTPUT_ESTIMATE
        if output_tokens and limit:
            output = min(output_tokens, limit)
        return self.model.estimate_cost(input_tokens, output)


@dataclass(frozen=True)
class Plan:
    attempts: tuple[Attempt, ...]
    route: str = ""
    reason: str = ""
    strategy: str = "direct"
    extra: dict[str, Any] = field(default_factory=dict)
    fans_out: bool = False  # every attempt runs at once (the strategy's registry entry says)
    first_token_timeout: float | None = None  # the route's override (routing/engine/deadlines.py)

    def worst_cost(self, input_tokens: int, output_tokens: int | None) -> Decimal | None:
        """The most this plan may cost: its priciest attempt, or all of them when it fans
        out; None when an attempt has no known price."""
        costs = [a.estimate_cost(input_tokens, output_tokens) for a in self.attempts]
        known = [c for c in costs if c is not None]
        if len(known) < len(costs) or not known:
            return None
        return sum(known, Decimal(0)) if self.fans_out else max(known)
