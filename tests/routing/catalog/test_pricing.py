"""The flat-price fast path gives exactly what genai-prices gives, for every catalog model."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from genai_prices import Usage
from genai_prices.data_snapshot import get_snapshot

from routing.catalog import pricing
from routing.catalog.pricing import TokenUsage


def test_flat_cost_matches_genai_prices_for_every_model() -> None:
    """Over every model of the bundled data and varied usage, both paths agree to the digit."""
    rng = random.Random(7)
    when = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    checked = 0
    for provider in get_snapshot().providers:
        for model in provider.models:
            for _ in range(3):
                cached = rng.choice([0, 0, rng.randint(1, 500)])
                usage = TokenUsage(rng.randint(cached, 5000) + cached, rng.randint(0, 3000), cached)
                flat = pricing._flat_cost(model, usage, when)
                if flat is None:
                    continue
                gp_usage = Usage(
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    cache_read_tokens=usage.cache_read_tokens or None,
                )
                expected = model.calc_price(
                    gp_usage, provider, genai_request_timestamp=when
                ).total_price
                assert flat == expected, (provider.id, model.id, usage)
                checked += 1
    assert checked > 2000


def test_tiered_prices_go_through_genai_prices() -> None:
    """A model with tiered prices is not priced by the fast path."""
    tiered = [
        m
        for p in get_snapshot().providers
        for m in p.models
        if any(
            type(v).__name__ == "TieredPrices"
            for v in m.get_prices(dt.datetime.now(dt.UTC)).__dict__.values()
        )
    ]
    assert tiered
    when = dt.datetime.now(dt.UTC)
    assert pricing._flat_cost(tiered[0], TokenUsage(1000, 100), when) is None


def test_cost_of_a_known_call() -> None:
    """500 input + 200 output tokens on gpt-4o ($2.50/$10 per million) cost $0.00325."""
    assert pricing.cost("openai:gpt-4o", TokenUsage(500, 200)) == Decimal("0.00325")
