"""First-token deadlines: how long an attempt may stay silent before the gateway moves on.

A hung provider should cost a fallback route seconds, not the 30 s a lone model is allowed:
- an attempt with a fallback after it waits `factor x` its model's measured time to first
  token (moving average, at least `SWITCHYARD_FIRST_TOKEN_MIN_SAMPLES` calls), within
  [`SWITCHYARD_FIRST_TOKEN_FLOOR`, `SWITCHYARD_FIRST_TOKEN_TIMEOUT`];
- unmeasured, it waits `SWITCHYARD_FALLBACK_FIRST_TOKEN_TIMEOUT`;
- the last attempt (nothing to fall back to) waits `SWITCHYARD_FIRST_TOKEN_TIMEOUT`;
- a route's own `first_token_timeout_seconds` overrides all of these for its attempts.
Once the first token is there only the stall timeout (between chunks) applies, so a slow but
live model is never cut off.
"""

from __future__ import annotations

from routing.conf import knobs
from routing.engine import latency
from routing.engine.plan import Plan


def first_token(plan: Plan, index: int) -> float:
    ceiling = knobs.SWITCHYARD_FIRST_TOKEN_TIMEOUT
    if plan.first_token_timeout:
        return plan.first_token_timeout
    if index >= len(plan.attempts) - 1:
        return ceiling
    stats = latency.snapshot().get(plan.attempts[index].model.id)
    if stats is not None and stats.samples >= knobs.SWITCHYARD_FIRST_TOKEN_MIN_SAMPLES:
        derived = knobs.SWITCHYARD_FIRST_TOKEN_FACTOR * stats.ttft_ms / 1000
        return min(ceiling, max(knobs.SWITCHYARD_FIRST_TOKEN_FLOOR, derived))
    return min(ceiling, knobs.SWITCHYARD_FALLBACK_FIRST_TOKEN_TIMEOUT)
