"""Live latency per model: moving averages of time to first token and tokens/s.

Updated from every successful call in this process; the latency strategy reads them.
"""

from __future__ import annotations

from routing.engine.policies import LatencyStats

ALPHA = 0.2  # weight of the newest sample

_stats: dict[str, LatencyStats] = {}


def observe(model_id: str, ttft_ms: float | None, output_tokens: int, total_ms: float) -> None:
    if ttft_ms is None:
        return
    generating = max(total_ms - ttft_ms, 1.0)
    tps = output_tokens * 1000 / generating if output_tokens > 1 else 0.0
    old = _stats.get(model_id)
    if old is None:
        _stats[model_id] = LatencyStats(ttft_ms, tps, 1)
        return
    _stats[model_id] = LatencyStats(
        ttft_ms=old.ttft_ms + ALPHA * (ttft_ms - old.ttft_ms),
        tokens_per_second=old.tokens_per_second + ALPHA * (tps - old.tokens_per_second)
        if tps
        else old.tokens_per_second,
        samples=old.samples + 1,
    )


def snapshot() -> dict[str, LatencyStats]:
    return dict(_stats)


def reset() -> None:
    _stats.clear()
