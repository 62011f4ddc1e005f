"""A model that keeps failing is skipped for a while, in every worker, then comes back by itself."""

from __future__ import annotations

from django.conf import settings

from routing.state import get_state

WINDOW_SECONDS = 60.0


async def failed(model_id: str, retry_after: float | None = None) -> None:
    state = get_state()
    if retry_after:
        await state.set_until(
            f"sy:cool:{model_id}", min(retry_after, settings.SWITCHYARD_COOLDOWN_SECONDS)
        )
    failures = await state.incr_window(f"sy:fail:{model_id}", WINDOW_SECONDS)
    if failures >= settings.SWITCHYARD_COOLDOWN_FAILURES:
        await state.set_until(f"sy:cool:{model_id}", settings.SWITCHYARD_COOLDOWN_SECONDS)


async def cooling(model_id: str) -> bool:
    return await get_state().is_set(f"sy:cool:{model_id}")
