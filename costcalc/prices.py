"""The price of one average request, from ``routing.catalog.pricing.cost`` and nothing else.

Time-of-day prices (e.g. DeepSeek's off-peak discount) are averaged over the day, assuming
traffic spread evenly across 24 hours: the day is cut at every boundary the price data
defines and each piece is priced once at its midpoint, weighted by its length. Prices that
start on a date apply from that date (the reference day is normally today).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

from genai_prices.types import TimeOfDateConstraint

from routing.catalog import pricing
from routing.catalog.pricing import TokenUsage

MINUTES_A_DAY = 24 * 60


def _boundaries(prices_ref: str) -> list[int]:
    """Minutes after midnight UTC where a time-of-day price starts or ends."""
    found = pricing.lookup(prices_ref)
    if found is None:
        return []
    model = found[1]
    constraints = [p.constraint for p in model.prices] if isinstance(model.prices, list) else []
    constraints += [v.constraint for v in model.price_variants or ()]
    minutes = set()
    for constraint in constraints:
        if isinstance(constraint, TimeOfDateConstraint):
            for t in (constraint.start_time, constraint.end_time):
                minutes.add(t.hour * 60 + t.minute)
    return sorted(minutes)


@lru_cache(maxsize=1024)
def day_weights(prices_ref: str, day: dt.date) -> tuple[tuple[dt.datetime, Decimal], ...]:
    """(timestamp, weight) pairs whose weighted prices average the day; weights sum to 1."""
    cuts = _boundaries(prices_ref)
    if not cuts:
        return ((dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC), Decimal(1)),)
    edges = sorted({0, *cuts, MINUTES_A_DAY})
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
    return tuple(
        (midnight + dt.timedelta(minutes=(a + b) / 2), Decimal(b - a) / MINUTES_A_DAY)
        for a, b in zip(edges, edges[1:])
    )


@lru_cache(maxsize=65536)
def request_cost(
    prices_ref: str,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int,
    processing: tuple[tuple[str, str], ...],
    day: dt.date,
) -> Decimal | None:
    """USD for one request with these token counts, averaged over the day; None if unpriced."""
    if not prices_ref:
        return None
    usage = TokenUsage(input_tokens, output_tokens, cache_read_tokens=cached_tokens)
    context = dict(processing) or None
    total = Decimal(0)
    for when, weight in day_weights(prices_ref, day):
        price = pricing.cost(prices_ref, usage, when, price_context=context)
        if price is None:
            return None
        total += price * weight
    return total


def has_variant(prices_ref: str, processing: tuple[tuple[str, str], ...], day: dt.date) -> bool:
    """Whether the price data has a price for this processing mode (batch, flex...)."""
    if not processing:
        return False
    plain = request_cost(prices_ref, 1_000_000, 1_000_000, 0, (), day)
    special = request_cost(prices_ref, 1_000_000, 1_000_000, 0, processing, day)
    return plain is not None and special is not None and special != plain
