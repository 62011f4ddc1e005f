"""CSV export: one row per usage record in the range, oldest first.

Columns are :data:`COLUMNS`. ``cost_usd`` is empty when the price was unknown (never 0),
``created_at`` is ISO 8601 in UTC, ``attempts`` is the number of upstream attempts and
``fallback`` says whether one of them failed or was skipped before another was tried (see
:func:`usage.reports.fell_back`). Text a spreadsheet would run as a formula (a client can
send any model name) is prefixed with an apostrophe.

Rows are read in keyset-paginated batches from an async generator, so a large range streams
without holding every row in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db.models import Q
from django.http import StreamingHttpResponse

from usage.models import UsageRecord

from .reports import DateRange, fell_back, records

BATCH = 2000
COLUMNS = [
    "created_at", "request_id", "key_name", "key_prefix", "source", "requested_model", "route",
    "model", "provider", "status", "http_status", "error_type", "stream", "input_tokens",
    "output_tokens", "cached_tokens", "tokens_estimated", "cost_usd", "price_known",
    "cache_hit", "saved_usd", "latency_ms", "ttft_ms", "attempts", "fallback", "query_type",
    "decision", "protocol",
]  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Keep spreadsheets from evaluating a cell as a formula (CSV injection)."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _usd(value: Decimal | None) -> str:
    return "" if value is None else f"{value:f}"  # never "0E-8"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def row(record: UsageRecord) -> list[str]:
    key = record.api_key
    text = [
        record.request_id, key.name if key else "", key.prefix if key else "", record.source,
        record.requested_model, record.route, record.model, record.provider, record.status,
    ]  # fmt: skip
    return [
        record.created_at.astimezone(dt.UTC).isoformat(),
        *(safe_text(t) for t in text),
        str(record.http_status),
        safe_text(record.error_type),
        str(record.stream).lower(),
        str(record.input_tokens),
        str(record.output_tokens),
        str(record.cached_tokens),
        str(record.tokens_estimated).lower(),
        _usd(record.cost_usd),
        str(record.price_known).lower(),
        str(record.cache_hit).lower(),
        _usd(record.saved_usd),
        _ms(record.latency_ms),
        _ms(record.ttft_ms),
        str(len(record.attempts) if isinstance(record.attempts, list) else 0),
        str(fell_back(record.attempts)).lower(),
        safe_text(record.query_type),
        safe_text(record.decision),
        record.protocol,
    ]


def _batch(rng: DateRange, after: tuple[dt.datetime, int] | None) -> list[UsageRecord]:
    qs = records(rng).select_related("api_key").order_by("created_at", "id")
    if after is not None:
        at, pk = after
        qs = qs.filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=pk))
    return list(qs[:BATCH])


def _line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


async def lines(rng: DateRange) -> AsyncIterator[str]:
    yield _line(COLUMNS)
    after: tuple[dt.datetime, int] | None = None
    while True:
        batch = await sync_to_async(_batch)(rng, after)
        if not batch:
            return
        yield "".join(_line(row(r)) for r in batch)
        after = (batch[-1].created_at, batch[-1].pk)


def filename(rng: DateRange) -> str:
    return f"switchyard-usage-{rng.start.isoformat()}-to-{rng.end.isoformat()}.csv"


def csv_response(rng: DateRange) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines(rng), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(rng)}"'
    return response
