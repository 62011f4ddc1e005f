"""One request on its way through the gateway: what its door knew, what the engine's parts
reported, and `usage_row`, the one function that turns that into its usage record.

The door builds a `CallContext` with what it knows; after that only `routing.engine.gateway`
writes to it, and only outcomes (`routing.engine.outcome`, the cache's `Cached`, the limits'
`Reservation`). Everything else (headers, metrics, the playground's panes, batch lines)
reads the properties below.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import orjson

from routing.catalog import ModelEntry, pricing
from routing.catalog.pricing import TokenUsage
from routing.engine.outcome import OK, Answered, AttemptLog, Ending
from routing.engine.plan import Plan

if TYPE_CHECKING:
    from routing.guards.cache import Cached
    from routing.guards.limits import Reservation

__all__ = ["AttemptLog", "CallContext", "body_row", "new_request_id", "usage_row"]

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


@dataclass
class CallContext:
    # What the door knows when it builds the context.
    requested_model: str
    api_key_id: int | None = None
    user_id: int | None = None  # the playground's logged-in user (no API key there)
    source: str = "api"
    protocol: str = "chat"  # the front door: chat | messages | embeddings | responses | ...
    stream: bool = False
    query_type: str = ""
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    allowed_regions: frozenset[str] = frozenset()
    cache_read: bool = True
    cache_write: bool = True
    request_body: bytes = b""  # as received: kept only when the key or the route opts in
    # What happened: outcomes, kept here by routing.engine.gateway (their only writer).
    plan: Plan | None = None
    answer: Answered | None = None
    cached: Cached | None = None
    reservation: Reservation | None = None
    attempts: tuple[AttemptLog, ...] = ()
    usage: TokenUsage = field(default_factory=TokenUsage)  # current (streams: as relayed)
    ending: Ending = OK
    settle_headers: dict[str, str] = field(default_factory=dict)
    keep_days: int = 0  # the key's or route's body retention (0: bodies not kept)
    reply: Any = None  # the answer as assembled, set only when bodies are kept
    _cost_memo: tuple[object, tuple[object, ...], Decimal | None] | None = field(
        default=None, repr=False
    )

    @property
    def route(self) -> str:
        return self.plan.route if self.plan else ""

    @property
    def decision(self) -> str:
        return self.plan.reason if self.plan else ""

    @property
    def complexity_score(self) -> float | None:
        return self.plan.extra.get("score") if self.plan else None

    @property
    def model(self) -> ModelEntry | None:
        return self.answer.model if self.answer else None

    @property
    def cache_hit(self) -> bool:
        return self.cached is not None

    @property
    def saved_usd(self) -> Decimal | None:
        return self.cached.cost if self.cached else None

    @property
    def status(self) -> str:
        return self.ending.status

    @property
    def http_status(self) -> int:
        return self.ending.http_status

    @property
    def error_type(self) -> str:
        return self.ending.error_type

    @property
    def limit_headers(self) -> dict[str, str]:
        if self.reservation is None or not self.reservation.headers:
            return self.settle_headers
        return {**self.reservation.headers, **self.settle_headers}

    @property
    def latency_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    @property
    def ttft_ms(self) -> float | None:
        if self.answer is None:
            return None
        return (self.answer.at - self.started) * 1000

    def cost(self) -> Decimal | None:
        """Cost of the answering call plus any other calls (ensemble members, a judge);
        computed once per state of the call."""
        u = self.usage
        key = (
            u.input_tokens,
            u.output_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens,
            self.cached is not None,
        )
        memo = self._cost_memo
        if memo is None or memo[0] is not self.answer or memo[1] != key:
            memo = self._cost_memo = (self.answer, key, self._compute_cost())
        return memo[2]

    def _compute_cost(self) -> Decimal | None:
        answer = self.answer
        if self.cached is not None:
            return Decimal(0)
        if answer is None:
            return Decimal(0)
        if answer.costs is None:
            ref = answer.model.prices_ref
            return pricing.cost(ref, self.usage) if ref else None
        if any(part is None for part in answer.costs):
            return None
        return sum(cast("tuple[Decimal, ...]", answer.costs), Decimal(0))


def usage_row(ctx: CallContext) -> dict[str, Any]:
    """The usage record of a finished request (the columns of `usage.models.UsageRecord`).
    It reads the outcomes once, not through the properties above: on every request."""
    cost = ctx.cost()
    plan, answer, ending, cached, usage = ctx.plan, ctx.answer, ctx.ending, ctx.cached, ctx.usage
    model = answer.model if answer is not None else None
    started = ctx.started
    return {
        "request_id": ctx.request_id,
        "api_key_id": ctx.api_key_id,
        "user_id": ctx.user_id,
        "source": ctx.source,
        "protocol": ctx.protocol,
        "requested_model": ctx.requested_model[:250],
        "route": plan.route if plan else "",
        "model": model.id if model else "",
        "provider": model.provider.slug if model else "",
        "status": ending.status,
        "http_status": ending.http_status,
        "error_type": ending.error_type,
        "stream": ctx.stream,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cache_read_tokens,
        "tokens_estimated": usage.estimated,
        "cost_usd": cost,
        "price_known": cost is not None,
        "latency_ms": (time.perf_counter() - started) * 1000,
        "ttft_ms": (answer.at - started) * 1000 if answer is not None else None,
        "attempts": [a.as_dict() for a in ctx.attempts],
        "decision": plan.reason[:300] if plan else "",
        "query_type": ctx.query_type,
        "cache_hit": cached is not None,
        "saved_usd": cached.cost if cached is not None else None,
        "complexity_score": plan.extra.get("score") if plan else None,
    }


def _capped(data: bytes, cap: int) -> tuple[str, bool]:
    """The first `cap` bytes as text (a character cut in two is dropped), and whether it was cut."""
    return data[:cap].decode("utf-8", "replace" if len(data) <= cap else "ignore"), len(data) > cap


def body_row(ctx: CallContext) -> dict[str, Any]:
    """What `usage.models.RequestBody` keeps of a request whose key or route opts in: its body
    as the door received it and the answer as the gateway assembled it (the completion's JSON,
    or a stream's text), each capped, and when to drop them."""
    from usage.models import BODY_CAP

    reply = ctx.reply
    if reply is None:
        answer = b""
    elif isinstance(reply, str):
        answer = reply.encode()
    else:
        answer = orjson.dumps(reply, option=orjson.OPT_INDENT_2, default=str)
    request, request_cut = _capped(ctx.request_body, BODY_CAP)
    text, answer_cut = _capped(answer, BODY_CAP)
    now = dt.datetime.now(dt.UTC)
    return {
        "request_id": ctx.request_id,
        "created_at": now,
        "expires_at": now + dt.timedelta(days=ctx.keep_days),
        "request": request,
        "answer": text,
        "request_bytes": len(ctx.request_body),
        "answer_bytes": len(answer),
        "truncated": request_cut or answer_cut,
    }
