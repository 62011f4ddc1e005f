""" "Use my traffic": the gateway's usage records over a period, as projection segments.

Answered requests (status ok, not served from cache) are grouped by query type and by
power-of-two buckets of input and output tokens; each group becomes one segment with the
group's mean token counts, so per-request decisions (rule caps, budgets) and tiered prices
see realistic sizes while a projection stays fast. Cache hits cost $0 under every policy
(the same cache answers them). "What we paid" is the recorded cost of every request in the
period, errors included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from usage.records import between

from .workload import Segment


@dataclass
class Traffic:
    start: dt.date
    end: dt.date
    requests: int = 0
    cache_hits: int = 0
    failed: int = 0
    unpriced: int = 0  # recorded without a known cost
    paid: Decimal = Decimal(0)
    segments: list[Segment] = field(default_factory=list)

    @property
    def replayed(self) -> int:
        return self.requests - self.cache_hits - self.failed


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    first = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return first, after


def _bucket(n: int) -> int:
    return int(n).bit_length()


def _segments(rows: Iterable[Mapping[str, Any]]) -> list[Segment]:
    groups: dict[tuple[str, int, int], list[int]] = {}
    for row in rows:
        key = (row["query_type"], _bucket(row["input_tokens"]), _bucket(row["output_tokens"]))
        acc = groups.setdefault(key, [0, 0, 0, 0])
        n = row["n"]
        acc[0] += n
        acc[1] += row["input_tokens"] * n
        acc[2] += row["output_tokens"] * n
        acc[3] += row["cached_tokens"] * n
    return [
        Segment(qt, Decimal(n), round(i / n), round(o / n), round(c / n))
        for (qt, _, _), (n, i, o, c) in sorted(groups.items())
    ]


def load_traffic(start: dt.date, end: dt.date) -> Traffic:
    """The usage records created from ``start`` to ``end`` (inclusive, local dates)."""
    first, after = _bounds(start, end)
    records = between(first, after)
    totals = records.aggregate(
        n=Count("id"),
        hits=Count("id", filter=Q(cache_hit=True)),
        failed=Count("id", filter=~Q(status="ok") & Q(cache_hit=False)),
        unpriced=Count("id", filter=Q(cost_usd__isnull=True) & Q(cache_hit=False)),
        paid=Sum("cost_usd"),
    )
    answered = records.filter(status="ok", cache_hit=False)
    rows = list(
        answered.values("query_type", "input_tokens", "output_tokens", "cached_tokens")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        row["query_type"] = (row["query_type"] or "").strip().lower()
    return Traffic(
        start=start,
        end=end,
        requests=totals["n"],
        cache_hits=totals["hits"],
        failed=totals["failed"],
        unpriced=totals["unpriced"],
        paid=totals["paid"] or Decimal(0),
        segments=_segments(rows),
    )
