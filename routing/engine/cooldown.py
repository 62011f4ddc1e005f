"""A model that keeps failing is skipped for a while, in every worker, then comes back by itself.

Best effort: if the shared state is unreachable, nothing is cooled down and nothing fails.
"""

from __future__ import annotations

import logging

from django.conf import settings

from routing.guards.state import get_state

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60.0


async def failed(model_id: str, retry_after: float | None = None) -> None:
    state = get_state()
    try:
        if retry_after:
            seconds = min(retry_after, settings.SWITCHYARD_COOLDOWN_SECONDS)
            await state.set_until(f"sy:cool:{model_id}", seconds)
        failures = await state.incr_window(f"sy:fail:{model_id}", WINDOW_SECONDS)
        if failures >= settings.SWITCHYARD_COOLDOWN_FAILURES:
            await state.set_until(f"sy:cool:{model_id}", settings.SWITCHYARD_COOLDOWN_SECONDS)
    except Exception:  # noqa: BLE001
        log.warning("cooldown state unreachable; %s not cooled down", model_id)


async def cooling(model_id: str) -> bool:
    try:
        return await get_state().is_set(f"sy:cool:{model_id}")
    except Exception:  # noqa: BLE001
        return False
