"""Rate limits and budgets, exact across workers (shared counters in Redis, or local memory).

Per key: requests and tokens per minute, USD per calendar month. Token and budget limits
reserve the request's estimate up front and settle to the real usage afterwards, so
concurrent requests never overspend by more than the reservations in flight. Per provider
or model: the upstream's own quota, so Switchyard throttles or falls back before the
provider says 429.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async

from routing.catalog import KeyEntry, ModelEntry
from routing.context import CallContext
from routing.errors import GatewayError
from routing.state import get_state

WINDOW = 60.0
MONTH_TTL = 40 * 24 * 3600.0
MICRO = Decimal(1_000_000)


@dataclass
class Reservation:
    key: KeyEntry | None = None
    tokens_key: str = ""
    tokens: int = 0
    budget_key: str = ""
    micro_usd: int = 0


def _window() -> tuple[int, float]:
    now = time.time()
    return int(now // WINDOW), WINDOW - now % WINDOW


def _unavailable(exc: Exception) -> GatewayError:
    return GatewayError(
        503,
        "Rate limits and budgets are unavailable (shared state unreachable); try again shortly.",
        "service_unavailable",
        "limits_unavailable",
    )


async def _take(key: str, amount: int, limit: int) -> tuple[bool, int]:
    """Add `amount` to a per-minute counter unless that passes `limit`; (taken, count)."""
    count = await get_state().add(key, amount, WINDOW + 1)
    if count > limit:
        await get_state().add(key, -amount, WINDOW + 1)
        return False, count - amount
    return True, count


def _limit_headers(kind: str, limit: int, used: int, reset: float) -> dict[str, str]:
    return {
        f"x-ratelimit-limit-{kind}": str(limit),
        f"x-ratelimit-remaining-{kind}": str(max(0, limit - used)),
        f"x-ratelimit-reset-{kind}": f"{math.ceil(reset)}s",
    }


def _rate_limited(kind: str, limit: int, reset: float, headers: dict[str, str]) -> GatewayError:
    return GatewayError(
        429,
        f"Rate limit reached for {kind} per minute ({limit}). Try again in {math.ceil(reset)}s.",
        "rate_limit_error" if kind == "requests" else "tokens",
        "rate_limit_exceeded",
        headers={**headers, "Retry-After": str(math.ceil(reset))},
    )


async def _requests(ctx: CallContext, key: KeyEntry, window: int, reset: float) -> None:
    if not key.rpm:
        return
    ok, used = await _take(f"sy:rl:{key.id}:r:{window}", 1, key.rpm)
    ctx.limit_headers.update(_limit_headers("requests", key.rpm, used, reset))
    if not ok:
        raise _rate_limited("requests", key.rpm, reset, ctx.limit_headers)


async def _tokens(ctx: CallContext, key: KeyEntry, tokens: int, window: int, reset: float) -> str:
    if not key.tpm:
        return ""
    name = f"sy:rl:{key.id}:t:{window}"
    ok, used = await _take(name, tokens, key.tpm)
    ctx.limit_headers.update(_limit_headers("tokens", key.tpm, used, reset))
    if not ok:
        if key.rpm:
            await get_state().add(f"sy:rl:{key.id}:r:{window}", -1, WINDOW + 1)
        raise _rate_limited("tokens", key.tpm, reset, ctx.limit_headers)
    return name


def _month_spent_micro(key_id: int, month_start: dt.datetime) -> int:
    from django.db.models import Sum

    from routing.models import UsageRecord

    total = UsageRecord.objects.filter(api_key_id=key_id, created_at__gte=month_start).aggregate(
        total=Sum("cost_usd")
    )["total"]
    return int((total or Decimal(0)) * MICRO)


async def _budget_counter(key: KeyEntry) -> str:
    """The month's spend counter, rebuilt from the usage records if the shared state lost it."""
    now = dt.datetime.now(dt.UTC)
    name = f"sy:budget:{key.id}:{now:%Y-%m}"
    state = get_state()
    if not await state.is_set(name + ":loaded"):
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        spent = await sync_to_async(_month_spent_micro)(key.id, start)
        await state.init_if_missing(name, spent, MONTH_TTL)
        await state.set_until(name + ":loaded", MONTH_TTL)
    return name


async def _budget(ctx: CallContext, key: KeyEntry, estimate: Decimal | None) -> tuple[str, int]:
    if key.budget_usd is None:
        return "", 0
    if estimate is None:
        raise GatewayError(
            400,
            f"{ctx.requested_model} has no known price, so it cannot be used with a budgeted key.",
            code="price_unknown",
            param="model",
        )
    name = await _budget_counter(key)
    micro = math.ceil(estimate * MICRO)
    limit = int(key.budget_usd * MICRO)
    ok, spent = await _take(name, micro, limit)
    if not ok:
        left = max(0, limit - spent) / 1e6
        raise GatewayError(
            429,
            f"This key's monthly budget of ${key.budget_usd} does not cover "
            f"this request (estimated ${estimate:.6f}, ${left:.6f} left).",
            "insufficient_quota",
            "budget_exceeded",
        )
    return name, micro


async def admit(
    ctx: CallContext,
    key: KeyEntry | None,
    tokens: int,
    estimate: Decimal | None,
    count_only: bool = False,
) -> Reservation:
    """Count this request against the key's limits; raises 429 when over. `count_only` (cache
    hits) counts the request but reserves no tokens or budget."""
    reservation = Reservation(key=key)
    if key is None:
        return reservation
    window, reset = _window()
    try:
        await _requests(ctx, key, window, reset)
        if count_only:
            return reservation
        reservation.tokens_key = await _tokens(ctx, key, tokens, window, reset)
        reservation.tokens = tokens
        try:
            reservation.budget_key, reservation.micro_usd = await _budget(ctx, key, estimate)
        except GatewayError:
            await release(reservation)
            raise
    except (ConnectionError, OSError, TimeoutError) as exc:
        raise _unavailable(exc) from None
    except Exception as exc:
        if type(exc).__module__.startswith("redis"):
            raise _unavailable(exc) from None
        raise
    return reservation


async def release(reservation: Reservation) -> None:
    if reservation.tokens_key:
        await get_state().add(reservation.tokens_key, -reservation.tokens, WINDOW + 1)
    if reservation.budget_key:
        await get_state().add(reservation.budget_key, -reservation.micro_usd, MONTH_TTL)


async def settle(reservation: Reservation, ctx: CallContext) -> None:
    """Replace the reservation by what the call really used."""
    state = get_state()
    try:
        if reservation.tokens_key:
            used = ctx.usage.input_tokens + ctx.usage.output_tokens
            await state.add(reservation.tokens_key, used - reservation.tokens, WINDOW + 1)
        if reservation.budget_key:
            cost = ctx.cost() or Decimal(0)
            await state.add(
                reservation.budget_key, math.ceil(cost * MICRO) - reservation.micro_usd, MONTH_TTL
            )
    except Exception:  # noqa: BLE001 - the usage record still has the truth; counters rebuild
        ctx.limit_headers["x-switchyard-settle"] = "deferred"


async def provider_slot(model: ModelEntry, tokens: int = 0) -> bool:
    """Take this request from the provider's and the model's own quotas (requests, and the
    request's estimated tokens); False when any is full. Upstream quotas count estimates:
    they are there to stay under the provider's 429, not to bill."""
    window, _ = _window()
    taken: list[tuple[str, int]] = []
    quotas = (
        (f"sy:pq:{model.provider.slug}:{window}", model.provider.rpm, 1),
        (f"sy:pqt:{model.provider.slug}:{window}", model.provider.tpm, tokens),
        (f"sy:mq:{model.id}:{window}", model.rpm, 1),
        (f"sy:mqt:{model.id}:{window}", model.tpm, tokens),
    )
    for name, limit, amount in quotas:
        if not limit or not amount:
            continue
        ok, _ = await _take(name, amount, limit)
        if not ok:
            for done, done_amount in taken:
                await get_state().add(done, -done_amount, WINDOW + 1)
            return False
        taken.append((name, amount))
    return True
