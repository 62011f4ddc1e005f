"""The price of a call: genai-prices data x the usage the upstream reported.

A model without a price reference has an unknown cost (``None``), never $0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

from genai_prices import Usage
from genai_prices import __version__ as PRICES_VERSION
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import ModelInfo, Provider, TieredPrices

MTOK = Decimal(1_000_000)


CHARS_PER_TOKEN = 4  # the rough rule for English text; used wherever no tokenizer is run


def estimate_tokens(chars: int) -> int:
    """Tokens of `chars` characters of text, by the rough rule (at least 1)."""
    return max(1, chars // CHARS_PER_TOKEN)


@dataclass(slots=True)
class TokenUsage:
    """Tokens of one call; ``input_tokens`` includes cached input."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    estimated: bool = False

    def to_openai(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cache_read_tokens},
        }

    @classmethod
    def from_openai(cls, usage: dict[str, Any] | None) -> TokenUsage:
        if not usage:
            return cls()
        details = usage.get("prompt_tokens_details") or {}
        return cls(
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            cache_read_tokens=int(details.get("cached_tokens") or 0),
        )


@lru_cache(maxsize=8192)
def lookup(prices_ref: str) -> tuple[Provider, ModelInfo] | None:
    """Resolve 'provider:model' against the bundled genai-prices snapshot."""
    provider_id, _, model_ref = prices_ref.partition(":")
    if not provider_id or not model_ref:
        return None
    try:
        return get_snapshot().find_provider_model(model_ref, None, provider_id, None)
    except LookupError:
        return None


def cost(
    prices_ref: str,
    usage: TokenUsage,
    when: dt.datetime | None = None,
    price_context: dict[str, str] | None = None,
) -> Decimal | None:
    """USD for this usage, or None when the model has no known price.

    ``price_context`` selects request-specific price variants of the price data, e.g.
    ``{"processing": "batch"}`` or ``{"service_tier": "flex"}``; models without such a
    variant keep their standard prices.
    """
    found = lookup(prices_ref) if prices_ref else None
    if found is None:
        return None
    provider, model = found
    if price_context is None:
        flat = _flat_cost(model, usage, when or dt.datetime.now(tz=dt.UTC))
        if flat is not None:
            return flat
    gp_usage = Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens or None,
        cache_write_tokens=usage.cache_write_tokens or None,
    )
    return model.calc_price(
        gp_usage, provider, genai_request_timestamp=when, price_context=price_context
    ).total_price


TOKEN_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")


def _flat_cost(model: ModelInfo, usage: TokenUsage, when: dt.datetime) -> Decimal | None:
    """The same result as genai-prices for plain per-token prices, without its general unit
    machinery (it dominates a request's CPU otherwise). None: use genai-prices."""
    prices = model.get_prices(when)
    values = prices.__dict__
    if any(not isinstance(values.get(k), Decimal | None) for k in TOKEN_KEYS):
        return None  # tiered prices: genai-prices applies the tiers
    output_price = values.get("output_mtok")
    if output_price is None and not usage.output_tokens:
        output_price = Decimal(0)  # input-only prices (embeddings), nothing output
    if values.get("input_mtok") is None or output_price is None:
        return None
    cached = usage.cache_read_tokens
    written = usage.cache_write_tokens
    read_price = values.get("cache_read_mtok")
    write_price = values.get("cache_write_mtok")
    if (cached and read_price is None) or (written and write_price is None):
        return None
    uncached = usage.input_tokens - cached - written
    total = (
        uncached * values["input_mtok"]
        + usage.output_tokens * output_price
        + (cached * cast(Decimal, read_price) if cached else 0)
        + (written * cast(Decimal, write_price) if written else 0)
    ) / MTOK
    requests = values.get("requests_kcount")
    if requests is not None:
        total += requests / 1000
    return total


def _base(price: Decimal | TieredPrices | None) -> Decimal | None:
    if isinstance(price, TieredPrices):
        return price.base
    return price


def list_price_time() -> dt.datetime:
    """Today at 12:00 UTC: when list prices are read (no time-of-day discount applies)."""
    return dt.datetime.combine(dt.datetime.now(tz=dt.UTC).date(), dt.time(12), tzinfo=dt.UTC)


def list_prices(prices_ref: str) -> dict[str, Decimal | None] | None:
    """Standard per-million prices (input, output, cached input) in force today, read at
    12:00 UTC: time-of-day discounts (DeepSeek's off-peak hours, 16:30-00:30 UTC) would
    otherwise make the catalog depend on the hour it was synced. A call's cost is priced
    at the moment of the call (`cost`)."""
    found = lookup(prices_ref)
    if found is None:
        return None
    prices = found[1].get_prices(list_price_time())
    return {
        "input": _base(prices.input_mtok),
        "output": _base(prices.output_mtok),
        "cached_input": _base(prices.cache_read_mtok),
    }


def context_window(prices_ref: str) -> int | None:
    found = lookup(prices_ref)
    return found[1].context_window if found else None


@lru_cache(maxsize=1)
def prices_date() -> str:
    """The date of the newest price change in the bundled data that is already in force."""
    today = dt.date.today()
    latest = dt.date(2000, 1, 1)
    for provider in get_snapshot().providers:
        for model in provider.models:
            for constraint in _constraints(model):
                start = getattr(constraint, "start_date", None)
                if start is not None and latest < start <= today:
                    latest = start
    return latest.isoformat()


def _constraints(model: ModelInfo) -> list[Any]:
    found: list[Any] = []
    if isinstance(model.prices, list):
        found += [p.constraint for p in model.prices if p.constraint is not None]
    found += [v.constraint for v in model.price_variants or () if v.constraint is not None]
    return found


def prices_label() -> str:
    return f"genai-prices {PRICES_VERSION}, prices as of {prices_date()}"
