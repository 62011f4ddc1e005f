"""Usage over a date range: spend, requests, cache, errors, fallbacks and latency.

Pure aggregation over :class:`usage.models.UsageRecord`; nothing here knows about HTTP.
Days are calendar days in the current time zone (``settings.TIME_ZONE``) and a range holds
both its start and its end day. Every query is plain ORM, so it runs the same on SQLite
and PostgreSQL.

Definitions (the page repeats them):

- **spend**: the sum of recorded costs. A call without a known price (``cost_usd`` NULL) is
  counted as *unpriced*, never as $0. Cache hits cost $0 and record what they saved.
- **error rate**: requests with status ``error`` / all requests (``cancelled`` is apart).
- **fallback**: a request whose attempts show a failed or skipped attempt followed by
  another attempt (the next model, or a retry). Fallback rate = fallbacks / requests that
  reached at least one upstream attempt. A single failed attempt is an error, not a
  fallback; an ensemble's several successful members are not a fallback either.
- **latency / TTFT percentiles**: nearest rank over the range's values of requests a model
  answered (status ``ok``, cache hits left out), computed in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from routing.models import ApiKey
from usage.models import UsageRecord
from usage.records import between

DEFAULT_DAYS = 30
MAX_DAYS = 366
PERCENTILES = (50, 90, 99)
NO_MODEL = "(no model answered)"
NO_KEY = "(no key)"
DIRECT = "(direct model)"
NONE_VALUE = "(none)"  # the request log's filter value for an empty field
ZERO = Decimal(0)


@dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date

    @classmethod
    def last(cls, days: int, today: dt.date) -> DateRange:
        return cls(today - dt.timedelta(days=days - 1), today)

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.length)]

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[first instant, first instant after the range) in the current time zone."""
        tz = timezone.get_current_timezone()
        first = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        return first, first + dt.timedelta(days=self.length)


@dataclass(frozen=True)
class Spend:
    """Known spend plus the number of calls whose price is unknown."""

    known: Decimal = ZERO
    unpriced: int = 0

    @property
    def unknown(self) -> bool:
        return self.unpriced > 0


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50: float
    p90: float
    p99: float


@dataclass
class Group:
    """Requests sharing one model, key, route or source."""

    label: str
    requests: int = 0
    errors: int = 0
    cancelled: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    spend: Spend = field(default_factory=Spend)
    saved: Decimal = ZERO
    value: str = ""  # the request log's filter value for this group (see usage.requestlog)


@dataclass
class ModelGroup(Group):
    latency: Percentiles | None = None
    ttft: Percentiles | None = None


@dataclass
class Day(Group):
    day: dt.date = dt.date.min

    @property
    def ok(self) -> int:
        return self.requests - self.errors - self.cancelled


@dataclass
class Hour(Group):
    hour: int = 0

    @property
    def ok(self) -> int:
        return self.requests - self.errors - self.cancelled


@dataclass
class ErrorGroup(Group):
    """Failed requests sharing one error type and HTTP status."""

    error_type: str = ""
    http_status: int = 0


@dataclass(frozen=True)
class KeyBudget:
    """A key's monthly budget against what it spent this calendar month."""

    key_id: int
    label: str
    budget: Decimal
    spent: Decimal

    @property
    def fraction(self) -> float:
        return float(self.spent / self.budget) if self.budget > 0 else 1.0

    @property
    def percent(self) -> float:
        return min(100.0, round(100 * self.fraction, 1))

    @property
    def over(self) -> bool:
        return self.spent >= self.budget


@dataclass
class Totals(Group):
    upstream_requests: int = 0  # requests that made at least one upstream attempt
    not_configured: int = 0  # errors because no target's provider is configured
    fallbacks: int = 0
    fallbacks_answered: int = 0

    @property
    def ok(self) -> int:
        return self.requests - self.errors - self.cancelled

    @property
    def error_rate(self) -> float | None:
        return _ratio(self.errors, self.requests)

    @property
    def cache_hit_rate(self) -> float | None:
        return _ratio(self.cache_hits, self.requests)

    @property
    def fallback_rate(self) -> float | None:
        return _ratio(self.fallbacks, self.upstream_requests)


@dataclass
class Report:
    range: DateRange
    totals: Totals
    days: list[Day]
    by_model: list[ModelGroup]
    by_key: list[Group]
    by_route: list[Group]
    by_source: list[Group]
    by_protocol: list[Group]
    # (day, model) -> spend; the stacked spend chart reads it
    day_model: dict[tuple[dt.date, str], Spend]
    by_error: list[ErrorGroup] = field(default_factory=list)
    hours: list[Hour] = field(default_factory=list)  # a one-day range: its 24 hours
    budgets: list[KeyBudget] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.totals.requests == 0


G = TypeVar("G", bound=Group)
Timings = tuple[Percentiles | None, Percentiles | None]  # latency, time to first token


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(sorted_values: Sequence[float], p: int) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, -(-p * len(sorted_values) // 100))  # ceil without float error
    return sorted_values[rank - 1]


def percentiles(values: Iterable[float]) -> Percentiles | None:
    ordered = sorted(values)
    if not ordered:
        return None
    p50, p90, p99 = (percentile(ordered, p) for p in PERCENTILES)
    return Percentiles(len(ordered), p50, p90, p99)


NOT_CONFIGURED = "not_configured"  # error type and attempt outcome: a provider without its key


def fell_back(attempts: Any) -> bool:
    """True when a failed or skipped attempt was followed by another attempt. Targets skipped
    because their provider is not configured are set-up, not fallbacks: they are left out."""
    if not isinstance(attempts, list):
        return False
    tried = [a for a in attempts if not isinstance(a, dict) or a.get("outcome") != NOT_CONFIGURED]
    return any(not isinstance(a, dict) or a.get("outcome") != "ok" for a in tried[:-1])


def records(rng: DateRange, protocol: str = "") -> QuerySet[UsageRecord]:
    """Usage records of the range (of one front door when `protocol` is given), without the
    model's default ordering (it breaks GROUP BY)."""
    first, after = rng.bounds()
    qs = between(first, after)
    return qs.filter(protocol=protocol) if protocol else qs


def _aggregates() -> dict[str, Any]:
    return {
        "requests": Count("id"),
        "errors": Count("id", filter=Q(status="error")),
        "cancelled": Count("id", filter=Q(status="cancelled")),
        "cache_hits": Count("id", filter=Q(cache_hit=True)),
        "unpriced": Count("id", filter=Q(cost_usd__isnull=True)),
        "known": Sum("cost_usd"),
        "saved": Sum("saved_usd"),
        "input_tokens": Sum("input_tokens"),
        "output_tokens": Sum("output_tokens"),
    }


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "requests": row["requests"],
        "errors": row["errors"],
        "cancelled": row["cancelled"],
        "cache_hits": row["cache_hits"],
        "input_tokens": row["input_tokens"] or 0,
        "output_tokens": row["output_tokens"] or 0,
        "spend": Spend(row["known"] or ZERO, row["unpriced"]),
        "saved": row["saved"] or ZERO,
    }


def _grouped(qs: QuerySet[UsageRecord], *fields: str) -> list[dict[str, Any]]:
    return list(qs.values(*fields).annotate(**_aggregates()))


def _ranked(groups: Iterable[G]) -> list[G]:
    return sorted(groups, key=lambda g: (-g.spend.known, -g.requests, g.label))


def key_label(row: Mapping[str, Any]) -> str:
    if row["api_key_id"] is None:
        if row.get("user_id") is not None:
            return f"{row['user__username']} (playground user)"
        return NO_KEY
    return f"{row['api_key__name']} ({row['api_key__prefix']}…)"


def key_value(row: Mapping[str, Any]) -> str:
    """The request log's ``?key=`` value of a by-key row: the key's id, ``user:<id>`` for a
    playground user (no key), or :data:`NONE_VALUE`."""
    if row["api_key_id"] is not None:
        return str(row["api_key_id"])
    if row.get("user_id") is not None:
        return f"user:{row['user_id']}"
    return NONE_VALUE


def _source_label(value: str) -> str:
    labels = dict(UsageRecord.Source.choices)
    return str(labels.get(value, value))


def totals(qs: QuerySet[UsageRecord]) -> Totals:
    row = qs.aggregate(**_aggregates())
    result = Totals("total", **_fields(row))
    not_configured = qs.filter(error_type=NOT_CONFIGURED)
    result.not_configured = not_configured.count()
    result.upstream_requests = (
        qs.filter(attempts__0__isnull=False).exclude(error_type=NOT_CONFIGURED).count()
    )
    for attempts, status in qs.filter(attempts__1__isnull=False).values_list("attempts", "status"):
        if fell_back(attempts):
            result.fallbacks += 1
            result.fallbacks_answered += status == "ok"
    return result


def by_day(qs: QuerySet[UsageRecord], rng: DateRange) -> list[Day]:
    rows = _grouped(qs.annotate(day=TruncDate("created_at")), "day")
    found = {row["day"]: row for row in rows}
    return [
        Day(d.isoformat(), day=d, **_fields(found[d])) if d in found else Day(d.isoformat(), day=d)
        for d in rng.days
    ]


def by_day_and_model(qs: QuerySet[UsageRecord]) -> dict[tuple[dt.date, str], Spend]:
    rows = qs.annotate(day=TruncDate("created_at")).values("day", "model")
    rows = rows.annotate(
        known=Sum("cost_usd"), unpriced=Count("id", filter=Q(cost_usd__isnull=True))
    )
    return {
        (row["day"], row["model"] or NO_MODEL): Spend(row["known"] or ZERO, row["unpriced"])
        for row in rows
    }


def latencies(qs: QuerySet[UsageRecord]) -> dict[str, Timings]:
    """Latency and TTFT percentiles per answering model (status ok, no cache hits)."""
    latency: dict[str, list[float]] = defaultdict(list)
    ttft: dict[str, list[float]] = defaultdict(list)
    answered = qs.filter(status="ok", cache_hit=False).values_list("model", "latency_ms", "ttft_ms")
    for model, latency_ms, ttft_ms in answered.iterator(chunk_size=5000):
        if latency_ms is not None:
            latency[model or NO_MODEL].append(latency_ms)
        if ttft_ms is not None:
            ttft[model or NO_MODEL].append(ttft_ms)
    return {m: (percentiles(latency[m]), percentiles(ttft[m])) for m in latency.keys() | ttft}


def by_model(qs: QuerySet[UsageRecord]) -> list[ModelGroup]:
    timings = latencies(qs)
    groups = []
    for row in _grouped(qs, "model"):
        label = row["model"] or NO_MODEL
        lat, ttft = timings.get(label, (None, None))
        value = row["model"] or NONE_VALUE
        groups.append(ModelGroup(label, **_fields(row), value=value, latency=lat, ttft=ttft))
    return _ranked(groups)


def by_key(qs: QuerySet[UsageRecord]) -> list[Group]:
    rows = _grouped(
        qs, "api_key_id", "api_key__name", "api_key__prefix", "user_id", "user__username"
    )
    return _ranked(Group(key_label(row), **_fields(row), value=key_value(row)) for row in rows)


def by_route(qs: QuerySet[UsageRecord]) -> list[Group]:
    rows = _grouped(qs, "route")
    return _ranked(
        Group(row["route"] or DIRECT, **_fields(row), value=row["route"] or NONE_VALUE)
        for row in rows
    )


def by_source(qs: QuerySet[UsageRecord]) -> list[Group]:
    rows = _grouped(qs, "source")
    return _ranked(
        Group(_source_label(row["source"]), **_fields(row), value=row["source"]) for row in rows
    )


def by_hour(qs: QuerySet[UsageRecord]) -> list[Hour]:
    """The 24 hours of a one-day range (local time)."""
    tz = timezone.get_current_timezone()
    rows = _grouped(qs.annotate(hour=TruncHour("created_at", tzinfo=tz)), "hour")
    found = {timezone.localtime(row["hour"], tz).hour: row for row in rows}
    return [
        Hour(f"{h:02d}:00", hour=h, **_fields(found[h]))
        if h in found
        else Hour(f"{h:02d}:00", hour=h)
        for h in range(24)
    ]


def by_error(qs: QuerySet[UsageRecord]) -> list[ErrorGroup]:
    """Errors by type and HTTP status, most frequent first."""
    rows = _grouped(qs.filter(status="error"), "error_type", "http_status")
    groups = [
        ErrorGroup(
            f"{row['error_type'] or '(no type)'} · {row['http_status']}",
            **_fields(row),
            value=row["error_type"] or NONE_VALUE,
            error_type=row["error_type"],
            http_status=row["http_status"],
        )
        for row in rows
    ]
    return sorted(groups, key=lambda g: (-g.requests, g.label))


def budgets(today: dt.date) -> list[KeyBudget]:
    """Keys with a monthly budget, with this calendar month's known spend (the guard's month)."""
    month = DateRange(today.replace(day=1), today)
    spent = dict(
        records(month)
        .filter(api_key__budget_usd__isnull=False)
        .values("api_key_id")
        .annotate(known=Sum("cost_usd"))
        .values_list("api_key_id", "known")
    )
    keys = ApiKey.objects.filter(budget_usd__isnull=False, revoked_at__isnull=True).order_by("name")
    return [KeyBudget(k.pk, str(k), k.budget_usd or ZERO, spent.get(k.pk) or ZERO) for k in keys]


def default_start(end: dt.date, days: int = DEFAULT_DAYS) -> dt.date:
    """The day of the first record of the `days` up to `end`: a range that fits the data."""
    window = DateRange.last(days, end)
    first = records(window).aggregate(first=Min("created_at"))["first"]
    return timezone.localtime(first).date() if first else window.start


def by_protocol(qs: QuerySet[UsageRecord]) -> list[Group]:
    rows = _grouped(qs, "protocol")
    return _ranked(Group(row["protocol"] or "chat", **_fields(row)) for row in rows)


def build(rng: DateRange, protocol: str = "", today: dt.date | None = None) -> Report:
    """Everything the dashboard shows for one date range (and front door)."""
    qs = records(rng, protocol)
    return Report(
        range=rng,
        totals=totals(qs),
        days=by_day(qs, rng),
        by_model=by_model(qs),
        by_key=by_key(qs),
        by_route=by_route(qs),
        by_source=by_source(qs),
        by_protocol=by_protocol(qs),
        day_model=by_day_and_model(qs),
        by_error=by_error(qs),
        hours=by_hour(qs) if rng.length == 1 else [],
        budgets=budgets(today or timezone.localdate()),
    )
