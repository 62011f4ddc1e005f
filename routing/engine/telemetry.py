"""What every finished request leaves behind: its usage record, Prometheus metrics and one
structured log line, all keyed by the request id.

Metrics are per process; with several workers set PROMETHEUS_MULTIPROC_DIR (see README).
"""

from __future__ import annotations

import atexit
import functools
import logging
import time
from typing import Any

from prometheus_client import Counter, Histogram

from routing.engine.context import CallContext, body_row, usage_row
from routing.transport import records
from routing.transport.gather import Gatherer

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


def _observe(ctx: CallContext, record: dict[str, Any]) -> None:
    """The request's metrics, from its usage record (already built: read, not recomputed)."""
    route, status = record["route"], record["status"]
    requests, latency, ttft, tokens_in, tokens_out, cost_usd = _series(
        record["model"], record["provider"], route, status, record["source"]
    )
    requests.inc()
    latency.observe(record["latency_ms"] / 1000)
    cache_hit, ttft_ms = record["cache_hit"], record["ttft_ms"]
    if ttft_ms is not None and not cache_hit:
        ttft.observe(ttft_ms / 1000)
    tokens_in.inc(record["input_tokens"])
    tokens_out.inc(record["output_tokens"])
    cost = record["cost_usd"]
    if cost:
        cost_usd.inc(float(cost))
    if cache_hit:
        CACHE_HITS.labels(route).inc()
    failed = [a for a in ctx.attempts if a.outcome not in ("ok", "skipped", "not_configured")]
    for attempt in failed:
        UPSTREAM_ERRORS.labels(attempt.model, attempt.outcome).inc()
    if failed and status == "ok":
        FALLBACKS.labels(route).inc()


class _RequestLog(Gatherer):
    """The request's log line goes through `logging` on a background thread: built on the
    event loop, a LogRecord with its JSON fields cost about 15 µs of a request's 170. The
    loop hands over the usage record (immutable by then) and its wall-clock time; lines
    reach the handlers within `interval` seconds, in order, with the time of the request's
    end as their timestamp."""

    thread_name = "request-log"
    soon = 256

    def interval(self) -> float:
        return 0.05

    def drain(self) -> None:
        for created, record in self.take():
            entry = log.makeRecord(
                log.name,
                logging.INFO,
                "(unknown file)",
                0,
                "request",
                (),
                None,
                extra={"fields": log_fields(record)},
            )
            entry.created, entry.msecs = created, (created - int(created)) * 1000
            log.handle(entry)

    def flush(self) -> None:
        """Hand every line so far to the handlers (tests; at exit)."""
        self.drain_now()


def log_fields(record: dict[str, Any]) -> dict[str, Any]:
    cost = record["cost_usd"]
    return {
        "request_id": record["request_id"],
        "source": record["source"],
        "requested_model": record["requested_model"],
        "model": record["model"],
        "route": record["route"],
        "status": record["status"],
        "http_status": record["http_status"],
        "error_type": record["error_type"],
        "latency_ms": round(record["latency_ms"], 2),
        "ttft_ms": record["ttft_ms"],
        "input_tokens": record["input_tokens"],
        "output_tokens": record["output_tokens"],
        "cost_usd": str(cost) if cost is not None else None,
        "cache_hit": record["cache_hit"],
        "attempts": len(record["attempts"]),
    }


request_log = _RequestLog()
atexit.register(request_log.flush)


def finished(ctx: CallContext) -> None:
    """Record, count and log one finished request (off the latency path: no I/O here; the
    record is written and the log line emitted by background threads)."""
    record = usage_row(ctx)
    records.submit(record)
    if ctx.keep_days:
        records.submit_body(body_row(ctx))
    _observe(ctx, record)
    if log.isEnabledFor(logging.INFO):
        request_log.add((time.time(), record))
