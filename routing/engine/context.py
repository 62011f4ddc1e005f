"""Everything known about one request on its way through the gateway, and its usage record."""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from routing.catalog import ModelEntry, pricing
from routing.catalog.pricing import TokenUsage

_ids = itertools.count()
_id_prefix = (os.getpid(), "")


def new_request_id() -> str:
    """`req_` + 12 random hex digits per process + a 12-digit counter: unique across workers
    and restarts, and about 20 times cheaper than uuid4 (a getrandom() call per request)."""
    global _id_prefix
    pid, prefix = _id_prefix
    if not prefix or pid != os.getpid():  # first call, or a forked child
        _id_prefix = pid, prefix = os.getpid(), os.urandom(6).hex()
    return f"req_{prefix}{next(_ids) & 0xFFFFFFFFFFFF:012x}"


@dataclass(slots=True)
class AttemptLog:
    model: str
    outcome: str  # ok | skipped | rate_limit | server | timeout | connection | ...
    status: int | None = None
    ms: float = 0.0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "outcome": self.outcome,
            "status": self.status,
            "ms": round(self.ms, 1),
            "error": self.error,
        }


@dataclass
class CallContext:
    requested_model: str
    api_key_id: int | None = None
    source: str = "api"
    stream: bool = False
    query_type: str = ""
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    route: str = ""
    decision: str = ""
    attempts: list[AttemptLog] = field(default_factory=list)
    model: ModelEntry | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    first_token_at: float | None = None
    status: str = "ok"
    http_status: int = 200
    error_type: str = ""
    cache_hit: bool = False
    allowed_regions: frozenset[str] = frozenset()
    extra_costs: list[Decimal | None] = field(default_factory=list)
    model_cost_override: bool = False  # extra_costs already hold the answering call's cost
    limit_headers: dict[str, str] = field(default_factory=dict)
    cache_read: bool = True
    cache_write: bool = True
    saved_usd: Decimal | None = None
    complexity_score: float | None = None
    token_estimate: int = 0  # input estimate + output limit, for upstream token quotas
    _cost_memo: tuple[tuple[object, ...], Decimal | None] | None = field(default=None, repr=False)

    @property
    def latency_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    @property
    def ttft_ms(self) -> float | None:
        if self.first_token_at is None:
            return None
        return (self.first_token_at - self.started) * 1000

    def cost(self) -> Decimal | None:
        """Cost of the answering call plus any other calls (ensemble members, a judge);
        computed once per state of the call."""
        u = self.usage
        key = (
            self.model.id if self.model else "",
            u.input_tokens,
            u.output_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens,
            self.cache_hit,
            len(self.extra_costs),
        )
        if self._cost_memo is None or self._cost_memo[0] != key:
            self._cost_memo = (key, self._compute_cost())
        return self._cost_memo[1]

    def _compute_cost(self) -> Decimal | None:
        if self.cache_hit:
            return Decimal(0)
        main: Decimal | None = Decimal(0)
        if self.model is not None and not self.model_cost_override:
            main = (
                pricing.cost(self.model.prices_ref, self.usage) if self.model.prices_ref else None
            )
        parts = [main, *self.extra_costs]
        if any(part is None for part in parts):
            return None
        return sum(cast("list[Decimal]", parts), Decimal(0))

    def record(self) -> dict[str, Any]:
        cost = self.cost()
        return {
            "request_id": self.request_id,
            "api_key_id": self.api_key_id,
            "source": self.source,
            "requested_model": self.requested_model[:250],
            "route": self.route,
            "model": self.model.id if self.model else "",
            "provider": self.model.provider.slug if self.model else "",
            "status": self.status,
            "http_status": self.http_status,
            "error_type": self.error_type,
            "stream": self.stream,
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "cached_tokens": self.usage.cache_read_tokens,
            "tokens_estimated": self.usage.estimated,
            "cost_usd": cost,
            "price_known": cost is not None,
            "latency_ms": self.latency_ms,
            "ttft_ms": self.ttft_ms,
            "attempts": [a.as_dict() for a in self.attempts],
            "decision": self.decision[:300],
            "query_type": self.query_type,
            "cache_hit": self.cache_hit,
            "saved_usd": self.saved_usd,
            "complexity_score": self.complexity_score,
        }
