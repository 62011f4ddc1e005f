"""Every read of the usage records from outside the usage app goes through here.

Budgets rebuild a key's month, batch resumes from its requests' records, the calibration
page reads a route's scores and the cost calculator replays a period; the dashboard
(`usage.reports`) starts from `between` too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import QuerySet, Sum

from usage.models import UsageRecord

IN_CHUNK = 500  # request ids per IN (...) query


def between(first: dt.datetime, after: dt.datetime) -> QuerySet[UsageRecord]:
    """Records created in [first, after), without the default ordering (it breaks GROUP BY)."""
    return UsageRecord.objects.filter(created_at__gte=first, created_at__lt=after).order_by()


def spent_since(key_id: int, start: dt.datetime) -> Decimal:
    """What an API key's requests have cost since `start` (priced calls only)."""
    found = UsageRecord.objects.filter(api_key_id=key_id, created_at__gte=start)
    total = found.aggregate(total=Sum("cost_usd"))["total"]
    return total or Decimal(0)


def by_request_ids(request_ids: list[str]) -> list[UsageRecord]:
    """The records of these requests (any order; ids without a record are left out)."""
    rows: list[UsageRecord] = []
    for start in range(0, len(request_ids), IN_CHUNK):
        chunk = request_ids[start : start + IN_CHUNK]
        rows += UsageRecord.objects.filter(request_id__in=chunk)
    return rows


def complexity_decisions(route: str, since: dt.datetime) -> list[tuple[float, str]]:
    """(complexity score, decision text) of a route's requests since `since`: the decision
    names the estimator part that scored the prompt."""
    rows = UsageRecord.objects.filter(
        route=route, created_at__gte=since, complexity_score__isnull=False
    ).values_list("complexity_score", "decision")
    return [(s, d) for s, d in rows if s is not None]  # isnull=False: none are None


def complexity_decisions_between(first: dt.datetime, after: dt.datetime) -> list[str]:
    """The decisions of complexity-scored requests created in [first, after)."""
    rows = between(first, after).filter(complexity_score__isnull=False)
    return list(rows.values_list("decision", flat=True))


def complexity_scores(route: str, since: dt.datetime) -> list[float]:
    """The complexity scores recorded for a route's requests since `since`."""
    scores = UsageRecord.objects.filter(
        route=route, created_at__gte=since, complexity_score__isnull=False
    ).values_list("complexity_score", flat=True)
    return [s for s in scores if s is not None]  # isnull=False: none are None
