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
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db import DatabaseError

from routing.catalog import KeyEntry, ModelEntry
from routing.catalog.pricing import TokenUsage
from routing.errors import GatewayError
from routing.guards.state import MISSING, Take, get_state

WINDOW = 60.0
MONTH_TTL = 40 * 24 * 3600.0
MICRO = Decimal(1_000_000)


@dataclass(frozen=True)
class Reservation:
    """What `admit` took for a request (settled later) and the rate-limit headers it earned."""

    key: KeyEntry | None = None
    tokens_key: str = ""
    tokens: int = 0
    budget_key: str = ""
    micro_usd: int = 0
    headers: dict[str, str] = field(default_factory=dict)


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


def _month_spent_micro(key_id: int, month_start: dt.datetime) -> int:
    from routing.transport.records import drop_broken_connection
    from usage.records import spent_since

    drop_broken_connection()
    return int(spent_since(key_id, month_start) * MICRO)


async def _load_budget(name: str, key: KeyEntry) -> None:
    """Rebuild the month's spend counter from the usage records (first use, or after the
    shared state lost it): the records are the truth, the counter a fast copy."""
    now = dt.datetime.now(dt.UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    spent = await sync_to_async(_month_spent_micro)(key.id, start)
    await get_state().init_if_missing(name, spent, MONTH_TTL)


def _unpriced(requested_model: str) -> GatewayError:
    return GatewayError(
        400,
        f"{requested_model} has no known price, so it cannot be used with a budgeted key.",
        code="price_unknown",
        param="model",
    )


def _over_budget(
    key: KeyEntry, estimate: Decimal, spent: int, headers: dict[str, str]
) -> GatewayError:
    left = max(0, int(key.budget_usd * MICRO) - spent) / 1e6  # type: ignore[operator]
    return GatewayError(
        429,
        f"This key's monthly budget of ${key.budget_usd} does not cover "
        f"this request (estimated ${estimate:.6f}, ${left:.6f} left).",
        "insufficient_quota",
        "budget_exceeded",
        headers=dict(headers),
    )


def _takes(
    key: KeyEntry, tokens: int, micro: int, window: int, count_only: bool, floor: int = 0
) -> list[tuple[str, Take]]:
    takes: list[tuple[str, Take]] = []
    if key.rpm:
        takes.append(("requests", Take(f"sy:rl:{key.id}:r:{window}", 1, key.rpm, WINDOW + 1)))
    if count_only:
        return takes
    if key.tpm:
        takes.append(("tokens", Take(f"sy:rl:{key.id}:t:{window}", tokens, key.tpm, WINDOW + 1)))
    if key.budget_usd is not None:
        month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
        limit = int(key.budget_usd * MICRO)
        name = f"sy:budget:{key.id}:{month}"
        takes.append(("budget", Take(name, micro, limit, MONTH_TTL, True, min(floor, micro))))
    return takes


async def _take_all(
    takes: list[tuple[str, Take]], key: KeyEntry
) -> tuple[int, list[int], list[int]]:
    plain = [take for _, take in takes]
    failed, counts, taken = await get_state().take_all(plain)
    if failed == MISSING:
        await _load_budget(plain[counts[0] - 1].key, key)
        failed, counts, taken = await get_state().take_all(plain)
    return failed, counts, taken


async def _admit(
    key: KeyEntry,
    tokens: int,
    estimate: Decimal | None,
    model: str,
    count_only: bool,
    floor: Decimal | None = None,
) -> Reservation:
    if not (key.rpm or key.tpm or key.budget_usd is not None):
        return Reservation(key=key)  # nothing to count (most keys): no clock, no Decimal
    if key.budget_usd is not None and estimate is None and not count_only:
        raise _unpriced(model)
    window, reset = _window()
    micro = math.ceil(estimate * MICRO) if estimate is not None else 0
    floor_micro = math.ceil(floor * MICRO) if floor is not None else 0
    takes = _takes(key, tokens, micro, window, count_only, floor_micro)
    if not takes:
        return Reservation(key=key)
    failed, counts, taken = await _take_all(takes, key)
    headers: dict[str, str] = {}
    for (kind, take), used in zip(takes, counts, strict=False):
        if kind != "budget":
            headers.update(_limit_headers(kind, take.limit, used, reset))
    if failed:
        kind, take = takes[failed - 1]
        if kind == "budget":
            raise _over_budget(key, (floor or estimate) or Decimal(0), counts[failed - 1], headers)
        raise _rate_limited(kind, take.limit, reset, headers)
    found = {kind: (take, amount) for (kind, take), amount in zip(takes, taken)}
    return Reservation(
        key=key,
        tokens_key=found["tokens"][0].key if "tokens" in found else "",
        tokens=tokens if "tokens" in found else 0,
        budget_key=found["budget"][0].key if "budget" in found else "",
        micro_usd=found["budget"][1] if "budget" in found else 0,
        headers=headers,
    )


async def admit(
    key: KeyEntry | None,
    tokens: int,
    estimate: Decimal | None,
    model: str = "",
    count_only: bool = False,
    floor: Decimal | None = None,
) -> Reservation:
    """Count this request (for `model`, as asked) against the key's limits, all or nothing,
    in one round trip; raises 429 when over. `count_only` (cache hits) counts the request
    but reserves no tokens or budget. `floor`: the budget may reserve less than `estimate`,
    down to this (the reservation's `micro_usd` says how much it got;
    routing/guards/budget_cap.py caps the answer to it)."""
    if key is None:
        return Reservation(key=key)
    try:
        return await _admit(key, tokens, estimate, model, count_only, floor)
    except (ConnectionError, OSError, TimeoutError, DatabaseError) as exc:
        raise _unavailable(exc) from None
    except GatewayError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith("redis"):
            raise _unavailable(exc) from None
        raise


SETTLE_DEFERRED = {"x-switchyard-settle": "deferred"}


async def settle(
    reservation: Reservation, used: TokenUsage, cost: Callable[[], Decimal | None]
) -> dict[str, str]:
    """Replace the reservation by what the call really used (one round trip); the headers
    to add to the answer (the settlement deferred when the shared state is away)."""
    changes: list[tuple[str, int]] = []
    if reservation.tokens_key:
        tokens = used.input_tokens + used.output_tokens
        changes.append((reservation.tokens_key, tokens - reservation.tokens))
    if reservation.budget_key:
        spent = cost() or Decimal(0)
        changes.append((reservation.budget_key, math.ceil(spent * MICRO) - reservation.micro_usd))
    if not changes:
        return {}
    try:
        await get_state().adjust_existing(changes)
    except Exception:  # noqa: BLE001 - the usage record still has the truth; counters rebuild
        return SETTLE_DEFERRED
    return {}


async def provider_slot(model: ModelEntry, tokens: int = 0) -> bool:
    """Take this request from the provider's and the model's own quotas (requests, and the
    request's estimated tokens); False when any is full. Upstream quotas count estimates:
    they are there to stay under the provider's 429, not to bill."""
    provider = model.provider
    if not (provider.rpm or provider.tpm or model.rpm or model.tpm):
        return True  # no quota set (the usual case): no names to build
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
