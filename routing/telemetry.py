"""What every finished request leaves behind: its usage record, Prometheus metrics and one
structured log line, all keyed by the request id.

Metrics are per process; with several workers set PROMETHEUS_MULTIPROC_DIR (see README).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from prometheus_client import Counter, Histogram

from routing import records
from routing.context import CallContext

log = logging.getLogger("switchyard.requests")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

REQUESTS = Counter(
    "switchyard_requests",
    "Requests by answering model and outcome.",
    ["model", "provider", "route", "status", "source"],
)
LATENCY = Histogram(
    "switchyard_request_latency_seconds",
    "Time to the whole answer.",
    ["model", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
TTFT = Histogram(
    "switchyard_ttft_seconds",
    "Time to the first token.",
    ["model", "route"],
    buckets=LATENCY_BUCKETS,
)
TOKENS = Counter("switchyard_tokens", "Tokens by direction.", ["model", "provider", "direction"])
COST = Counter(
    "switchyard_cost_usd", "Spend in USD (priced calls only).", ["model", "provider", "route"]
)
CACHE_HITS = Counter("switchyard_cache_hits", "Answers served from the response cache.", ["route"])
FALLBACKS = Counter(
    "switchyard_fallbacks", "Requests answered after at least one failed attempt.", ["route"]
)
UPSTREAM_ERRORS = Counter(
    "switchyard_upstream_errors", "Failed upstream attempts.", ["model", "kind"]
)


@functools.lru_cache(maxsize=8192)
def _series(model: str, provider: str, route: str, status: str, source: str) -> tuple[Any, ...]:
    """The labelled children one request touches, looked up once per label combination
    (`labels()` takes a lock and builds a key on every call)."""
    return (
        REQUESTS.labels(model, provider, route, status, source),
        LATENCY.labels(model, route, status),
        TTFT.labels(model, route),
        TOKENS.labels(model, provider, "input"),
        TOKENS.labels(model, provider, "output"),
        COST.labels(model, provider, route),
    )


def _observe(ctx: CallContext, record: dict[str, object]) -> None:
    model = ctx.model.id if ctx.model else ""
    provider = ctx.model.provider.slug if ctx.model else ""
    route = ctx.route
    requests, latency, ttft, tokens_in, tokens_out, cost_usd = _series(
        model, provider, route, ctx.status, ctx.source
    )
    requests.inc()
    latency.observe(ctx.latency_ms / 1000)
    if ctx.ttft_ms is not None and not ctx.cache_hit:
        ttft.observe(ctx.ttft_ms / 1000)
    tokens_in.inc(ctx.usage.input_tokens)
    tokens_out.inc(ctx.usage.output_tokens)
    cost = record["cost_usd"]
    if cost:
        cost_usd.inc(float(cost))  # type: ignore[arg-type]
    if ctx.cache_hit:
        CACHE_HITS.labels(route).inc()
    failed = [a for a in ctx.attempts if a.outcome not in ("ok", "skipped")]
    for attempt in failed:
        UPSTREAM_ERRORS.labels(attempt.model, attempt.outcome).inc()
    if failed and ctx.status == "ok":
        FALLBACKS.labels(route).inc()


def finished(ctx: CallContext) -> None:
    """Record, count and log one finished request (off the latency path: no I/O here)."""
    record = ctx.record()
    records.submit(record)
    _observe(ctx, record)
    if log.isEnabledFor(logging.INFO):
        log.info(
            "request",
            extra={
                "fields": {
                    "request_id": ctx.request_id,
                    "source": ctx.source,
                    "requested_model": ctx.requested_model,
                    "model": record["model"],
                    "route": ctx.route,
                    "status": ctx.status,
                    "http_status": ctx.http_status,
                    "error_type": ctx.error_type,
                    "latency_ms": round(ctx.latency_ms, 2),
                    "ttft_ms": record["ttft_ms"],
                    "input_tokens": ctx.usage.input_tokens,
                    "output_tokens": ctx.usage.output_tokens,
                    "cost_usd": str(record["cost_usd"]) if record["cost_usd"] is not None else None,
                    "cache_hit": ctx.cache_hit,
                    "attempts": len(ctx.attempts),
                }
            },
        )
